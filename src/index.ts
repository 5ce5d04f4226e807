// tlens: TransformerLens for TypeScript. Everything public is exported from here.
export * from "./tensor/index.js";
export { TlensError, ShapeError, IndexError, LoadError, HookError, TokenizerError } from "./errors.js";
export { getBackend, setBackend, withBackend, type BackendName } from "./backend/index.js";
