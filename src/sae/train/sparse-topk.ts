// TopK's codes: each row of f has at most k nonzeros, kept as index lists, so the step's elementwise work on
// [batch, d_sae] is one selection pass; the products stay dense GEMMs on the kernel backend, which (native, SIMD,
// threaded) cost less than scalar loops over the k active features would:
//   f[b]      = the row's k largest of pre (ties to the lower index), those > 0: (j_bt, v_bt), t < n_b ≤ k
//   dpre[b]   = df[b] at the active j_bt, 0 elsewhere                  (df = dL/df = dxhat · W_decᵀ)
import { SaeError } from "../errors.js";
import type { SaeParams } from "./params.js";
import { TopKSelector } from "./select.js";

export class TopKCodes {
  /** each row's active features and their values, n_b of them from b · k [batch, k] */
  private readonly idx: Int32Array;
  private readonly val: Float32Array;
  /** n_b [batch] */
  private readonly count: Int32Array;
  /** dL/dpre at the active features [batch, k] */
  private readonly grad: Float32Array;
  private readonly selector: TopKSelector;

  constructor(
    private readonly p: SaeParams,
    private readonly batch: number,
    readonly k: number,
  ) {
    if (!(Number.isInteger(k) && k >= 1 && k <= p.dSae))
      throw new SaeError(`TopK: k = ${k} must be an integer in 1..${p.dSae}`);
    this.selector = new TopKSelector(p.dSae, k);
    this.idx = new Int32Array(batch * k);
    this.val = new Float32Array(batch * k);
    this.count = new Int32Array(batch);
    this.grad = new Float32Array(batch * k);
  }

  /** Picks each row's active features from pre [batch, d_sae], writes f [batch, d_sae] and adds them to `fired`
   *  [d_sae]. Returns the mean L0. */
  select(pre: Float32Array, f: Float32Array, fired: Float64Array): number {
    const { dSae } = this.p;
    const { idx, val, k } = this;
    f.fill(0, 0, this.batch * dSae);
    let active = 0;
    for (let b = 0; b < this.batch; b++) {
      const row = b * dSae,
        at = b * k;
      this.selector.select(pre, row, idx, val, at);
      // the ReLU: keep the positive ones, packed to the front
      let n = 0;
      for (let t = at; t < at + k; t++) {
        const v = val[t]!,
          j = idx[t]!;
        if (!(v > 0)) continue;
        idx[at + n] = j;
        val[at + n] = v;
        f[row + j] = v;
        fired[j]!++;
        n++;
      }
      this.count[b] = n;
      active += n;
    }
    return active / this.batch;
  }

  /** df [batch, d_sae] = dL/dpre: kept at the active features, zeroed elsewhere, with b_enc's gradient Σ_b df into
   *  gBEnc [d_sae]. Returns the mean over the batch of Σ_j f_j decNorm_j (decNorm = ‖W_dec[j]‖ [d_sae]). */
  mask(df: Float32Array, decNorm: Float32Array, gBEnc: Float32Array): number {
    const { dSae } = this.p;
    const { idx, val, grad, k } = this;
    gBEnc.fill(0);
    let l1 = 0;
    for (let b = 0; b < this.batch; b++) {
      for (let t = b * k, end = t + this.count[b]!; t < end; t++) {
        const j = idx[t]!,
          g = df[b * dSae + j]!;
        l1 += val[t]! * decNorm[j]!;
        gBEnc[j]! += g;
        grad[t] = g;
      }
    }
    df.fill(0, 0, this.batch * dSae);
    for (let b = 0; b < this.batch; b++) {
      for (let t = b * k, end = t + this.count[b]!; t < end; t++) df[b * dSae + idx[t]!] = grad[t]!;
    }
    return l1 / this.batch;
  }
}
