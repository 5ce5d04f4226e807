// tlens: TransformerLens for TypeScript. Everything public is exported from here (the browser build's entry is
// src/browser/index.ts: the same API with loading over fetch).
export * from "./api.js";
export * as loading from "./loading/index.js";
export * as viz from "./viz/index.js";
// sparse autoencoders: the SAE model, SAELens / Gemma Scope formats, HookedSAETransformer (docs/sae.md)
export * as sae from "./sae/index.js";
// sweeps on worker pools and a BullMQ queue: job specs, executors, workers (docs/distributed.md)
export * as jobs from "./jobs/index.js";
