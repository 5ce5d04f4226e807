// Selection of the k largest values of a row (TopK's cut), shared by the TopK step and its auxiliary loss.
import { SaeError } from "../errors.js";

/** The k-th largest of v[start .. start + n) (quickselect on a copy in scratch). */
export function kthLargest(v: Float32Array, start: number, n: number, k: number, scratch: Float32Array): number {
  if (k < 1 || k > n) throw new SaeError(`TopK: k = ${k} must lie in 1..${n}`);
  const a = scratch;
  for (let j = 0; j < n; j++) a[j] = v[start + j]!;
  let lo = 0, hi = n - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i]! > pivot) i++;
      while (a[j]! < pivot) j--;
      if (i <= j) {
        const t = a[i]!; a[i] = a[j]!; a[j] = t;
        i++; j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target]!;
}
