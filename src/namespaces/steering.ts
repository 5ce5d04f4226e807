// `steering`: activation addition (steering vectors added at a hook point), contrastive vectors from prompt pairs,
// coefficient sweeps and steered generation. docs/steering.md.
export * from "../analysis/steering.js";
