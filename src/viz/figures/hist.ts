// Histograms (px.histogram), one or several series.
import { Tensor } from "../../tensor/index.js";
import { qualitative } from "../colors.js";
import { to1D, VizError, type Values1D, type ValuesND } from "../data.js";
import type { Figure, Layout, Trace } from "../types.js";
import { axisTitle, escapeHover, finish, label, normalize, type CommonOptions } from "./options.js";
import { rowsOf } from "./series.js";

export interface HistOptions extends CommonOptions {
  names?: readonly string[];
  opacity?: number;
  nbins?: number;
  marginal?: "box" | "violin" | "rug";
  histnorm?: "" | "percent" | "probability" | "density" | "probability density";
  barmode?: "overlay" | "group" | "relative" | "stack";
  colorDiscreteSequence?: readonly string[];
  /** Series (indices or names) shown only in the legend until clicked: `visible: "legendonly"` on their traces. */
  legendOnly?: readonly (number | string)[];
}

const HIST_KEYS = [
  "names",
  "opacity",
  "nbins",
  "marginal",
  "histnorm",
  "barmode",
  "colorDiscreteSequence",
  "legendOnly",
];

/**
 * Histograms of several series on one axis (the seeds' `hist`: overlaid, bargap 0, hover "x unified"). With
 * `marginal`, each series is followed by its marginal trace (a box above the plot): traces are
 * [hist 0, box 0, hist 1, box 1, ...], as plotly express orders them.
 */
export function hist(series: ValuesND | readonly Values1D[], options?: HistOptions): Figure {
  const [opts, magic] = normalize("hist", options, HIST_KEYS);
  let list: (number | null)[][];
  if (series instanceof Tensor) {
    list = series.ndim === 1 ? [to1D(series, "hist")] : rowsOf(series, "hist");
  } else {
    const arr = series as readonly unknown[];
    const nested = arr.length > 0 && (arr[0] instanceof Tensor || typeof arr[0] === "object");
    list = nested ? (arr as Values1D[]).map((s, i) => to1D(s, `hist series ${i}`)) : [to1D(arr as Values1D, "hist")];
  }
  if (opts.names && opts.names.length !== list.length)
    throw new VizError(`hist: ${opts.names.length} names for ${list.length} series`);
  const names = list.map((_, i) => opts.names?.[i] ?? (list.length > 1 ? String(i) : "value"));
  const palette = opts.colorDiscreteSequence ?? qualitative.Plotly;
  const valueTitle =
    opts.xaxis && typeof opts.xaxis === "string"
      ? opts.xaxis
      : label(opts, "value", list.length > 1 ? "value" : label(opts, "x", "value"));
  const variableTitle = label(opts, "variable", "variable");
  const hn = opts.histnorm ?? "";
  const countTitle = axisTitle(opts, "y", hn === "" ? "count" : hn);
  const legendOnly = new Set((opts.legendOnly ?? []).map((v) => (typeof v === "number" ? names[v] : v)));
  for (const v of opts.legendOnly ?? []) {
    if (typeof v === "string" && !names.includes(v))
      throw new VizError(`hist: legendOnly names an unknown series "${v}"`);
    if (typeof v === "number" && (v < 0 || v >= names.length))
      throw new VizError(`hist: legendOnly index ${v} out of range`);
  }
  const data: Trace[] = [];
  list.forEach((values, i) => {
    const color = palette[i % palette.length];
    const name = names[i]!;
    const h: Trace = {
      type: "histogram",
      x: values,
      name,
      legendgroup: name,
      showlegend: list.length > 1 || opts.names !== undefined,
      marker: { color },
      bingroup: "x",
      xaxis: "x",
      yaxis: "y",
      orientation: "v",
      hovertemplate: `${list.length > 1 ? `${escapeHover(variableTitle)}=${escapeHover(name)}<br>` : ""}${escapeHover(valueTitle)}=%{x}<br>${escapeHover(countTitle)}=%{y}<extra></extra>`,
    };
    if (opts.opacity !== undefined) h.opacity = opts.opacity;
    if (opts.nbins !== undefined) h.nbinsx = opts.nbins;
    if (hn) h.histnorm = hn;
    if (legendOnly.has(name)) h.visible = "legendonly";
    data.push(h);
    if (opts.marginal) {
      const m: Trace = {
        x: values,
        name,
        legendgroup: name,
        showlegend: false,
        marker: { color },
        xaxis: "x2",
        yaxis: "y2",
        hovertemplate: `${list.length > 1 ? `${escapeHover(variableTitle)}=${escapeHover(name)}<br>` : ""}${escapeHover(valueTitle)}=%{x}<extra></extra>`,
      };
      if (opts.marginal === "box") Object.assign(m, { type: "box", notched: true, boxpoints: false });
      else if (opts.marginal === "violin") Object.assign(m, { type: "violin", points: false });
      else
        Object.assign(m, {
          type: "box",
          boxpoints: "all",
          jitter: 0,
          fillcolor: "rgba(255,255,255,0)",
          line: { color: "rgba(255,255,255,0)" },
          hoveron: "points",
          marker: { color, symbol: "line-ns-open" },
        });
      if (opts.opacity !== undefined) m.opacity = opts.opacity;
      if (legendOnly.has(name)) m.visible = "legendonly";
      data.push(m);
    }
  });
  const layout: Layout = {
    barmode: opts.barmode ?? "overlay",
    bargap: 0,
    hovermode: "x unified",
    margin: { t: 60 },
    xaxis: { title: { text: valueTitle }, anchor: "y", domain: [0, 1] },
    yaxis: { title: { text: countTitle }, anchor: "x", domain: opts.marginal ? [0, 0.7326] : [0, 1] },
    legend: { title: { text: variableTitle }, tracegroupgap: 0 },
  };
  if (opts.marginal) {
    layout.xaxis2 = { anchor: "y2", domain: [0, 1], matches: "x", showticklabels: false, showgrid: true };
    layout.yaxis2 = {
      anchor: "x2",
      domain: [0.7426, 1],
      matches: "y2",
      showticklabels: false,
      showline: false,
      ticks: "",
      showgrid: false,
    };
  }
  return finish("hist", data, layout, opts, magic);
}
