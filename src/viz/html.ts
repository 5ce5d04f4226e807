// Self-contained HTML: figures, viewers and text blocks in one page that works offline, opened as a file. plotly.js
// is read from node_modules (plotly.js-dist-min) and inlined; viewers use tlens's own inlined script; nothing is
// fetched from anywhere.
import { isFigure, isHtmlBlock, isViewer, type HtmlBlock, type Item } from "./types.js";
import { VIEWER_CSS, VIEWER_JS } from "./viewer-runtime.js";
import { VizError } from "./data.js";
import { plotlyJs } from "./plotly-source.js";

export { plotlyJs };

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** JSON safe inside a <script> element. */
export function scriptJson(x: unknown): string {
  return JSON.stringify(x)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** A script's source made safe inside <script>…</script> ("</script" only occurs in strings, regexes or comments). */
function inlineScript(src: string): string {
  return src.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

// ----------------------------------------------------------------------------------------------------------------
// text blocks

/** Raw HTML, inserted as is. */
export function html(raw: string): HtmlBlock {
  return { tlensHtml: raw };
}

/** A heading (escaped). */
export function heading(text: string, level: 1 | 2 | 3 | 4 = 2, id?: string): HtmlBlock {
  return { tlensHtml: `<h${level}${id ? ` id="${escapeHtml(id)}"` : ""}>${escapeHtml(text)}</h${level}>` };
}

/** Paragraphs of text (escaped; blank lines split paragraphs; `code`, **bold** and *italics* are kept). */
export function text(s: string): HtmlBlock {
  const inline = (p: string): string =>
    escapeHtml(p)
      .replace(/`([^`]+)`/g, "<code>$1</code>")
      .replace(/\*\*([^*]+)\*\*/g, "<b>$1</b>")
      .replace(/(^|[\s(])\*([^*\s][^*]*)\*/g, "$1<i>$2</i>");
  return {
    tlensHtml: s
      .trim()
      .split(/\n\s*\n/)
      .map((p) => `<p>${inline(p.trim())}</p>`)
      .join("\n"),
  };
}

/** A table: rows of cells (numbers formatted with `digits`), with optional column headers. */
export function table(
  rows: readonly (readonly unknown[])[],
  opts: { columns?: readonly string[]; digits?: number; caption?: string } = {},
): HtmlBlock {
  const cell = (v: unknown): string => {
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(opts.digits ?? 3);
    return escapeHtml(String(v ?? ""));
  };
  const head = opts.columns
    ? `<thead><tr>${opts.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead>`
    : "";
  const body = rows.map((r) => `<tr>${r.map((v) => `<td>${cell(v)}</td>`).join("")}</tr>`).join("\n");
  const caption = opts.caption ? `<caption>${escapeHtml(opts.caption)}</caption>` : "";
  return { tlensHtml: `<table class="tlens-table">${caption}${head}<tbody>${body}</tbody></table>` };
}

// ----------------------------------------------------------------------------------------------------------------
// pages

const PAGE_CSS = `
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; max-width: 1280px; margin: 0 auto; padding: 16px 24px 64px; }
h1 { font-size: 26px; margin: 12px 0 4px; } h2 { font-size: 21px; margin: 36px 0 6px; border-bottom: 1px solid #e5e5e5; padding-bottom: 4px; }
h3 { font-size: 17px; margin: 22px 0 4px; } p { max-width: 900px; margin: 6px 0; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; font-size: 90%; }
.tlens-figure { width: 100%; min-height: 120px; margin: 8px 0 20px; }
.tlens-table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
.tlens-table td, .tlens-table th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
.tlens-table th { background: #f5f5f5; } .tlens-table caption { text-align: left; color: #555; padding: 2px 0; }
.tlens-error { color: #b00020; white-space: pre-wrap; font-family: monospace; }
nav.tlens-toc { font-size: 14px; columns: 2; max-width: 900px; } nav.tlens-toc a { color: #2c6fbb; text-decoration: none; }
`;

/** Renders every element with data-tlens-item from its JSON; errors are shown in place and logged. */
const BOOT_JS = `
(function () {
  function renderAll() {
    var nodes = document.querySelectorAll("[data-tlens-item]:not([data-tlens-done])");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      node.setAttribute("data-tlens-done", "1");
      var src = document.getElementById(node.getAttribute("data-tlens-item"));
      try {
        var item = JSON.parse(src.textContent);
        if (node.getAttribute("data-kind") === "figure") {
          if (!window.Plotly) throw new Error("plotly.js is not loaded");
          var config = Object.assign({ responsive: true, displaylogo: false }, item.config || {});
          (function (node, item) {
            window.Plotly.newPlot(node, item.data, item.layout, config).then(function () {
              return item.frames && item.frames.length ? window.Plotly.addFrames(node, item.frames) : null;
            }).then(function () { node.setAttribute("data-rendered", "1"); }, function (e) { fail(node, e); });
          })(node, item);
        } else {
          window.tlensViz.render(node, item);
        }
      } catch (e) { fail(node, e); }
    }
  }
  function fail(node, e) {
    node.setAttribute("data-rendered", "error");
    var d = document.createElement("div"); d.className = "tlens-error"; d.textContent = "could not draw this item: " + (e && e.message || e);
    node.appendChild(d);
    if (window.console) console.error(e);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", renderAll); else renderAll();
  window.tlensRenderAll = renderAll;
})();
`;

let counter = 0;
function itemHtml(item: Item, prefix: string): string {
  if (isHtmlBlock(item)) return item.tlensHtml;
  const id = `${prefix}${counter++}`;
  if (isFigure(item)) {
    // plotly sizes an autosized plot to its container: without a height the container would be too short
    const height = ` style="height:${typeof item.layout.height === "number" ? item.layout.height : 450}px"`;
    return `<div class="tlens-figure" data-kind="figure" data-tlens-item="${id}-data"${height}></div>\n<script type="application/json" id="${id}-data">${scriptJson(item)}</script>`;
  }
  if (isViewer(item)) {
    return `<div class="tlens-viewer" data-kind="viewer" data-tlens-item="${id}-data"></div>\n<script type="application/json" id="${id}-data">${scriptJson(item)}</script>`;
  }
  throw new VizError(
    "toHtml: items are figures (viz.imshow, ...), viewers (viz.attentionHeads, ...) or blocks (viz.heading, viz.text, viz.html, viz.table)",
  );
}

function flatten(items: unknown): Item[] {
  if (Array.isArray(items)) return items.flatMap((x) => flatten(x));
  if (typeof items === "string") return [text(items)];
  return [items as Item];
}

export interface HtmlOptions {
  /** The page title (also the first heading unless `heading: false`). */
  title?: string;
  heading?: boolean;
  /** Extra CSS. */
  css?: string;
}

/**
 * One self-contained HTML page (a string) showing the items in order: figures, viewers, text blocks (strings become
 * paragraphs) and nested lists of them. plotly.js is inlined when there is a figure, the viewer script when there is
 * a viewer; the page loads nothing from the network and works opened as a file.
 */
export function toHtml(
  items: Item | string | readonly (Item | string | readonly (Item | string)[])[],
  opts: HtmlOptions = {},
): string {
  const list = flatten(items);
  const hasFigure = list.some((x) => isFigure(x) && !isHtmlBlock(x));
  const hasViewer = list.some((x) => isViewer(x));
  const title = opts.title ?? "tlens";
  const body = list.map((x) => itemHtml(x, "tlens-")).join("\n");
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${PAGE_CSS}${hasViewer ? VIEWER_CSS : ""}${opts.css ?? ""}</style>`,
    hasFigure ? `<script>${inlineScript(plotlyJs())}</script>` : "",
    hasViewer ? `<script>${inlineScript(VIEWER_JS)}</script>` : "",
    "</head>",
    "<body>",
    opts.title && opts.heading !== false ? `<h1>${escapeHtml(opts.title)}</h1>` : "",
    body,
    `<script>${BOOT_JS}</script>`,
    "</body>",
    "</html>",
  ]
    .filter((s) => s !== "")
    .join("\n");
}

let plotlySentToNotebook = false;

export interface FragmentOptions {
  /** Inline plotly.js in this fragment: always, never, or (default "auto") only the first time in this process. */
  includePlotly?: boolean | "auto";
}

/**
 * An HTML fragment for a notebook output (tslab, Jupyter, Deno): the items plus the scripts they need. plotly.js
 * (4.7 MB) is inlined into the first fragment of the process that has a figure; later ones reuse `window.Plotly`.
 */
export function toHtmlFragment(items: Item | readonly Item[], opts: FragmentOptions = {}): string {
  const list = flatten(items);
  const hasFigure = list.some((x) => isFigure(x));
  const hasViewer = list.some((x) => isViewer(x));
  const prefix = `tlens-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}-`;
  const inc = opts.includePlotly ?? "auto";
  const withPlotly = hasFigure && (inc === true || (inc === "auto" && !plotlySentToNotebook));
  if (withPlotly && inc === "auto") plotlySentToNotebook = true;
  return [
    hasViewer ? `<style>${VIEWER_CSS}</style>` : "",
    withPlotly ? `<script>if (!window.Plotly) {${inlineScript(plotlyJs())}\n}</script>` : "",
    hasViewer ? `<script>${inlineScript(VIEWER_JS)}</script>` : "",
    `<div class="tlens-fragment">${list.map((x) => itemHtml(x, prefix)).join("\n")}</div>`,
    `<script>${BOOT_JS.replace("if (document.readyState", "if (window.tlensRenderAll) { window.tlensRenderAll(); return; }\n  if (document.readyState")}</script>`,
  ]
    .filter((s) => s !== "")
    .join("\n");
}
