// The viewer script: src/viz/viewer/main.ts and its imports bundled by scripts/build-viewer.mjs into bundle.js (not
// committed; written by `npm run build`, `npm run build:viewer` and the test setup).
/** The bundled viewer script (an IIFE defining window.tlensViz). */
export declare const VIEWER_BUNDLE: string;
