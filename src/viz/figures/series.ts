// Lines, scatter plots and bars (px.line, px.scatter, px.bar).
import { colorscale, qualitative } from "../colors.js";
import { range, shapeOf, to1D, toNested, VizError, type Values1D, type ValuesND } from "../data.js";
import type { Figure, Layout, Trace } from "../types.js";
import { axisTitle, escapeHover, finish, label, normalize, type CommonOptions } from "./options.js";
import { minMax } from "./scales.js";

export interface LineOptions extends CommonOptions {
  x?: Values1D | readonly (string | number)[];
  /** One name per point, shown in bold on hover. */
  hoverName?: readonly string[];
  /** Line names when `y` has several rows. */
  names?: readonly string[];
  markers?: boolean;
  colorDiscreteSequence?: readonly string[];
}

export interface ScatterOptions extends CommonOptions {
  hoverName?: readonly string[];
  /** Numbers (a continuous colour scale) or strings (one trace per group, in order of appearance). */
  color?: Values1D | readonly string[];
  colorDiscreteSequence?: readonly string[];
  colorContinuousScale?: string | readonly string[];
  size?: number;
  opacity?: number;
  text?: readonly string[];
}

export interface BarOptions extends CommonOptions {
  x?: readonly (string | number)[];
  /** Group name per bar (one trace per group, px.bar's `color`). */
  color?: readonly string[];
  colorDiscreteSequence?: readonly string[];
  /** Series names when `y` has several rows (grouped bars). */
  names?: readonly string[];
  /** Error bars: one value per bar (per row with several series). */
  errorY?: Values1D | readonly Values1D[];
  hoverName?: readonly string[];
  barmode?: "group" | "overlay" | "relative" | "stack";
  textAuto?: boolean | string;
}

export function rowsOf(values: ValuesND, fn: string): (number | null)[][] {
  const shape = shapeOf(values);
  if (shape.length === 1) return [to1D(values as Values1D, fn)];
  if (shape.length === 2) return toNested(values) as (number | null)[][];
  throw new VizError(`${fn}: expected a 1-D array (or 2-D: one row per series), got shape [${shape}]`);
}

function xValues(x: LineOptions["x"], n: number, fn: string): (number | string | null)[] {
  if (x === undefined) return range(n);
  const arr = Array.isArray(x) && typeof x[0] === "string" ? (x as string[]) : to1D(x as Values1D, `${fn} x`);
  if (arr.length !== n) throw new VizError(`${fn}: x has ${arr.length} values for ${n} points`);
  return [...arr];
}

const LINE_KEYS = ["x", "hoverName", "names", "markers", "colorDiscreteSequence"];

/** Lines (px.line(y=...)): `y` 1-D, or 2-D with one line per row. */
export function line(y: ValuesND, options?: LineOptions): Figure {
  const [opts, magic] = normalize("line", options, LINE_KEYS);
  const rows = rowsOf(y, "line");
  const n = rows[0]?.length ?? 0;
  const x = xValues(opts.x, n, "line");
  const palette = opts.colorDiscreteSequence ?? null;
  const xTitle = axisTitle(opts, "x", "x");
  const yTitle = axisTitle(opts, "y", "y");
  if (opts.hoverName && opts.hoverName.length !== n)
    throw new VizError(`line: ${opts.hoverName.length} hoverName entries for ${n} points`);
  if (opts.names && opts.names.length !== rows.length)
    throw new VizError(`line: ${opts.names.length} names for ${rows.length} lines`);
  const data = rows.map((r, i) => {
    if (r.length !== n) throw new VizError("line: every row needs the same length");
    const name = opts.names?.[i] ?? (rows.length > 1 ? String(i) : "");
    const t: Trace = {
      type: "scatter",
      mode: opts.markers ? "lines+markers" : "lines",
      x,
      y: r,
      name,
      showlegend: rows.length > 1,
      hovertemplate: `${opts.hoverName ? "<b>%{hovertext}</b><br><br>" : ""}${rows.length > 1 ? `${escapeHover(label(opts, "variable", "variable"))}=${escapeHover(name)}<br>` : ""}${escapeHover(xTitle)}=%{x}<br>${escapeHover(yTitle)}=%{y}<extra></extra>`,
    };
    if (opts.hoverName) t.hovertext = [...opts.hoverName];
    if (palette) t.line = { color: palette[i % palette.length] };
    return t;
  });
  const layout: Layout = {
    xaxis: { title: { text: xTitle } },
    yaxis: { title: { text: yTitle } },
    legend: { title: { text: label(opts, "variable", "variable") }, tracegroupgap: 0 },
    margin: { t: 60 },
  };
  return finish("line", data, layout, opts, magic);
}

const SCATTER_KEYS = ["hoverName", "color", "colorDiscreteSequence", "colorContinuousScale", "size", "opacity", "text"];

/** A scatter plot (px.scatter): colour by a number per point (continuous) or a group name per point. */
export function scatter(x: Values1D, y: Values1D, options?: ScatterOptions): Figure {
  const [opts, magic] = normalize("scatter", options, SCATTER_KEYS);
  const xs = to1D(x, "scatter x");
  const ys = to1D(y, "scatter y");
  if (xs.length !== ys.length) throw new VizError(`scatter: x has ${xs.length} values, y has ${ys.length}`);
  const n = xs.length;
  const xTitle = axisTitle(opts, "x", "x");
  const yTitle = axisTitle(opts, "y", "y");
  const cTitle = opts.caxis || label(opts, "color", "color");
  if (opts.hoverName && opts.hoverName.length !== n)
    throw new VizError(`scatter: ${opts.hoverName.length} hoverName entries for ${n} points`);
  const head = opts.hoverName ? "<b>%{hovertext}</b><br><br>" : "";
  const base = `${escapeHover(xTitle)}=%{x}<br>${escapeHover(yTitle)}=%{y}`;
  const layout: Layout = {
    xaxis: { title: { text: xTitle } },
    yaxis: { title: { text: yTitle } },
    legend: { title: { text: cTitle }, tracegroupgap: 0 },
    margin: { t: 60 },
  };
  const marker = (): Record<string, unknown> => {
    const m: Record<string, unknown> = {};
    if (opts.size !== undefined) m.size = opts.size;
    if (opts.opacity !== undefined) m.opacity = opts.opacity;
    return m;
  };
  const data: Trace[] = [];
  const groups = opts.color !== undefined && Array.isArray(opts.color) && opts.color.some((c) => typeof c === "string");
  if (opts.color !== undefined && groups) {
    const colors = (opts.color as readonly unknown[]).map(String);
    if (colors.length !== n) throw new VizError(`scatter: ${colors.length} colours for ${n} points`);
    const palette = opts.colorDiscreteSequence ?? qualitative.Plotly;
    const order = [...new Set(colors)];
    order.forEach((g, gi) => {
      const idx = range(n).filter((i) => colors[i] === g);
      const t: Trace = {
        type: "scatter",
        mode: "markers",
        name: g,
        legendgroup: g,
        showlegend: true,
        x: idx.map((i) => xs[i]),
        y: idx.map((i) => ys[i]),
        marker: { ...marker(), color: palette[gi % palette.length] },
        hovertemplate: `${head}${escapeHover(cTitle)}=${escapeHover(g)}<br>${base}<extra></extra>`,
      };
      if (opts.hoverName) t.hovertext = idx.map((i) => opts.hoverName![i]);
      if (opts.text) t.text = idx.map((i) => opts.text![i]);
      data.push(t);
    });
  } else {
    const m = marker();
    if (opts.color !== undefined) {
      const cs = to1D(opts.color as Values1D, "scatter color");
      if (cs.length !== n) throw new VizError(`scatter: ${cs.length} colours for ${n} points`);
      m.color = cs;
      m.coloraxis = "coloraxis";
      const vals = cs.filter((v): v is number => v !== null);
      const [lo, hi] = vals.length ? minMax(vals) : [0, 1];
      layout.coloraxis = {
        colorscale: colorscale(opts.colorContinuousScale ?? "Viridis"),
        cmin: lo,
        cmax: hi,
        colorbar: { title: { text: cTitle } },
      };
    } else if (opts.colorDiscreteSequence) {
      m.color = opts.colorDiscreteSequence[0];
    }
    const t: Trace = {
      type: "scatter",
      mode: "markers",
      x: xs,
      y: ys,
      name: "",
      showlegend: false,
      marker: m,
      hovertemplate: `${head}${base}${opts.color !== undefined ? `<br>${escapeHover(cTitle)}=%{marker.color}` : ""}<extra></extra>`,
    };
    if (opts.hoverName) t.hovertext = [...opts.hoverName];
    if (opts.text) t.text = [...opts.text];
    data.push(t);
  }
  return finish("scatter", data, layout, opts, magic);
}

const BAR_KEYS = ["x", "color", "colorDiscreteSequence", "names", "errorY", "hoverName", "barmode", "textAuto"];

/** Bars (px.bar(y=...)): `y` 1-D, or 2-D with one series per row (grouped); `color` splits bars into groups. */
export function bar(y: ValuesND, options?: BarOptions): Figure {
  const [opts, magic] = normalize("bar", options, BAR_KEYS);
  const rows = rowsOf(y, "bar");
  const n = rows[0]?.length ?? 0;
  const x = opts.x ? [...opts.x] : range(n);
  if (x.length !== n) throw new VizError(`bar: x has ${x.length} values for ${n} bars`);
  const xTitle = axisTitle(opts, "x", "x");
  const yTitle = axisTitle(opts, "y", "y");
  const cTitle = opts.caxis || label(opts, "color", "color");
  const palette = opts.colorDiscreteSequence ?? qualitative.Plotly;
  const errs: ((number | null)[] | null)[] = rows.map((_, i) => {
    if (opts.errorY === undefined) return null;
    const e = opts.errorY as unknown;
    const perRow = rows.length > 1 && Array.isArray(e) && e.length === rows.length && typeof e[0] === "object";
    const arr = to1D((perRow ? (e as Values1D[])[i] : e) as Values1D, "bar errorY");
    if (arr.length !== n) throw new VizError(`bar: errorY has ${arr.length} values for ${n} bars`);
    return arr;
  });
  const head = opts.hoverName ? "<b>%{hovertext}</b><br><br>" : "";
  const data: Trace[] = [];
  const textTpl = opts.textAuto ? (typeof opts.textAuto === "string" ? `%{y:${opts.textAuto}}` : "%{y}") : undefined;
  if (opts.color) {
    if (rows.length > 1) throw new VizError("bar: color groups need a 1-D y");
    const colors = opts.color.map(String);
    if (colors.length !== n) throw new VizError(`bar: ${colors.length} colours for ${n} bars`);
    [...new Set(colors)].forEach((g, gi) => {
      const idx = range(n).filter((i) => colors[i] === g);
      const t: Trace = {
        type: "bar",
        name: g,
        legendgroup: g,
        showlegend: true,
        x: idx.map((i) => x[i]),
        y: idx.map((i) => rows[0]![i]),
        marker: { color: palette[gi % palette.length] },
        textposition: "auto",
        hovertemplate: `${head}${escapeHover(cTitle)}=${escapeHover(g)}<br>${escapeHover(xTitle)}=%{x}<br>${escapeHover(yTitle)}=%{y}<extra></extra>`,
      };
      if (errs[0]) t.error_y = { type: "data", array: idx.map((i) => errs[0]![i]) };
      if (opts.hoverName) t.hovertext = idx.map((i) => opts.hoverName![i]);
      if (textTpl) t.texttemplate = textTpl;
      data.push(t);
    });
  } else {
    if (opts.names && opts.names.length !== rows.length)
      throw new VizError(`bar: ${opts.names.length} names for ${rows.length} series`);
    rows.forEach((r, i) => {
      const name = opts.names?.[i] ?? (rows.length > 1 ? String(i) : "");
      const t: Trace = {
        type: "bar",
        name,
        x,
        y: r,
        showlegend: rows.length > 1,
        textposition: "auto",
        hovertemplate: `${head}${rows.length > 1 ? `${escapeHover(label(opts, "variable", "variable"))}=${escapeHover(name)}<br>` : ""}${escapeHover(xTitle)}=%{x}<br>${escapeHover(yTitle)}=%{y}<extra></extra>`,
      };
      if (rows.length > 1 || opts.colorDiscreteSequence) t.marker = { color: palette[i % palette.length] };
      if (errs[i]) t.error_y = { type: "data", array: errs[i] };
      if (opts.hoverName) t.hovertext = [...opts.hoverName];
      if (textTpl) t.texttemplate = textTpl;
      data.push(t);
    });
  }
  const layout: Layout = {
    xaxis: { title: { text: xTitle } },
    yaxis: { title: { text: yTitle } },
    barmode: opts.barmode ?? (rows.length > 1 ? "group" : "relative"),
    legend: { title: { text: opts.color ? cTitle : label(opts, "variable", "variable") }, tracegroupgap: 0 },
    margin: { t: 60 },
  };
  if (opts.color && !opts.x) (layout.xaxis as Record<string, unknown>).type = "category";
  return finish("bar", data, layout, opts, magic);
}
