// Heatmaps (px.imshow with neel_plotly's defaults), faceted along one dim and / or animated along another.
import { colorscale } from "../colors.js";
import { flatNumbers, moveAxisToFront, range, shapeOf, toNested, VizError, type ValuesND } from "../data.js";
import type { Figure, Layout, Trace } from "../types.js";
import { animationControls, facetAxes } from "./imshow-layout.js";
import { axisTitle, escapeHover, finish, label, normalize, type CommonOptions } from "./options.js";
import { colorRange, minMaxList, ticks, type Ticks } from "./scales.js";

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

const IMSHOW_KEYS = [
  "x",
  "y",
  "facetCol",
  "facetLabels",
  "facetColWrap",
  "facetColSpacing",
  "facetRowSpacing",
  "animationFrame",
  "animationLabels",
  "colorContinuousScale",
  "colorContinuousMidpoint",
  "zmin",
  "zmax",
  "text",
  "textAuto",
  "texttemplate",
  "textfont",
  "aspect",
  "border",
];

/**
 * A heatmap of a 2-D array (px.imshow with neel_plotly's defaults: RdBu, centred at 0, row 0 at the top). A 3-D array
 * needs `facetCol` or `animationFrame` (a 4-D one both), naming the dim to split.
 */
export function imshow(values: ValuesND, options?: ImshowOptions): Figure {
  const [opts, magic] = normalize("imshow", options, IMSHOW_KEYS);
  const shape = shapeOf(values);
  const nested = toNested(values);
  const splitDims = checkSplitDims(shape, opts);
  const frames = arrangeFrames(nested, shape, opts.animationFrame, opts.facetCol);
  const nFacets = frames[0]!.length;
  const [rows, cols] = shape.filter((_, i) => !splitDims.includes(i)) as [number, number];

  const xt = ticks(opts.x, cols, "x", "imshow");
  const yt = ticks(opts.y, rows, "y", "imshow");
  const titles = {
    x: axisTitle(opts, "x", "x"),
    y: axisTitle(opts, "y", "y"),
    c: opts.caxis ?? label(opts, "color", "color"),
  };
  const mid = opts.colorContinuousMidpoint === undefined ? 0 : opts.colorContinuousMidpoint;
  const { cmin, cmax } = colorRange(minMaxList(flatNumbers(nested)), mid, opts.zmin, opts.zmax);
  const traces = heatmapTraces(frames, opts, xt, yt, titles, [rows, cols]);

  const layout: Layout = {
    coloraxis: {
      colorscale: colorscale(opts.colorContinuousScale ?? "RdBu"),
      cmin,
      cmax,
      colorbar: { title: { text: titles.c } },
    },
    margin: { t: 60 },
  };
  if (mid !== null && opts.zmin === undefined && opts.zmax === undefined)
    (layout.coloraxis as Record<string, unknown>).cmid = mid;
  if (opts.facetLabels && opts.facetLabels.length !== nFacets)
    throw new VizError(`imshow: ${opts.facetLabels.length} facetLabels for ${nFacets} facets`);
  facetAxes(layout, nFacets, opts, xt, yt, titles);

  let figFrames: Figure["frames"];
  if (opts.animationFrame !== undefined) {
    const names = (opts.animationLabels ?? range(frames.length).map(String)).map(String);
    if (names.length !== frames.length)
      throw new VizError(`imshow: ${names.length} animationLabels for ${frames.length} frames`);
    figFrames = range(frames.length).map((k) => ({ name: names[k]!, data: traces(k) }));
    animationControls(layout, names, label(opts, "animation_frame", "animation_frame"));
  }
  return finish("imshow", traces(0), layout, opts, magic, figFrames);
}

/** The dims split into facets / frames, checked against the shape. */
function checkSplitDims(shape: number[], opts: ImshowOptions): number[] {
  const splitDims = [opts.facetCol, opts.animationFrame].filter((d): d is number => d !== undefined);
  if (shape.length !== 2 + splitDims.length) {
    throw new VizError(
      `imshow: a ${shape.length}-D array needs ${shape.length - 2} of facetCol / animationFrame (got ${splitDims.length}); shape [${shape}]`,
    );
  }
  for (const d of splitDims)
    if (d < 0 || d >= shape.length || !Number.isInteger(d))
      throw new VizError(`imshow: no dim ${d} in shape [${shape}]`);
  if (splitDims.length === 2 && splitDims[0] === splitDims[1])
    throw new VizError("imshow: facetCol and animationFrame must be different dims");
  return splitDims;
}

/** The data arranged as frames[frame][facet] → a [rows][cols] grid. */
function arrangeFrames(
  nested: unknown,
  shape: number[],
  frameDim: number | undefined,
  facetDim: number | undefined,
): unknown[][] {
  let grid = nested;
  let gshape = shape;
  const pull = (dim: number): void => {
    grid = moveAxisToFront(grid, gshape, dim);
    gshape = [gshape[dim]!, ...gshape.filter((_, i) => i !== dim)];
  };
  if (frameDim !== undefined && facetDim !== undefined) {
    pull(frameDim);
    const fd = (facetDim > frameDim ? facetDim : facetDim + 1) - 1; // position after the move, within a frame
    const fshape = gshape.slice(1);
    return (grid as unknown[]).map((f) => moveAxisToFront(f, fshape, fd));
  }
  if (frameDim !== undefined) {
    pull(frameDim);
    return (grid as unknown[]).map((f) => [f]);
  }
  if (facetDim !== undefined) {
    pull(facetDim);
    return [grid as unknown[]];
  }
  return [[grid]];
}

/** Per-cell text of one facet (and frame): one grid for everything, or one per facet (frame when not faceted). */
function textGrid(opts: ImshowOptions, frame: number, facet: number): unknown {
  if (!opts.text) return undefined;
  const d = shapeOf(opts.text as unknown as ValuesND).length;
  if (d === 2) return opts.text;
  if (d === 3)
    return (opts.text as readonly unknown[])[
      opts.animationFrame !== undefined && opts.facetCol === undefined ? frame : facet
    ];
  throw new VizError("imshow: text must be a grid of strings (or one grid per facet)");
}

/** The heatmap traces of frame k, one per facet. */
function heatmapTraces(
  frames: unknown[][],
  opts: ImshowOptions,
  xt: Ticks,
  yt: Ticks,
  titles: { x: string; y: string; c: string },
  [rows, cols]: number[],
): (frame: number) => Trace[] {
  const nFacets = frames[0]!.length;
  const customdata =
    xt.hover || yt.hover
      ? range(rows!).map((i) =>
          range(cols!).map((j) => [
            xt.hover ? xt.hover[j] : String(xt.values[j]),
            yt.hover ? yt.hover[i] : String(yt.values[i]),
          ]),
        )
      : undefined;
  const hx = xt.hover ? "%{customdata[0]}" : "%{x}";
  const hy = yt.hover ? "%{customdata[1]}" : "%{y}";
  const hovertemplate = `${escapeHover(titles.x)}: ${hx}<br>${escapeHover(titles.y)}: ${hy}<br>${escapeHover(titles.c)}: %{z}<extra></extra>`;
  return (frame) =>
    frames[frame]!.map((z, f) => {
      const t: Trace = {
        type: "heatmap",
        z,
        x: xt.values,
        y: yt.values,
        coloraxis: "coloraxis",
        hovertemplate,
        xaxis: f === 0 ? "x" : `x${f + 1}`,
        yaxis: f === 0 ? "y" : `y${f + 1}`,
        name: opts.facetLabels?.[f] ?? (nFacets > 1 ? String(f) : ""),
      };
      if (customdata) t.customdata = customdata;
      const text = textGrid(opts, frame, f);
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
}
