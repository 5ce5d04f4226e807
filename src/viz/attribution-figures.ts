// The figures of circuit discovery, from plain numbers (phase 2's evaluation fills them in): the faithfulness curve
// over circuit sizes beside a random-edge baseline, and attribution estimates against true activation patching with
// their Pearson and Spearman correlations.
import { pearson, spearman } from "../analysis/attribution/stats.js";
import { VizError } from "./data.js";
import { line, scatter, type LineOptions, type ScatterOptions } from "./figures.js";
import type { Figure, Trace } from "./types.js";

export interface FaithfulnessData {
  /** Circuit sizes (edges kept), ascending. */
  sizes: readonly number[];
  /** The normalised metric each circuit recovers (1 = the full model, 0 = the corrupted run), one per size. */
  faithfulness: readonly number[];
  /** The random-edge baseline: one value per size, or one row per random draw (drawn as mean ± standard deviation). */
  random?: readonly number[] | readonly (readonly number[])[];
  /** The name of the method's series (default "circuit"). */
  method?: string;
}

function finiteRow(row: readonly number[], n: number, what: string): number[] {
  if (row.length !== n) throw new VizError(`faithfulnessCurve: ${what} has ${row.length} values for ${n} sizes`);
  row.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new VizError(`faithfulnessCurve: ${what}[${i}] is ${v}, not a finite number`);
  });
  return [...row];
}

/** Mean and (population) standard deviation per column of the random draws. */
function meanStd(rows: readonly (readonly number[])[], n: number): { mean: number[]; std: number[] } {
  const data = rows.map((r, i) => finiteRow(r, n, `random draw ${i}`));
  const mean = Array.from({ length: n }, (_, j) => data.reduce((s, r) => s + r[j]!, 0) / data.length);
  const std = mean.map((m, j) => Math.sqrt(data.reduce((s, r) => s + (r[j]! - m) ** 2, 0) / data.length));
  return { mean, std };
}

/** The faithfulness curve: the method's circuits and random circuits of the same sizes, a dotted line at 1. */
export function faithfulnessCurve(d: FaithfulnessData, opts: LineOptions = {}): Figure {
  const n = d.sizes.length;
  if (n === 0) throw new VizError("faithfulnessCurve: no circuit sizes");
  const sizes = finiteRow(d.sizes, n, "sizes");
  if (sizes.some((s, i) => i > 0 && s <= sizes[i - 1]!))
    throw new VizError("faithfulnessCurve: sizes must be ascending");
  const ours = finiteRow(d.faithfulness, n, "faithfulness");
  const rows: number[][] = [ours];
  const names = [d.method ?? "circuit"];
  let std: number[] | null = null;
  if (d.random !== undefined) {
    const several = d.random.length > 0 && Array.isArray(d.random[0]);
    const r = several
      ? meanStd(d.random as readonly (readonly number[])[], n)
      : { mean: finiteRow(d.random as readonly number[], n, "random"), std: null };
    rows.push(r.mean);
    names.push(several ? `random edges (mean of ${d.random.length})` : "random edges");
    std = r.std;
  }
  const fig = line(rows, {
    x: sizes,
    names,
    markers: true,
    title: "Faithfulness by circuit size",
    labels: { x: "edges in the circuit", y: "normalised metric recovered", variable: "" },
    ...opts,
  });
  if (std) (fig.data[1] as Trace).error_y = { type: "data", array: std, visible: true };
  fig.layout.shapes = [
    { type: "line", xref: "paper", x0: 0, x1: 1, y0: 1, y1: 1, line: { dash: "dot", color: "#888", width: 1 } },
  ];
  fig.layout.xaxis = {
    ...(fig.layout.xaxis as object),
    type: sizes[0]! > 0 && sizes[n - 1]! / sizes[0]! >= 100 ? "log" : "linear",
  };
  return fig;
}

export interface AttributionScatterData {
  /** The estimates (attribution patching) and the true effects (activation patching), one pair per component. */
  attribution: readonly number[];
  patching: readonly number[];
  /** A name per component (hover), e.g. "L3 pos 5" or "a3.h7". */
  labels?: readonly string[];
}

/** Attribution against activation patching, with the y = x diagonal and Pearson r / Spearman ρ in the title. */
export function attributionScatter(d: AttributionScatterData, opts: ScatterOptions = {}): Figure {
  const r = pearson(d.attribution, d.patching);
  const rho = spearman(d.attribution, d.patching);
  const fig = scatter([...d.attribution], [...d.patching], {
    hoverName: d.labels,
    opacity: 0.8,
    title: `Attribution patching vs activation patching (Pearson r = ${r.toFixed(3)}, Spearman ρ = ${rho.toFixed(3)})`,
    labels: { x: "attribution patching (estimate)", y: "activation patching (exact)" },
    ...opts,
  });
  const all = [...d.attribution, ...d.patching];
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  fig.data.push({
    type: "scatter",
    mode: "lines",
    x: [lo, hi],
    y: [lo, hi],
    name: "y = x",
    showlegend: false,
    hoverinfo: "skip",
    line: { dash: "dot", color: "#888", width: 1 },
  });
  fig.layout.meta = { pearson: r, spearman: rho };
  return fig;
}
