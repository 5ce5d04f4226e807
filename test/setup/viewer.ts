// Vitest global setup: bundles the viewers' browser modules into src/viz/viewer/bundle.js (scripts/build-viewer.mjs),
// which viewer-runtime.ts imports, so the suite runs from source after any edit of src/viz/viewer/*.ts.
import { buildViewer } from "../../scripts/build-viewer.mjs";

export default function setup(): void {
  buildViewer();
}
