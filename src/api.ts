// The environment-neutral public API: everything the Node entry (index.ts) and the browser entry
// (browser/index.ts) both export. Nothing reachable from here may import a Node built-in, except through the modules
// the browser build substitutes (scripts/build-browser.mjs).
export * from "./tensor/index.js";
export { TlensError, ShapeError, IndexError, LoadError, HookError, TokenizerError, GradError } from "./errors.js";
export { getBackend, setBackend, withBackend, registerWasmBackend, type BackendName } from "./backend/index.js";
export { createWasmBackend, WasmBackend, WASM_MIN } from "./backend/wasm.js";
export * from "./model/index.js";
export type { HookedTransformerConfig } from "./loading/config.js";
export { makeConfig } from "./loading/config.js";
export * as tokenizer from "./tokenizer/index.js";
import { getActName } from "./model/act-name.js";
/** TransformerLens's utils namespace (the parts tlens has). */
export const utils = { getActName };
export * from "./analysis/index.js";
export * from "./datasets/index.js";
