// TopK's auxiliary loss (AuxK: Gao et al. 2024, "Scaling and evaluating sparse autoencoders", as SAELens's
// calculate_topk_aux_loss): each row's k_aux dead features with the largest pre-activations reconstruct what the
// main reconstruction misses, so dead features get a gradient toward those directions:
//   e    = x − x̂  (detached)                                          [batch, d_in]
//   aux  = pre at each row's k_aux largest dead features, 0 elsewhere   [batch, d_sae]
//   ê    = aux · W_dec + b_dec                                         [batch, d_in]
//   L    = c · min(dead / k_aux, 1) · mean_b Σ_d (ê − e)²
// The SAE step adds its gradient in two parts: into dL/dpre (which the step then carries to W_enc, b_enc and b_dec)
// and into the decoder's gradients (W_dec, b_dec) once the step has written them.
import { TopKSelector } from "./select.js";
import type { SaeParams } from "./params.js";

export interface AuxKLoss {
  /** the features counted as dead this step (indices into d_sae) */
  dead: readonly number[];
  /** c (SAELens's aux_loss_coefficient) */
  coefficient: number;
  /** k_aux (SAELens: d_in / 2) */
  kAux: number;
}

/** TopK's auxiliary loss (AuxK, SAELens's calculate_topk_aux_loss): the dead features' top-k_aux pre-activations
 *  decode the main reconstruction's residual; its loss and gradient, added into the step's gradients. */
export class AuxKStep {
  /** per row, the chosen dead features and their pre-activations [batch, k_aux] (the first `chosen` of each row) */
  private readonly idx: Int32Array;
  private readonly val: Float32Array;
  /** dL/dê per row [batch, d_in] */
  private readonly g: Float32Array;
  /** a row's dead pre-activations [d_sae] */
  private readonly gathered: Float32Array;
  private chosen = 0;

  constructor(
    private readonly p: SaeParams,
    private readonly batch: number,
    readonly maxKAux: number,
  ) {
    this.idx = new Int32Array(batch * maxKAux);
    this.val = new Float32Array(batch * maxKAux);
    this.g = new Float32Array(batch * p.dIn);
    this.gathered = new Float32Array(p.dSae);
  }

  /** From pre [batch, d_sae] and the main loss's dL/dx̂ = 2 (x̂ − x) / batch [batch, d_in]: adds the loss's gradient
   *  to df = dL/dpre [batch, d_sae] and to gBEnc = Σ_b df [d_sae]; returns the loss. */
  backwardPre(aux: AuxKLoss, pre: Float32Array, dxhat: Float32Array, df: Float32Array, gBEnc: Float32Array): number {
    const { dIn, dSae, W_dec, b_dec } = this.p;
    const B = this.batch,
      nDead = aux.dead.length;
    const m = Math.min(aux.kAux, nDead, this.maxKAux);
    this.chosen = m;
    if (m === 0) return 0;
    const scale = aux.coefficient * Math.min(nDead / aux.kAux, 1);
    const selector = new TopKSelector(nDead, m);
    let loss = 0;
    for (let b = 0; b < B; b++) {
      this.choose(aux.dead, pre, b, selector);
      const g = this.g.subarray(b * dIn, (b + 1) * dIn);
      // r = ê − e with e = −(B / 2) dxhat
      for (let i = 0; i < dIn; i++) g[i] = b_dec[i]! + (B / 2) * dxhat[b * dIn + i]!;
      for (let t = 0; t < m; t++) {
        const j = this.idx[b * m + t]!,
          v = this.val[b * m + t]!;
        for (let i = 0; i < dIn; i++) g[i]! += v * W_dec[j * dIn + i]!;
      }
      for (let i = 0; i < dIn; i++) {
        loss += g[i]! * g[i]!;
        g[i]! *= (2 * scale) / B;
      }
      for (let t = 0; t < m; t++) {
        const j = this.idx[b * m + t]!;
        let s = 0;
        for (let i = 0; i < dIn; i++) s += g[i]! * W_dec[j * dIn + i]!;
        df[b * dSae + j]! += s;
        gBEnc[j]! += s;
      }
    }
    return (scale * loss) / B;
  }

  /** Adds the loss's W_dec and b_dec gradients (after the step has written its own). */
  backwardDecoder(gWDec: Float32Array, gBDec: Float32Array): void {
    const { dIn } = this.p,
      m = this.chosen;
    if (m === 0) return;
    for (let b = 0; b < this.batch; b++) {
      const g = this.g.subarray(b * dIn, (b + 1) * dIn);
      for (let i = 0; i < dIn; i++) gBDec[i]! += g[i]!;
      for (let t = 0; t < m; t++) {
        const j = this.idx[b * m + t]!,
          v = this.val[b * m + t]!;
        for (let i = 0; i < dIn; i++) gWDec[j * dIn + i]! += v * g[i]!;
      }
    }
  }

  /** Row b's k_aux dead features with the largest pre-activations (ties in the dead list's order) into idx / val. */
  private choose(dead: readonly number[], pre: Float32Array, b: number, selector: TopKSelector): void {
    const row = b * this.p.dSae,
      m = selector.k,
      gathered = this.gathered;
    for (let t = 0; t < dead.length; t++) gathered[t] = pre[row + dead[t]!]!;
    selector.select(gathered, 0, this.idx, this.val, b * m);
    for (let t = b * m; t < (b + 1) * m; t++) this.idx[t] = dead[this.idx[t]!]!;
  }
}
