// An sae_vis-style feature dashboard from saeDashboardData (sae/features/dashboard-data.ts): the density histogram of
// every feature, then per chosen feature its statistics, logit effects (top / bottom tokens of W_dec · W_U), the
// histogram of its activations, its top-activating examples with the context highlighted and its quantile groups.
import type { DashboardExample, DashboardFeature, SaeDashboardData } from "../sae/features/dashboard-data.js";
import type { Histogram } from "../sae/features/distribution.js";
import { bar } from "./figures.js";
import { escapeHtml, heading, html, table, text, toHtml } from "./html.js";
import type { Figure, Item } from "./types.js";

const DASHBOARD_CSS = `
.sae-examples { font: 13px/1.9 ui-monospace, SFMono-Regular, Menlo, monospace; margin: 4px 0 14px; }
.sae-example { white-space: pre-wrap; border-bottom: 1px solid #f0f0f0; }
.sae-act { display: inline-block; min-width: 5.5em; color: #555; }
.sae-tok { border-radius: 2px; }
.sae-tok.sae-focus { outline: 1.5px solid #c25400; }
.sae-stats { color: #333; }
`;

const fmt = (v: number, d = 3): string => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(d) : v.toExponential(2));

/** The bars of a histogram at its bin centres. */
function histogramFigure(h: Histogram, title: string, xTitle: string, height = 260): Figure {
  const x = h.counts.map((_, b) => (h.edges[b]! + h.edges[b + 1]!) / 2);
  return bar(h.counts, { x, title, labels: { x: xTitle, y: "count" }, height, bargap: 0.05 });
}

/** One example as a line of tokens whose background is the feature's activation (relative to `max`); the
 *  activation the example is about is outlined. Hover a token for its activation. */
function exampleHtml(e: DashboardExample, max: number): string {
  const toks = e.text.map((t, j) => {
    const a = e.acts[j]!;
    const alpha = max > 0 ? Math.max(0, Math.min(1, a / max)) : 0;
    const focus = e.start + j === e.pos ? " sae-focus" : "";
    const shown = t.replace(/\n/g, "\\n");
    return `<span class="sae-tok${focus}" style="background: rgba(255,140,0,${alpha.toFixed(3)})" title="${escapeHtml(`${JSON.stringify(t)}: ${fmt(a)}`)}">${escapeHtml(shown)}</span>`;
  });
  return `<div class="sae-example"><span class="sae-act">${fmt(e.activation)}</span>${toks.join("")}</div>`;
}

function examplesBlock(examples: readonly DashboardExample[], max: number, testId: string): Item {
  const body = examples.length ? examples.map((e) => exampleHtml(e, max)).join("\n") : "<p>(no examples)</p>";
  return html(`<div class="sae-examples" data-testid="${testId}">${body}</div>`);
}

function logitTable(f: DashboardFeature): Item {
  if (!f.logits) return text("Logit effects: none (the SAE is not on the residual stream).");
  const { top, bottom } = f.logits;
  const rows = Array.from({ length: Math.max(top.length, bottom.length) }, (_, i) => [
    bottom[i] ? JSON.stringify(bottom[i].text) : "",
    bottom[i]?.effect ?? "",
    top[i] ? JSON.stringify(top[i].text) : "",
    top[i]?.effect ?? "",
  ]);
  return table(rows, {
    columns: ["negative logits", "effect", "positive logits", "effect"],
    caption: "W_dec[feature] · W_U",
    digits: 3,
  });
}

/** The items of one feature's section. */
function featureItems(d: SaeDashboardData, f: DashboardFeature): Item[] {
  const log10 = d.log10Density[f.feature]!;
  return [
    heading(`Feature ${f.feature}`, 2, `feature-${f.feature}`),
    html(
      `<p class="sae-stats">density ${fmt(f.density, 4)} (log10 ${log10 === null ? "−∞" : log10.toFixed(2)}) · max activation ${fmt(f.maxActivation)}</p>`,
    ),
    logitTable(f),
    histogramFigure(f.activationHistogram, `Feature ${f.feature}: activations where it fires`, "activation"),
    heading("Top activations", 3),
    examplesBlock(f.top, f.maxActivation, `top-${f.feature}`),
    heading("Quantile groups", 3),
    ...f.quantiles.flatMap((g) => [
      heading(
        `Interval ${fmt(g.lo)} – ${fmt(g.hi)}: ${g.count} tokens (${(100 * g.fraction).toFixed(1)}% of where it fires)`,
        4,
      ),
      examplesBlock(g.examples, f.maxActivation, `quantile-${f.feature}`),
    ]),
  ];
}

/** The dashboard as items for toHtml / display. */
export function saeDashboard(d: SaeDashboardData): Item[] {
  const links = d.features.map((f) => `<a href="#feature-${f.feature}">feature ${f.feature}</a>`).join(" · ");
  return [
    text(
      `${d.architecture} SAE with ${d.dSae} features at \`${d.hookName}\` of ${d.model}, over ${d.rows} × ${d.ctx} tokens: ` +
        `${d.dead} features never fire there.`,
    ),
    html(`<nav class="tlens-toc">${links}</nav>`),
    histogramFigure(d.densityHistogram, "Feature density (every feature that fires)", "log10 density", 300),
    ...d.features.flatMap((f) => featureItems(d, f)),
  ];
}

/** The dashboard as one self-contained HTML page. */
export function saeDashboardHtml(d: SaeDashboardData, title = `SAE features: ${d.model} ${d.hookName}`): string {
  return toHtml(saeDashboard(d), { title, css: DASHBOARD_CSS });
}
