// Browser stand-in for src/viz/png.ts (substituted by scripts/build-browser.mjs): PNG export drives a headless
// Chromium from Node; in a page, use Plotly.toImage on a drawn figure instead.
import type * as Png from "../../viz/png.js";
import { VizError } from "../../viz/data.js";

export type { PngOptions } from "../../viz/png.js";

const nodeOnly = (what: string): VizError =>
  new VizError(
    `${what} drives a headless Chromium from Node and is not available in the browser (use Plotly.toImage on a drawn figure)`,
  );

export const CHROMIUM_ARGS: typeof Png.CHROMIUM_ARGS = [];
export const findChromium: typeof Png.findChromium = () => null;
export const launchChromium: typeof Png.launchChromium = () => Promise.reject(nodeOnly("launchChromium"));
export const renderPng: typeof Png.renderPng = () => Promise.reject(nodeOnly("renderPng"));
export const savePng: typeof Png.savePng = () => Promise.reject(nodeOnly("savePng"));
