// Selection of the k largest values of a row (TopK's cut), shared by the TopK step and its auxiliary loss.
import { TlensError } from "../../errors.js";

function checkK(k: number, n: number): void {
  if (k < 1 || k > n) throw new TlensError(`TopK: k = ${k} must lie in 1..${n}`);
}

/** The k-th largest of v[start .. start + n) (quickselect on a copy in scratch). */
export function kthLargest(v: Float32Array, start: number, n: number, k: number, scratch: Float32Array): number {
  checkK(k, n);
  const a = scratch;
  for (let j = 0; j < n; j++) a[j] = v[start + j];
  let lo = 0, hi = n - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i]; a[i] = a[j]; a[j] = t;
        i++; j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target];
}

/** The k largest of v[start .. start + n) + bias[0 .. n) (added in float32), of equal values the lower positions, in
 *  one pass: their positions (0 .. n − 1) into idx[at .. at + k) and their values into val[at .. at + k), in no
 *  particular order. A min-heap of the k kept so far, worst at the root: scanning in position order, a later value
 *  enters only when it is larger. */
export function largestK(v: Float32Array, start: number, n: number, bias: Float32Array, k: number, idx: Int32Array, val: Float32Array,
  at: number): void {
  checkK(k, n);
  for (let t = 0; t < k; t++) { idx[at + t] = t; val[at + t] = Math.fround(v[start + t] + bias[t]); }
  for (let t = (k >> 1) - 1; t >= 0; t--) siftDown(idx, val, at, k, t, idx[at + t], val[at + t]);
  let worst = val[at];
  for (let j = k; j < n; j++) {
    const x = Math.fround(v[start + j] + bias[j]);
    if (x > worst) {
      siftDown(idx, val, at, k, 0, j, x);
      worst = val[at];
    }
  }
}

/** Puts (i0, v0) at heap slot t and sifts it down: a parent is worse than its children (smaller, or equal at a
 *  higher position). */
function siftDown(idx: Int32Array, val: Float32Array, at: number, k: number, t: number, i0: number, v0: number): void {
  for (;;) {
    let c = 2 * t + 1;
    if (c >= k) break;
    if (c + 1 < k) {
      const va = val[at + c + 1], vb = val[at + c];
      if (va < vb || (va === vb && idx[at + c + 1] > idx[at + c])) c++;
    }
    const vc = val[at + c];
    if (!(vc < v0 || (vc === v0 && idx[at + c] > i0))) break;
    idx[at + t] = idx[at + c];
    val[at + t] = vc;
    t = c;
  }
  idx[at + t] = i0;
  val[at + t] = v0;
}
