// Selection of the k largest values of a row (TopK's cut), shared by the TopK step and its auxiliary loss.
import { SaeError } from "../errors.js";

function checkK(k: number, n: number): void {
  if (k < 1 || k > n) throw new SaeError(`TopK: k = ${k} must lie in 1..${n}`);
}

/** The k-th largest of v[start .. start + n) (quickselect on a copy in scratch). */
export function kthLargest(v: Float32Array, start: number, n: number, k: number, scratch: Float32Array): number {
  checkK(k, n);
  const a = scratch;
  for (let j = 0; j < n; j++) a[j] = v[start + j]!;
  let lo = 0,
    hi = n - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo,
      j = hi;
    while (i <= j) {
      while (a[i]! > pivot) i++;
      while (a[j]! < pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target]!;
}

/** Rows to look back on for the candidates' threshold. */
const RECENT = 16;

/** Each row's k largest of n values (of equal values the lower positions), row after row, in one pass a row: the
 *  values above the smallest k-th largest of the last 16 rows are the candidates, and a min-heap of the k best so
 *  far (worst at the root) runs over them in position order, a later value entering only when it is larger. When
 *  fewer than k values beat that threshold, the whole row is the candidate list. */
export class TopKSelector {
  private readonly cand: Int32Array;
  private readonly recent = new Float64Array(RECENT).fill(-Infinity);
  private rows = 0;

  constructor(
    readonly n: number,
    readonly k: number,
  ) {
    checkK(k, n);
    this.cand = new Int32Array(n);
  }

  /** v[start .. start + n)'s k largest: their positions (0 .. n − 1) into idx[at .. at + k) and their values into
   *  val[at .. at + k), in no particular order. */
  select(v: Float32Array, start: number, idx: Int32Array, val: Float32Array, at: number): void {
    const { n, k, cand } = this;
    let tau = Infinity;
    for (let r = 0; r < RECENT; r++) tau = Math.min(tau, this.recent[r]!);
    let c = 0;
    for (let j = 0; j < n; j++) if (v[start + j]! > tau) cand[c++] = j;
    if (c < k) for (c = 0; c < n; c++) cand[c] = c;
    for (let t = 0; t < k; t++) {
      const j = cand[t]!;
      idx[at + t] = j;
      val[at + t] = v[start + j]!;
    }
    for (let t = (k >> 1) - 1; t >= 0; t--) siftDown(idx, val, at, k, t, idx[at + t]!, val[at + t]!);
    let worst = val[at]!;
    for (let t = k; t < c; t++) {
      const j = cand[t]!,
        x = v[start + j]!;
      if (x > worst) {
        siftDown(idx, val, at, k, 0, j, x);
        worst = val[at]!;
      }
    }
    this.recent[this.rows++ % RECENT] = worst;
  }
}

/** Puts (i0, v0) at heap slot t and sifts it down: a parent is worse than its children (smaller, or equal at a
 *  higher position). */
function siftDown(idx: Int32Array, val: Float32Array, at: number, k: number, t: number, i0: number, v0: number): void {
  for (;;) {
    let c = 2 * t + 1;
    if (c >= k) break;
    if (c + 1 < k) {
      const va = val[at + c + 1]!,
        vb = val[at + c]!;
      if (va < vb || (va === vb && idx[at + c + 1]! > idx[at + c]!)) c++;
    }
    const vc = val[at + c]!;
    if (!(vc < v0 || (vc === v0 && idx[at + c]! > i0))) break;
    idx[at + t] = idx[at + c]!;
    val[at + t] = vc;
    t = c;
  }
  idx[at + t] = i0;
  val[at + t] = v0;
}
