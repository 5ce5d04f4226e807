// Browser stand-in for src/viz/plotly-source.ts (substituted by scripts/build-browser.mjs): a page cannot read
// node_modules, so self-contained HTML with plotly.js inlined is a Node feature; figures are plain plotly.js JSON
// that the page draws with its own plotly (Plotly.newPlot(el, fig.data, fig.layout)).
import type * as PlotlySource from "../../viz/plotly-source.js";
import { VizError } from "../../viz/data.js";

export const plotlyJs: typeof PlotlySource.plotlyJs = () => {
  throw new VizError(
    "toHtml inlines plotly.js from node_modules, which a page cannot read: in the browser, draw figures with Plotly.newPlot(el, fig.data, fig.layout)",
  );
};
