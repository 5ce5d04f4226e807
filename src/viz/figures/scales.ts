// Axis ticks and colour ranges shared by the figure builders.
import { range, VizError } from "../data.js";

/** An axis's tick values, its axis settings, and the labels to show on hover when they are not the values. */
export interface Ticks {
  values: (string | number)[];
  axis: Record<string, unknown>;
  hover: string[] | null;
}

/** Tick labels: used as category values when unique; otherwise positions with tick text (plotly merges duplicates). */
export function ticks(labels: readonly (string | number)[] | undefined, n: number, what: string, fn: string): Ticks {
  if (labels === undefined) return { values: range(n), axis: n <= 32 ? { dtick: 1 } : {}, hover: null };
  if (labels.length !== n)
    throw new VizError(`${fn}: ${what} has ${labels.length} labels for ${n} ${what === "x" ? "columns" : "rows"}`);
  const strs = labels.map(String);
  if (new Set(strs).size === strs.length) {
    const numeric = labels.every((v) => typeof v === "number");
    const integers = numeric && labels.every((v) => Number.isInteger(v));
    return { values: numeric ? [...labels] : strs, axis: integers && n <= 32 ? { dtick: 1 } : {}, hover: null };
  }
  return { values: range(n), axis: { tickmode: "array", tickvals: range(n), ticktext: strs }, hover: strs };
}

export function colorRange(
  values: number[],
  mid: number | null,
  zmin?: number,
  zmax?: number,
): { cmin: number; cmax: number } {
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

export function minMax(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

export function minMaxList(values: number[]): number[] {
  if (!values.length) return values;
  const [lo, hi] = minMax(values);
  return [lo, hi];
}

export /** Rounds a paper coordinate to 6 decimals (stable figure JSON). */
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
