// The analysis layer's public surface.
export * as patching from "./patching/index.js";
export { progressReporter, type ProgressCallback, type ProgressOptions } from "./progress.js";
