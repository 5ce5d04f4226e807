// What the viz layer produces: plotly.js figures (plain JSON), viewers (plain JSON rendered by tlens's own
// inlined script) and HTML blocks (headings, text, tables) — everything toHtml and display accept.

export type Trace = Record<string, unknown>;
export type Layout = Record<string, unknown>;

/** A plotly.js figure: `Plotly.newPlot(div, figure)` draws it. JSON-serialisable. */
export interface Figure {
  data: Trace[];
  layout: Layout;
  frames?: { name: string; data: Trace[]; layout?: Layout }[];
  config?: Record<string, unknown>;
}

export type ViewerKind = "attention-heads" | "attention-patterns" | "colored-tokens" | "topk-tokens" | "circuit";

/** A CircuitsVis-style viewer: plain data drawn by the viewer script that toHtml inlines. */
export interface Viewer {
  tlensViewer: ViewerKind;
  title?: string;
  props: Record<string, unknown>;
}

/** Raw HTML (trusted: it goes into the page as is). */
export interface HtmlBlock {
  tlensHtml: string;
}

export type Item = Figure | Viewer | HtmlBlock;

/** Whether x is a plotly figure ({ data, layout }). */
export function isFigure(x: unknown): x is Figure {
  return (
    typeof x === "object" && x !== null && Array.isArray((x as Figure).data) && typeof (x as Figure).layout === "object"
  );
}
/** Whether x is one of the viewers (attention patterns, circuit, ...). */
export function isViewer(x: unknown): x is Viewer {
  return typeof x === "object" && x !== null && typeof (x as Viewer).tlensViewer === "string";
}
/** Whether x is a raw HTML block. */
export function isHtmlBlock(x: unknown): x is HtmlBlock {
  return typeof x === "object" && x !== null && typeof (x as HtmlBlock).tlensHtml === "string";
}
