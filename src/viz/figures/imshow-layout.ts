// The layout pieces of a faceted / animated heatmap: one axis pair per facet on a wrapped grid (with facet titles),
// and the slider and play / pause buttons of an animation.
import type { Layout } from "../types.js";
import type { ImshowOptions } from "./imshow.js";
import { round, type Ticks } from "./scales.js";

/** Sets layout.xaxis / yaxis (xaxis2, ... per facet) and the facet titles. */
export function facetAxes(
  layout: Layout,
  nFacets: number,
  opts: ImshowOptions,
  xt: Ticks,
  yt: Ticks,
  titles: { x: string; y: string },
): void {
  const wrap = Math.max(1, Math.min(nFacets, opts.facetColWrap ?? nFacets));
  const nrows = Math.ceil(nFacets / wrap);
  const hsp = nFacets > 1 ? (opts.facetColSpacing ?? 0.03) : 0;
  const vsp = nrows > 1 ? (opts.facetRowSpacing ?? 0.1) : 0;
  const w = (1 - (wrap - 1) * hsp) / wrap;
  const h = (1 - (nrows - 1) * vsp) / nrows;
  const annotations: Record<string, unknown>[] = [];
  const equal = (opts.aspect ?? "equal") === "equal";
  for (let f = 0; f < nFacets; f++) {
    const c = f % wrap;
    const r = Math.floor(f / wrap);
    const xd: [number, number] = [c * (w + hsp), c * (w + hsp) + w];
    const yd: [number, number] = [1 - r * (h + vsp) - h, 1 - r * (h + vsp)];
    const xref = f === 0 ? "x" : `x${f + 1}`;
    const yref = f === 0 ? "y" : `y${f + 1}`;
    const x: Record<string, unknown> = { ...xt.axis, anchor: yref, constrain: "domain" };
    const y: Record<string, unknown> = { ...yt.axis, anchor: xref, autorange: "reversed", constrain: "domain" };
    if (nFacets > 1) {
      x.domain = [round(xd[0]), round(xd[1])];
      y.domain = [round(yd[0]), round(yd[1])];
    }
    if (r === nrows - 1 || f + wrap >= nFacets) x.title = { text: titles.x };
    if (c === 0) y.title = { text: titles.y };
    else y.showticklabels = false;
    if (f > 0) {
      x.matches = "x";
      y.matches = "y";
    }
    if (equal) y.scaleanchor = xref;
    layout[f === 0 ? "xaxis" : `xaxis${f + 1}`] = x;
    layout[f === 0 ? "yaxis" : `yaxis${f + 1}`] = y;
    if (nFacets > 1 || opts.facetLabels) {
      annotations.push({
        text: opts.facetLabels?.[f] ?? `facet_col=${f}`,
        x: round((xd[0] + xd[1]) / 2),
        y: round(yd[1]),
        xref: "paper",
        yref: "paper",
        xanchor: "center",
        yanchor: "bottom",
        showarrow: false,
        font: {},
      });
    }
  }
  if (annotations.length) layout.annotations = annotations;
}

/** The slider over the frames `names` and the play / pause buttons (plotly express's). */
export function animationControls(layout: Layout, names: string[], frameLabel: string): void {
  const anim = (name: string | null, duration: number): unknown[] => [
    name === null ? null : [name],
    { mode: "immediate", fromcurrent: true, frame: { duration, redraw: true }, transition: { duration: 0 } },
  ];
  layout.sliders = [
    {
      active: 0,
      currentvalue: { prefix: `${frameLabel}=` },
      len: 0.9,
      x: 0.1,
      pad: { b: 10, t: 60 },
      steps: names.map((n) => ({ label: n, method: "animate", args: anim(n, 0) })),
    },
  ];
  layout.updatemenus = [
    {
      type: "buttons",
      direction: "left",
      showactive: false,
      x: 0.1,
      xanchor: "right",
      y: 0,
      yanchor: "top",
      pad: { r: 10, t: 70 },
      buttons: [
        {
          label: "&#9654;",
          method: "animate",
          args: [
            null,
            {
              mode: "immediate",
              fromcurrent: true,
              frame: { duration: 500, redraw: true },
              transition: { duration: 0 },
            },
          ],
        },
        { label: "&#9724;", method: "animate", args: anim(null, 0).map((a, i) => (i === 0 ? [null] : a)) },
      ],
    },
  ];
}
