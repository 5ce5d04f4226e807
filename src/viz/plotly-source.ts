// Where toHtml gets plotly.js: node_modules (plotly.js-dist-min), read once. Kept apart from html.ts because it is
// the one Node-only piece of the HTML writer (the browser build substitutes src/browser/shims/plotly-source.ts).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { VizError } from "./data.js";

let plotlySource: string | null = null;

/** The plotly.js bundle (plotly.js-dist-min), read once. */
export function plotlyJs(): string {
  if (plotlySource === null) {
    let path: string;
    try {
      path = createRequire(import.meta.url).resolve("plotly.js-dist-min");
    } catch {
      throw new VizError("toHtml: the package plotly.js-dist-min is missing (npm install plotly.js-dist-min)");
    }
    plotlySource = readFileSync(path, "utf8");
  }
  return plotlySource;
}
