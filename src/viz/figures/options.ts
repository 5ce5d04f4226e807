// Options every figure takes, and what turns them into a plotly figure: the seeds' snake_case aliases, plotly.py's
// "magic underscore" layout paths (yaxis_tickformat, legend_title_text, ...), axis titles and the finishing layout
// (template, title, size, ranges, config).
import { Tensor } from "../../tensor/index.js";
import { templates } from "../colors.js";
import { VizError } from "../data.js";
import { attachDisplay } from "../display.js";
import type { Figure, Layout, Trace } from "../types.js";

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

const ALIASES: Record<string, string> = {
  facet_col: "facetCol",
  facet_labels: "facetLabels",
  facet_col_wrap: "facetColWrap",
  facet_col_spacing: "facetColSpacing",
  facet_row_spacing: "facetRowSpacing",
  animation_frame: "animationFrame",
  animation_labels: "animationLabels",
  hover_name: "hoverName",
  range_x: "rangeX",
  range_y: "rangeY",
  color_discrete_sequence: "colorDiscreteSequence",
  color_continuous_scale: "colorContinuousScale",
  color_continuous_midpoint: "colorContinuousMidpoint",
  error_y: "errorY",
  text_auto: "textAuto",
  legend_only: "legendOnly",
};
/** Keyword arguments of the seeds' helpers that mean nothing for a figure object. */
const IGNORED = new Set(["return_fig", "returnFig", "renderer", "show"]);

/** Top-level plotly layout attributes that may be set through magic-underscore keys. */
const LAYOUT_ROOTS = new Set([
  "title",
  "xaxis",
  "yaxis",
  "coloraxis",
  "legend",
  "margin",
  "bargap",
  "bargroupgap",
  "barmode",
  "barnorm",
  "boxmode",
  "boxgap",
  "boxgroupgap",
  "hovermode",
  "hoverlabel",
  "hoverdistance",
  "showlegend",
  "font",
  "autosize",
  "width",
  "height",
  "paper_bgcolor",
  "plot_bgcolor",
  "annotations",
  "shapes",
  "images",
  "colorway",
  "dragmode",
  "uniformtext",
  "sliders",
  "updatemenus",
  "separators",
  "modebar",
  "violinmode",
  "violingap",
  "transition",
  "clickmode",
  "template",
  "newshape",
  "legend_title_text",
  "colorscale",
  "spikedistance",
  "selectdirection",
  "calendar",
  "meta",
]);
const UNDERSCORE_ATTRS = ["paper_bgcolor", "plot_bgcolor"];

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return (
    typeof x === "object" &&
    x !== null &&
    !Array.isArray(x) &&
    !(x instanceof Tensor) &&
    Object.getPrototypeOf(x) === Object.prototype
  );
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
    const next = cur[path[i]!];
    if (typeof next === "string" && path[i] === "title") cur[path[i]!] = { text: next };
    if (!isPlainObject(cur[path[i]!])) cur[path[i]!] = {};
    cur = cur[path[i]!] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = isPlainObject(value) ? deepMerge({}, value) : value;
}

/** Layout updates from magic-underscore keys: [path, value]. */
export type MagicUpdates = [string[], unknown][];

/** Normalises aliases; returns [known options, layout updates from magic keys]. */
export function normalize<T extends CommonOptions>(
  fn: string,
  opts: T | undefined,
  known: readonly string[],
): [T, [string[], unknown][]] {
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
    const root = path[0]!.replace(/\d+$/, "");
    if (!LAYOUT_ROOTS.has(root) && !LAYOUT_ROOTS.has(k0)) {
      throw new VizError(
        `${fn}: unknown option "${k0}" (options: ${[...knownSet].join(", ")}; or a plotly layout path such as "yaxis_tickformat")`,
      );
    }
    magic.push([path, v]);
  }
  return [out as T, magic];
}

const COMMON_KEYS = [
  "title",
  "labels",
  "xaxis",
  "yaxis",
  "caxis",
  "width",
  "height",
  "template",
  "rangeX",
  "rangeY",
  "static",
  "config",
  "layout",
];

export function label(opts: CommonOptions, key: string, fallback: string): string {
  return opts.labels?.[key] ?? fallback;
}

export function axisTitle(opts: CommonOptions, axis: "x" | "y", fallback: string): string {
  const a = opts[axis === "x" ? "xaxis" : "yaxis"];
  if (typeof a === "string" && a !== "") return a;
  return label(opts, axis, fallback);
}

export function escapeHover(s: string): string {
  return s.replace(/%/g, "%%").replace(/</g, "&lt;");
}

/** The layout and config every figure ends with. */
export function finish(
  fn: string,
  data: Trace[],
  layout: Layout,
  opts: CommonOptions,
  magic: [string[], unknown][],
  frames?: Figure["frames"],
): Figure {
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
