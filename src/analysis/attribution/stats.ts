// Correlations for comparing attribution estimates with true activation patching: Pearson's r and Spearman's ρ
// (Pearson on ranks, ties sharing their average rank, as scipy.stats.spearmanr).
import { AttributionError } from "./errors.js";

function check(x: ArrayLike<number>, y: ArrayLike<number>, what: string): void {
  if (x.length !== y.length) throw new AttributionError(`${what}: ${x.length} x values but ${y.length} y values`);
  if (x.length < 2) throw new AttributionError(`${what}: needs at least 2 pairs, got ${x.length}`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i]))
      throw new AttributionError(`${what}: pair ${i} is (${x[i]}, ${y[i]}), not finite`);
  }
}

/** Pearson's correlation coefficient (NaN when either series is constant, as numpy). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  check(x, y, "pearson");
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

/** Ranks 1..n, tied values sharing the mean of their ranks. */
export function ranks(x: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const r = new Float64Array(x.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && x[order[j + 1]!] === x[order[i]!]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[order[k]!] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  check(x, y, "spearman");
  return pearson(ranks(x), ranks(y));
}
