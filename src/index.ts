// tlens: TransformerLens for TypeScript. Everything public is exported from here (the browser build's entry is
// src/browser/index.ts: the same API with loading over fetch).
export * from "./api.js";
export * as loading from "./loading/index.js";
export * as viz from "./viz/index.js";
export * as jobs from "./jobs/index.js";
