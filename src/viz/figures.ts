// Figures as data: plotly.express-like builders (imshow, line, scatter, bar, hist) returning plotly.js figure
// objects. Options are camelCase; the seeds' snake_case keyword arguments (facet_col, hover_name, range_x, ...) are
// accepted as aliases, and any other key is a plotly layout path with plotly.py's "magic underscores"
// (bargap, hovermode, yaxis_tickformat, legend_title_text, ...), so the seeds' calls translate one to one.
import { Tensor } from "../tensor/index.js";
import { colorscale, qualitative, templates } from "./colors.js";
import { flatNumbers, moveAxisToFront, range, shapeOf, to1D, toNested, VizError, type Values1D, type ValuesND } from "./data.js";
import type { Figure, Layout, Trace } from "./types.js";
import { attachDisplay } from "./display.js";

export type TemplateName = "plotly" | "plotly_white" | "simple_white" | "ggplot2" | "none";

/** Options every figure takes. */
export interface CommonOptions {
  title?: string;
  /** Axis and legend names: `x`, `y`, `color`, `value`, `variable` (plotly express's `labels`). */
  labels?: Record<string, string>;
  /** The x axis title (neel_plotly's `xaxis="Head"`), or a plotly axis object merged into layout.xaxis. */
  xaxis?: string | Record<string, unknown>;
  yaxis?: string | Record<string, unknown>;
  /** The colour axis / legend title (neel_plotly's `caxis`). */
  caxis?: string;
  width?: number;
  height?: number;
  template?: TemplateName;
  rangeX?: readonly [number, number];
  rangeY?: readonly [number, number];
  /** A static (non-interactive) plot: `config.staticPlot`. */
  static?: boolean;
  /** plotly.js config (merged). */
  config?: Record<string, unknown>;
  /** Merged into the layout last (deep). */
  layout?: Layout;
  /** Anything else: a plotly layout path with magic underscores (`bargap`, `yaxis_tickformat`, `legend_title_text`). */
  [layoutPath: string]: unknown;
}

export interface ImshowOptions extends CommonOptions {
  /** Tick labels of the columns / rows (duplicates are fine). */
  x?: readonly (string | number)[];
  y?: readonly (string | number)[];
  /** Split this dim into side-by-side heatmaps. */
  facetCol?: number;
  facetLabels?: readonly string[];
  facetColWrap?: number;
  facetColSpacing?: number;
  facetRowSpacing?: number;
  /** Make this dim the frames of an animation (a slider and play button). */
  animationFrame?: number;
  animationLabels?: readonly string[];
  /** A name of `viz.colors.continuous` (`RdBu`, `Blues`, ...; `_r` reverses), a plotly.js scale name, or colours. */
  colorContinuousScale?: string | readonly string[];
  /** The value at the centre of the scale (default 0: symmetric range). `null`: the data's min and max. */
  colorContinuousMidpoint?: number | null;
  zmin?: number;
  zmax?: number;
  /** Text in each cell: strings shaped like the data (one grid per facet/frame, or one grid for all). */
  text?: readonly (readonly string[])[] | readonly (readonly (readonly string[])[])[];
  /** Show each value in its cell (`true`, or a d3 format such as ".2f"). */
  textAuto?: boolean | string;
  texttemplate?: string;
  textfont?: Record<string, unknown>;
  /** "equal" (default, square cells as px.imshow) or "auto" (fill the plot). */
  aspect?: "equal" | "auto";
  /** Thin gaps between cells. */
  border?: boolean;
}

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

// ----------------------------------------------------------------------------------------------------------------
// options

const ALIASES: Record<string, string> = {
  facet_col: "facetCol", facet_labels: "facetLabels", facet_col_wrap: "facetColWrap", facet_col_spacing: "facetColSpacing",
  facet_row_spacing: "facetRowSpacing", animation_frame: "animationFrame", animation_labels: "animationLabels",
  hover_name: "hoverName", range_x: "rangeX", range_y: "rangeY", color_discrete_sequence: "colorDiscreteSequence",
  color_continuous_scale: "colorContinuousScale", color_continuous_midpoint: "colorContinuousMidpoint", error_y: "errorY",
  text_auto: "textAuto", legend_only: "legendOnly",
};
/** Keyword arguments of the seeds' helpers that mean nothing for a figure object. */
const IGNORED = new Set(["return_fig", "returnFig", "renderer", "show"]);

/** Top-level plotly layout attributes that may be set through magic-underscore keys. */
const LAYOUT_ROOTS = new Set([
  "title", "xaxis", "yaxis", "coloraxis", "legend", "margin", "bargap", "bargroupgap", "barmode", "barnorm", "boxmode", "boxgap",
  "boxgroupgap", "hovermode", "hoverlabel", "hoverdistance", "showlegend", "font", "autosize", "width", "height",
  "paper_bgcolor", "plot_bgcolor", "annotations", "shapes", "images", "colorway", "dragmode", "uniformtext", "sliders",
  "updatemenus", "separators", "modebar", "violinmode", "violingap", "transition", "clickmode", "template", "newshape",
  "legend_title_text", "colorscale", "spikedistance", "selectdirection", "calendar", "meta",
]);
const UNDERSCORE_ATTRS = ["paper_bgcolor", "plot_bgcolor"];

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !(x instanceof Tensor) && Object.getPrototypeOf(x) === Object.prototype;
}

function deepMerge(target: Record<string, unknown>, src: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined) continue;
    if (isPlainObject(v) && isPlainObject(target[k])) deepMerge(target[k] as Record<string, unknown>, v);
    else target[k] = isPlainObject(v) ? deepMerge({}, v) : v;
  }
  return target;
}

/** `yaxis_tickformat` → ["yaxis", "tickformat"]; `xaxis2_range` → ["xaxis2", "range"]; `plot_bgcolor` stays whole. */
function magicPath(key: string): string[] {
  const parts: string[] = [];
  let rest = key;
  while (rest.length) {
    const whole = UNDERSCORE_ATTRS.find((a) => rest === a || rest.startsWith(a + "_"));
    if (whole) {
      parts.push(whole);
      rest = rest.slice(whole.length + 1);
      continue;
    }
    const i = rest.indexOf("_");
    parts.push(i < 0 ? rest : rest.slice(0, i));
    rest = i < 0 ? "" : rest.slice(i + 1);
  }
  return parts;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const next = cur[path[i]];
    if (typeof next === "string" && path[i] === "title") cur[path[i]] = { text: next };
    if (!isPlainObject(cur[path[i]])) cur[path[i]] = {};
    cur = cur[path[i]] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = isPlainObject(value) ? deepMerge({}, value) : value;
}

/** Normalises aliases; returns [known options, layout updates from magic keys]. */
function normalize<T extends CommonOptions>(fn: string, opts: T | undefined, known: readonly string[]): [T, [string[], unknown][]] {
  const out: Record<string, unknown> = {};
  const magic: [string[], unknown][] = [];
  const knownSet = new Set([...COMMON_KEYS, ...known]);
  for (const [k0, v] of Object.entries(opts ?? {})) {
    if (IGNORED.has(k0)) continue;
    const k = ALIASES[k0] ?? k0;
    if (knownSet.has(k)) {
      out[k] = v;
      continue;
    }
    const path = magicPath(k0);
    const root = path[0].replace(/\d+$/, "");
    if (!LAYOUT_ROOTS.has(root) && !LAYOUT_ROOTS.has(k0)) {
      throw new VizError(`${fn}: unknown option "${k0}" (options: ${[...knownSet].join(", ")}; or a plotly layout path such as "yaxis_tickformat")`);
    }
    magic.push([path, v]);
  }
  return [out as T, magic];
}

const COMMON_KEYS = ["title", "labels", "xaxis", "yaxis", "caxis", "width", "height", "template", "rangeX", "rangeY", "static", "config", "layout"];

function label(opts: CommonOptions, key: string, fallback: string): string {
  return opts.labels?.[key] ?? fallback;
}

function axisTitle(opts: CommonOptions, axis: "x" | "y", fallback: string): string {
  const a = opts[axis === "x" ? "xaxis" : "yaxis"];
  if (typeof a === "string" && a !== "") return a;
  return label(opts, axis, fallback);
}

function escapeHover(s: string): string {
  return s.replace(/%/g, "%%").replace(/</g, "&lt;");
}

/** The layout and config every figure ends with. */
function finish(fn: string, data: Trace[], layout: Layout, opts: CommonOptions, magic: [string[], unknown][], frames?: Figure["frames"]): Figure {
  const tname = opts.template ?? "plotly";
  const template = templates[tname];
  if (!template) throw new VizError(`${fn}: unknown template "${tname}" (known: ${Object.keys(templates).join(", ")})`);
  layout.template = deepMerge({}, template);
  if (opts.title !== undefined) layout.title = { text: opts.title };
  if (opts.width !== undefined) layout.width = opts.width;
  if (opts.height !== undefined) layout.height = opts.height;
  if (opts.rangeX) setPath(layout, ["xaxis", "range"], [...opts.rangeX]);
  if (opts.rangeY) setPath(layout, ["yaxis", "range"], [...opts.rangeY]);
  if (isPlainObject(opts.xaxis)) deepMerge(setDefault(layout, "xaxis"), opts.xaxis);
  if (isPlainObject(opts.yaxis)) deepMerge(setDefault(layout, "yaxis"), opts.yaxis);
  for (const [path, v] of magic) setPath(layout, path, v);
  if (opts.layout) deepMerge(layout, opts.layout);
  const fig: Figure = { data, layout };
  if (frames) fig.frames = frames;
  const config: Record<string, unknown> = {};
  if (opts.static) config.staticPlot = true;
  if (opts.config) deepMerge(config, opts.config);
  if (Object.keys(config).length) fig.config = config;
  return attachDisplay(fig);
}

function setDefault(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  if (!isPlainObject(obj[key])) obj[key] = {};
  return obj[key] as Record<string, unknown>;
}

/** Tick labels: used as category values when unique; otherwise positions with tick text (plotly merges duplicates). */
function ticks(labels: readonly (string | number)[] | undefined, n: number, what: string, fn: string):
  { values: (string | number)[]; axis: Record<string, unknown>; hover: string[] | null } {
  if (labels === undefined) return { values: range(n), axis: n <= 32 ? { dtick: 1 } : {}, hover: null };
  if (labels.length !== n) throw new VizError(`${fn}: ${what} has ${labels.length} labels for ${n} ${what === "x" ? "columns" : "rows"}`);
  const strs = labels.map(String);
  if (new Set(strs).size === strs.length) {
    const numeric = labels.every((v) => typeof v === "number");
    const integers = numeric && labels.every((v) => Number.isInteger(v));
    return { values: numeric ? [...labels] : strs, axis: integers && n <= 32 ? { dtick: 1 } : {}, hover: null };
  }
  return { values: range(n), axis: { tickmode: "array", tickvals: range(n), ticktext: strs }, hover: strs };
}

function colorRange(values: number[], mid: number | null, zmin?: number, zmax?: number): { cmin: number; cmax: number } {
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (mid !== null) {
    const m = Math.max(Math.abs(lo - mid), Math.abs(hi - mid)) || 1;
    lo = mid - m;
    hi = mid + m;
  } else if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  if (zmin !== undefined && zmax === undefined && mid !== null) return { cmin: zmin, cmax: 2 * mid - zmin };
  if (zmax !== undefined && zmin === undefined && mid !== null) return { cmin: 2 * mid - zmax, cmax: zmax };
  return { cmin: zmin ?? lo, cmax: zmax ?? hi };
}

function minMax(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

// ----------------------------------------------------------------------------------------------------------------
// imshow

const IMSHOW_KEYS = ["x", "y", "facetCol", "facetLabels", "facetColWrap", "facetColSpacing", "facetRowSpacing", "animationFrame",
  "animationLabels", "colorContinuousScale", "colorContinuousMidpoint", "zmin", "zmax", "text", "textAuto", "texttemplate", "textfont",
  "aspect", "border"];

/**
 * A heatmap of a 2-D array (px.imshow with neel_plotly's defaults: RdBu, centred at 0, row 0 at the top). A 3-D array
 * needs `facetCol` or `animationFrame` (a 4-D one both), naming the dim to split.
 */
export function imshow(values: ValuesND, options?: ImshowOptions): Figure {
  const [opts, magic] = normalize("imshow", options, IMSHOW_KEYS);
  const shape = shapeOf(values);
  const nested = toNested(values);
  const splitDims = [opts.facetCol, opts.animationFrame].filter((d): d is number => d !== undefined);
  if (shape.length !== 2 + splitDims.length) {
    throw new VizError(`imshow: a ${shape.length}-D array needs ${shape.length - 2} of facetCol / animationFrame (got ${splitDims.length}); shape [${shape}]`);
  }
  for (const d of splitDims) if (d < 0 || d >= shape.length || !Number.isInteger(d)) throw new VizError(`imshow: no dim ${d} in shape [${shape}]`);
  if (splitDims.length === 2 && splitDims[0] === splitDims[1]) throw new VizError("imshow: facetCol and animationFrame must be different dims");

  // arrange as frames[f][facet][row][col]
  let grid: unknown = nested;
  let gshape = shape;
  let frameDim: number | undefined = opts.animationFrame;
  let facetDim: number | undefined = opts.facetCol;
  const pull = (dim: number): void => {
    grid = moveAxisToFront(grid, gshape, dim);
    gshape = [gshape[dim], ...gshape.filter((_, i) => i !== dim)];
  };
  let frames: unknown[][];
  if (frameDim !== undefined && facetDim !== undefined) {
    pull(frameDim);
    facetDim = facetDim > frameDim ? facetDim : facetDim + 1; // position after the move (frame dim now at 0)
    const fshape = gshape.slice(1);
    const fd = facetDim - 1;
    frames = (grid as unknown[]).map((f) => moveAxisToFront(f, fshape, fd));
  } else if (frameDim !== undefined) {
    pull(frameDim);
    frames = (grid as unknown[]).map((f) => [f]);
  } else if (facetDim !== undefined) {
    pull(facetDim);
    frames = [grid as unknown[]];
  } else {
    frames = [[grid]];
  }
  frameDim = opts.animationFrame;
  const nFacets = frames[0].length;
  const rows = shape.filter((_, i) => !splitDims.includes(i))[0];
  const cols = shape.filter((_, i) => !splitDims.includes(i))[1];

  const xt = ticks(opts.x, cols, "x", "imshow");
  const yt = ticks(opts.y, rows, "y", "imshow");
  const xTitle = axisTitle(opts, "x", "x");
  const yTitle = axisTitle(opts, "y", "y");
  const cTitle = opts.caxis ?? label(opts, "color", "color");
  const mid = opts.colorContinuousMidpoint === undefined ? 0 : opts.colorContinuousMidpoint;
  const { cmin, cmax } = colorRange(minMaxList(flatNumbers(nested)), mid, opts.zmin, opts.zmax);

  // per-cell text: one grid for everything, or one per facet (and frame)
  const textGrid = (frame: number, facet: number): unknown => {
    if (!opts.text) return undefined;
    const d = shapeOf(opts.text as unknown as ValuesND).length;
    if (d === 2) return opts.text;
    if (d === 3) return (opts.text as readonly unknown[])[frameDim !== undefined && opts.facetCol === undefined ? frame : facet];
    throw new VizError("imshow: text must be a grid of strings (or one grid per facet)");
  };

  const customdata = xt.hover || yt.hover
    ? range(rows).map((i) => range(cols).map((j) => [xt.hover ? xt.hover[j] : String(xt.values[j]), yt.hover ? yt.hover[i] : String(yt.values[i])]))
    : undefined;
  const hx = xt.hover ? "%{customdata[0]}" : "%{x}";
  const hy = yt.hover ? "%{customdata[1]}" : "%{y}";
  const hovertemplate = `${escapeHover(xTitle)}: ${hx}<br>${escapeHover(yTitle)}: ${hy}<br>${escapeHover(cTitle)}: %{z}<extra></extra>`;

  const traces = (frame: number): Trace[] => frames[frame].map((z, f) => {
    const t: Trace = {
      type: "heatmap", z, x: xt.values, y: yt.values, coloraxis: "coloraxis", hovertemplate,
      xaxis: f === 0 ? "x" : `x${f + 1}`, yaxis: f === 0 ? "y" : `y${f + 1}`,
      name: opts.facetLabels?.[f] ?? (nFacets > 1 ? String(f) : ""),
    };
    if (customdata) t.customdata = customdata;
    const text = textGrid(frame, f);
    if (text) {
      t.text = text;
      t.texttemplate = opts.texttemplate ?? "%{text}";
    } else if (opts.textAuto) {
      t.texttemplate = opts.texttemplate ?? (typeof opts.textAuto === "string" ? `%{z:${opts.textAuto}}` : "%{z}");
    } else if (opts.texttemplate) {
      t.texttemplate = opts.texttemplate;
    }
    if (opts.textfont) t.textfont = opts.textfont;
    if (opts.border) {
      t.xgap = 1;
      t.ygap = 1;
    }
    return t;
  });

  const layout: Layout = {
    coloraxis: { colorscale: colorscale(opts.colorContinuousScale ?? "RdBu"), cmin, cmax, colorbar: { title: { text: cTitle } } },
    margin: { t: 60 },
  };
  if (mid !== null && opts.zmin === undefined && opts.zmax === undefined) (layout.coloraxis as Record<string, unknown>).cmid = mid;
  if (opts.facetLabels && opts.facetLabels.length !== nFacets) throw new VizError(`imshow: ${opts.facetLabels.length} facetLabels for ${nFacets} facets`);

  const wrap = Math.max(1, Math.min(nFacets, opts.facetColWrap ?? nFacets));
  const nrows = Math.ceil(nFacets / wrap);
  const hsp = nFacets > 1 ? opts.facetColSpacing ?? 0.03 : 0;
  const vsp = nrows > 1 ? opts.facetRowSpacing ?? 0.1 : 0;
  const w = (1 - (wrap - 1) * hsp) / wrap;
  const h = (1 - (nrows - 1) * vsp) / nrows;
  const annotations: Record<string, unknown>[] = [];
  const equal = (opts.aspect ?? "equal") === "equal";
  for (let f = 0; f < nFacets; f++) {
    const c = f % wrap;
    const r = Math.floor(f / wrap);
    const xd: [number, number] = [c * (w + hsp), c * (w + hsp) + w];
    const yd: [number, number] = [1 - r * (h + vsp) - h, 1 - r * (h + vsp)];
    const xa = f === 0 ? "xaxis" : `xaxis${f + 1}`;
    const ya = f === 0 ? "yaxis" : `yaxis${f + 1}`;
    const xref = f === 0 ? "x" : `x${f + 1}`;
    const yref = f === 0 ? "y" : `y${f + 1}`;
    const x: Record<string, unknown> = { ...xt.axis, anchor: yref, constrain: "domain" };
    const y: Record<string, unknown> = { ...yt.axis, anchor: xref, autorange: "reversed", constrain: "domain" };
    if (nFacets > 1) {
      x.domain = [round(xd[0]), round(xd[1])];
      y.domain = [round(yd[0]), round(yd[1])];
    }
    if (r === nrows - 1 || f + wrap >= nFacets) x.title = { text: xTitle };
    if (c === 0) y.title = { text: yTitle };
    else y.showticklabels = false;
    if (f > 0) {
      x.matches = "x";
      y.matches = "y";
    }
    if (equal) y.scaleanchor = xref;
    layout[xa] = x;
    layout[ya] = y;
    if (nFacets > 1 || opts.facetLabels) {
      annotations.push({
        text: opts.facetLabels?.[f] ?? `facet_col=${f}`, x: round((xd[0] + xd[1]) / 2), y: round(yd[1]), xref: "paper", yref: "paper",
        xanchor: "center", yanchor: "bottom", showarrow: false, font: {},
      });
    }
  }
  if (annotations.length) layout.annotations = annotations;

  let figFrames: Figure["frames"];
  const nFrames = frames.length;
  if (opts.animationFrame !== undefined) {
    const names = (opts.animationLabels ?? range(nFrames).map(String)).map(String);
    if (names.length !== nFrames) throw new VizError(`imshow: ${names.length} animationLabels for ${nFrames} frames`);
    figFrames = range(nFrames).map((k) => ({ name: names[k], data: traces(k) }));
    const frameLabel = label(opts, "animation_frame", "animation_frame");
    const anim = (name: string | null, duration: number): unknown[] =>
      [name === null ? null : [name], { mode: "immediate", fromcurrent: true, frame: { duration, redraw: true }, transition: { duration: 0 } }];
    layout.sliders = [{
      active: 0, currentvalue: { prefix: `${frameLabel}=` }, len: 0.9, x: 0.1, pad: { b: 10, t: 60 },
      steps: names.map((n) => ({ label: n, method: "animate", args: anim(n, 0) })),
    }];
    layout.updatemenus = [{
      type: "buttons", direction: "left", showactive: false, x: 0.1, xanchor: "right", y: 0, yanchor: "top", pad: { r: 10, t: 70 },
      buttons: [
        { label: "&#9654;", method: "animate", args: [null, { mode: "immediate", fromcurrent: true, frame: { duration: 500, redraw: true }, transition: { duration: 0 } }] },
        { label: "&#9724;", method: "animate", args: anim(null, 0).map((a, i) => (i === 0 ? [null] : a)) },
      ],
    }];
  }
  return finish("imshow", traces(0), layout, opts, magic, figFrames);
}

function minMaxList(values: number[]): number[] {
  if (!values.length) return values;
  const [lo, hi] = minMax(values);
  return [lo, hi];
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

// ----------------------------------------------------------------------------------------------------------------
// line, scatter, bar

function rowsOf(values: ValuesND, fn: string): (number | null)[][] {
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
  if (opts.hoverName && opts.hoverName.length !== n) throw new VizError(`line: ${opts.hoverName.length} hoverName entries for ${n} points`);
  if (opts.names && opts.names.length !== rows.length) throw new VizError(`line: ${opts.names.length} names for ${rows.length} lines`);
  const data = rows.map((r, i) => {
    if (r.length !== n) throw new VizError("line: every row needs the same length");
    const name = opts.names?.[i] ?? (rows.length > 1 ? String(i) : "");
    const t: Trace = {
      type: "scatter", mode: opts.markers ? "lines+markers" : "lines", x, y: r, name, showlegend: rows.length > 1,
      hovertemplate: `${opts.hoverName ? "<b>%{hovertext}</b><br><br>" : ""}${rows.length > 1 ? `${escapeHover(label(opts, "variable", "variable"))}=${escapeHover(name)}<br>` : ""}${escapeHover(xTitle)}=%{x}<br>${escapeHover(yTitle)}=%{y}<extra></extra>`,
    };
    if (opts.hoverName) t.hovertext = [...opts.hoverName];
    if (palette) t.line = { color: palette[i % palette.length] };
    return t;
  });
  const layout: Layout = {
    xaxis: { title: { text: xTitle } }, yaxis: { title: { text: yTitle } }, legend: { title: { text: label(opts, "variable", "variable") }, tracegroupgap: 0 },
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
  if (opts.hoverName && opts.hoverName.length !== n) throw new VizError(`scatter: ${opts.hoverName.length} hoverName entries for ${n} points`);
  const head = opts.hoverName ? "<b>%{hovertext}</b><br><br>" : "";
  const base = `${escapeHover(xTitle)}=%{x}<br>${escapeHover(yTitle)}=%{y}`;
  const layout: Layout = {
    xaxis: { title: { text: xTitle } }, yaxis: { title: { text: yTitle } }, legend: { title: { text: cTitle }, tracegroupgap: 0 }, margin: { t: 60 },
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
        type: "scatter", mode: "markers", name: g, legendgroup: g, showlegend: true, x: idx.map((i) => xs[i]), y: idx.map((i) => ys[i]),
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
      layout.coloraxis = { colorscale: colorscale(opts.colorContinuousScale ?? "Viridis"), cmin: lo, cmax: hi, colorbar: { title: { text: cTitle } } };
    } else if (opts.colorDiscreteSequence) {
      m.color = opts.colorDiscreteSequence[0];
    }
    const t: Trace = {
      type: "scatter", mode: "markers", x: xs, y: ys, name: "", showlegend: false, marker: m,
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
        type: "bar", name: g, legendgroup: g, showlegend: true, x: idx.map((i) => x[i]), y: idx.map((i) => rows[0][i]),
        marker: { color: palette[gi % palette.length] }, textposition: "auto",
        hovertemplate: `${head}${escapeHover(cTitle)}=${escapeHover(g)}<br>${escapeHover(xTitle)}=%{x}<br>${escapeHover(yTitle)}=%{y}<extra></extra>`,
      };
      if (errs[0]) t.error_y = { type: "data", array: idx.map((i) => errs[0]![i]) };
      if (opts.hoverName) t.hovertext = idx.map((i) => opts.hoverName![i]);
      if (textTpl) t.texttemplate = textTpl;
      data.push(t);
    });
  } else {
    if (opts.names && opts.names.length !== rows.length) throw new VizError(`bar: ${opts.names.length} names for ${rows.length} series`);
    rows.forEach((r, i) => {
      const name = opts.names?.[i] ?? (rows.length > 1 ? String(i) : "");
      const t: Trace = {
        type: "bar", name, x, y: r, showlegend: rows.length > 1, textposition: "auto",
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
    xaxis: { title: { text: xTitle } }, yaxis: { title: { text: yTitle } }, barmode: opts.barmode ?? (rows.length > 1 ? "group" : "relative"),
    legend: { title: { text: opts.color ? cTitle : label(opts, "variable", "variable") }, tracegroupgap: 0 }, margin: { t: 60 },
  };
  if (opts.color && !opts.x) (layout.xaxis as Record<string, unknown>).type = "category";
  return finish("bar", data, layout, opts, magic);
}

// ----------------------------------------------------------------------------------------------------------------
// hist

const HIST_KEYS = ["names", "opacity", "nbins", "marginal", "histnorm", "barmode", "colorDiscreteSequence", "legendOnly"];

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
  if (opts.names && opts.names.length !== list.length) throw new VizError(`hist: ${opts.names.length} names for ${list.length} series`);
  const names = list.map((_, i) => opts.names?.[i] ?? (list.length > 1 ? String(i) : "value"));
  const palette = opts.colorDiscreteSequence ?? qualitative.Plotly;
  const valueTitle = opts.xaxis && typeof opts.xaxis === "string" ? opts.xaxis : label(opts, "value", list.length > 1 ? "value" : label(opts, "x", "value"));
  const variableTitle = label(opts, "variable", "variable");
  const hn = opts.histnorm ?? "";
  const countTitle = axisTitle(opts, "y", hn === "" ? "count" : hn);
  const legendOnly = new Set((opts.legendOnly ?? []).map((v) => (typeof v === "number" ? names[v] : v)));
  for (const v of opts.legendOnly ?? []) {
    if (typeof v === "string" && !names.includes(v)) throw new VizError(`hist: legendOnly names an unknown series "${v}"`);
    if (typeof v === "number" && (v < 0 || v >= names.length)) throw new VizError(`hist: legendOnly index ${v} out of range`);
  }
  const data: Trace[] = [];
  list.forEach((values, i) => {
    const color = palette[i % palette.length];
    const name = names[i];
    const h: Trace = {
      type: "histogram", x: values, name, legendgroup: name, showlegend: list.length > 1 || opts.names !== undefined,
      marker: { color }, bingroup: "x", xaxis: "x", yaxis: "y", orientation: "v",
      hovertemplate: `${list.length > 1 ? `${escapeHover(variableTitle)}=${escapeHover(name)}<br>` : ""}${escapeHover(valueTitle)}=%{x}<br>${escapeHover(countTitle)}=%{y}<extra></extra>`,
    };
    if (opts.opacity !== undefined) h.opacity = opts.opacity;
    if (opts.nbins !== undefined) h.nbinsx = opts.nbins;
    if (hn) h.histnorm = hn;
    if (legendOnly.has(name)) h.visible = "legendonly";
    data.push(h);
    if (opts.marginal) {
      const m: Trace = {
        x: values, name, legendgroup: name, showlegend: false, marker: { color }, xaxis: "x2", yaxis: "y2",
        hovertemplate: `${list.length > 1 ? `${escapeHover(variableTitle)}=${escapeHover(name)}<br>` : ""}${escapeHover(valueTitle)}=%{x}<extra></extra>`,
      };
      if (opts.marginal === "box") Object.assign(m, { type: "box", notched: true, boxpoints: false });
      else if (opts.marginal === "violin") Object.assign(m, { type: "violin", points: false });
      else Object.assign(m, { type: "box", boxpoints: "all", jitter: 0, fillcolor: "rgba(255,255,255,0)", line: { color: "rgba(255,255,255,0)" }, hoveron: "points", marker: { color, symbol: "line-ns-open" } });
      if (opts.opacity !== undefined) m.opacity = opts.opacity;
      if (legendOnly.has(name)) m.visible = "legendonly";
      data.push(m);
    }
  });
  const layout: Layout = {
    barmode: opts.barmode ?? "overlay", bargap: 0, hovermode: "x unified", margin: { t: 60 },
    xaxis: { title: { text: valueTitle }, anchor: "y", domain: [0, 1] },
    yaxis: { title: { text: countTitle }, anchor: "x", domain: opts.marginal ? [0, 0.7326] : [0, 1] },
    legend: { title: { text: variableTitle }, tracegroupgap: 0 },
  };
  if (opts.marginal) {
    layout.xaxis2 = { anchor: "y2", domain: [0, 1], matches: "x", showticklabels: false, showgrid: true };
    layout.yaxis2 = { anchor: "x2", domain: [0.7426, 1], matches: "y2", showticklabels: false, showline: false, ticks: "", showgrid: false };
  }
  return finish("hist", data, layout, opts, magic);
}
