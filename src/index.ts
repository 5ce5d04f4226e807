/**
 * tlens: TransformerLens for TypeScript, the Node entry (`import { HookedTransformer, patching } from "tlens"`): the
 * environment-neutral API (api.ts) plus the namespaces that need Node (the file system, the hub cache, worker
 * processes). The browser build's entry is `tlens/browser` (src/browser/index.ts): the same API with loading over
 * fetch. docs/api.md lists the root and the namespaces with their TransformerLens counterparts.
 * @module tlens
 */
export * from "./api.js";
/** Weight formats, configs, conversions to TransformerLens names, the Hugging Face hub and cache (docs/architectures.md). */
export * as loading from "./loading/index.js";
/** Sparse autoencoders: the SAE model, SAELens / Gemma Scope formats, HookedSAETransformer (docs/sae.md). */
export * as sae from "./sae/index.js";
/** Sweeps on worker pools and a BullMQ queue: job specs, executors, workers (docs/distributed.md). */
export * as jobs from "./jobs/index.js";
