// tlens: TransformerLens for TypeScript. Everything public is exported from here.
export * from "./tensor/index.js";
export { TlensError, ShapeError, IndexError, LoadError, HookError, TokenizerError } from "./errors.js";
export { getBackend, setBackend, withBackend, type BackendName } from "./backend/index.js";
export * from "./model/index.js";
export type { HookedTransformerConfig } from "./loading/config.js";
export { makeConfig } from "./loading/config.js";
export * as loading from "./loading/index.js";
export * as tokenizer from "./tokenizer/index.js";
import { getActName } from "./model/act-name.js";
/** TransformerLens's utils namespace (the parts tlens has). */
export const utils = { getActName };
export * from "./analysis/index.js";
export * from "./datasets/index.js";
export * as viz from "./viz/index.js";
