// tlens.viz: figures as data (plotly.js figure JSON), CircuitsVis-style viewers, self-contained HTML, PNG export and
// notebook display.
export type { Figure, Viewer, HtmlBlock, Item, Trace, Layout, ViewerKind } from "./types.js";
export { isFigure, isViewer, isHtmlBlock } from "./types.js";
export {
  imshow,
  line,
  scatter,
  bar,
  hist,
  type CommonOptions,
  type ImshowOptions,
  type LineOptions,
  type ScatterOptions,
  type BarOptions,
  type HistOptions,
  type TemplateName,
} from "./figures.js";
export {
  attentionHeads,
  attentionPatterns,
  attentionPattern,
  valueWeightedAttention,
  valueWeightedPatterns,
  coloredTokens,
  topkTokens,
  type AttentionViewerOptions,
  type ColoredTokensOptions,
  type TopkTokensOptions,
} from "./viewers.js";
export {
  toHtml,
  toHtmlFragment,
  html,
  heading,
  text,
  table,
  plotlyJs,
  type HtmlOptions,
  type FragmentOptions,
} from "./html.js";
export { savePng, renderPng, findChromium, launchChromium, CHROMIUM_ARGS, type PngOptions } from "./png.js";
export { display, attachDisplay, type DisplayObject, type HtmlSink } from "./display.js";
export { colorscale, qualitative, continuous, templates } from "./colors.js";
export { VizError } from "./data.js";
export { ioiReport } from "./ioi-report.js";
/** plotly.py's colour names, for `colorDiscreteSequence` etc. */
export { RdBu } from "./colors.js";
export { circuitViewer, type CircuitViewerOptions } from "./circuit.js";
export {
  faithfulnessCurve,
  attributionScatter,
  type FaithfulnessData,
  type AttributionScatterData,
} from "./attribution-figures.js";
export { saeDashboard, saeDashboardHtml } from "./sae-dashboard.js";
