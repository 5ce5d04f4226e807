// `copySuppression`: the copy-suppression toolkit (McDougall et al. 2023): attention scores as linear functions of
// queries or keys, their decomposition by residual-stream component, the effective embedding, position-flip
// patching, and projections onto directions. docs/copy-suppression.md.
export * from "../analysis/attn-decomposition.js";
export * from "../analysis/projection.js";
