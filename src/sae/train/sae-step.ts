// One SAE training step, forward and backward written out over GEMMs (the SAE's gradient is five products and a
// few elementwise passes, no general autodiff needed), into buffers reused from step to step (TopK's elementwise
// passes run over each row's k active features, sparse-topk.ts):
//   xc   = x − b_dec                                   [batch, d_in]
//   pre  = xc · W_enc + b_enc                          [batch, d_sae]
//   f    = relu(pre)  (TopK: relu of the k largest)    [batch, d_sae]
//   xhat = f · W_dec + b_dec                           [batch, d_in]
//   loss = mean_b Σ_d (xhat − x)² + λ · mean_b Σ_j f_j ‖W_dec[j]‖   (SAELens's standard; TopK: MSE only)
import { SaeError } from "../errors.js";
import { AuxKStep, type AuxKLoss } from "./aux-k.js";
import { gemm, relu, rowBroadcast } from "./gemm.js";
import { rowNorm, type SaeParams } from "./params.js";
import { TopKCodes } from "./sparse-topk.js";

export type Sparsity = { kind: "l1"; coefficient: number } | { kind: "topk"; k: number };

/** What one step measured (over its batch). */
export interface StepStats {
  /** mean over the batch of Σ_d (xhat − x)² */
  mse: number;
  /** mean over the batch of Σ_j f_j ‖W_dec[j]‖ (the L1 term before the coefficient) */
  l1: number;
  /** mean number of active features per example */
  l0: number;
  /** 1 − Σ (xhat − x)² / Σ (x − mean_b x)² */
  varianceExplained: number;
  /** TopK's auxiliary loss (aux-k.ts; 0 without one) */
  auxLoss: number;
}

/** The gradients, one per parameter, same layouts. */
export interface SaeGrads {
  W_enc: Float32Array;
  W_dec: Float32Array;
  b_enc: Float32Array;
  b_dec: Float32Array;
}

/** One SAE training step (forward, backward, the gradients of every parameter) written out over GEMMs into buffers
 *  reused between steps; L1 or TopK sparsity, with TopK's AuxK loss when given. */
export class SaeStep {
  readonly grads: SaeGrads;
  private readonly xc: Float32Array;
  private readonly pre: Float32Array;
  private readonly f: Float32Array;
  private readonly xhat: Float32Array;
  private readonly df: Float32Array;
  private readonly decNorm: Float32Array;
  /** Σ_b f [d_sae] */
  private readonly fSum: Float32Array;
  /** per example Σ_d (xhat − x)² of the last step [batch] */
  readonly exampleLoss: Float32Array;
  private auxStep: AuxKStep | null = null;
  private codes: TopKCodes | null = null;

  constructor(
    readonly p: SaeParams,
    readonly batch: number,
  ) {
    const { dIn, dSae } = p;
    this.grads = {
      W_enc: new Float32Array(dIn * dSae),
      W_dec: new Float32Array(dSae * dIn),
      b_enc: new Float32Array(dSae),
      b_dec: new Float32Array(dIn),
    };
    this.xc = new Float32Array(batch * dIn);
    this.pre = new Float32Array(batch * dSae);
    this.f = new Float32Array(batch * dSae);
    this.xhat = new Float32Array(batch * dIn);
    this.df = new Float32Array(batch * dSae);
    this.decNorm = new Float32Array(dSae);
    this.fSum = new Float32Array(dSae);
    this.exampleLoss = new Float32Array(batch);
  }

  /** Forward and backward on x [batch, d_in] (row-major), with TopK's auxiliary loss when `aux` is given; fills
   *  `grads`, adds each feature's firing count to `fired` [d_sae], and returns the batch's statistics. */
  run(x: Float32Array, sparsity: Sparsity, fired: Float64Array, aux?: AuxKLoss): StepStats {
    const { dIn, dSae, W_enc, W_dec, b_dec } = this.p;
    const B = this.batch,
      g = this.grads;
    if (x.length !== B * dIn) throw new SaeError(`SaeStep: expected a batch of ${B} × ${dIn} values, got ${x.length}`);
    rowBroadcast("sub", this.xc, x, B, dIn, b_dec);
    gemm(this.pre, { data: this.xc, rows: B, cols: dIn }, { data: W_enc, rows: dIn, cols: dSae });
    rowBroadcast("add", this.pre, this.pre, B, dSae, this.p.b_enc);
    for (let j = 0; j < dSae; j++) this.decNorm[j] = rowNorm(W_dec, j, dIn);
    // f = relu(pre), or for TopK relu of each row's k largest (others 0)
    let l0 = 0;
    if (sparsity.kind === "topk") {
      if (this.codes?.k !== sparsity.k) this.codes = new TopKCodes(this.p, B, sparsity.k);
      l0 = this.codes.select(this.pre, this.f, fired);
    } else relu(this.f, this.pre, B * dSae);
    gemm(this.xhat, { data: this.f, rows: B, cols: dSae }, { data: W_dec, rows: dSae, cols: dIn });
    const stats = this.reconstructionGrad(x);
    // df = dL/df = dxhat · W_decᵀ, then masked to dL/dpre
    gemm(this.df, { data: this.xhat, rows: B, cols: dIn }, { data: W_dec, rows: dSae, cols: dIn, t: true });
    let l1: number;
    if (sparsity.kind === "topk") l1 = this.codes!.mask(this.df, this.decNorm, g.b_enc);
    else ({ l1, l0 } = this.l1FeatureGrad(sparsity.coefficient / B, fired));
    let auxLoss = 0;
    if (aux) {
      if (this.auxStep === null || this.auxStep.maxKAux < aux.kAux) this.auxStep = new AuxKStep(this.p, B, aux.kAux);
      auxLoss = this.auxStep.backwardPre(aux, this.pre, this.xhat, this.df, g.b_enc);
    }
    this.parameterGrads(sparsity);
    if (aux) this.auxStep!.backwardDecoder(g.W_dec, g.b_dec);
    return { ...stats, l1, l0, auxLoss };
  }

  /** The MSE's statistics; xhat becomes dL/dxhat = 2 (xhat − x) / batch, exampleLoss each example's error. */
  private reconstructionGrad(x: Float32Array): Omit<StepStats, "l0" | "l1" | "auxLoss"> {
    const { dIn, b_dec } = this.p;
    const B = this.batch,
      xhat = this.xhat;
    const mean = new Float64Array(dIn);
    for (let b = 0; b < B; b++) for (let i = 0; i < dIn; i++) mean[i]! += x[b * dIn + i]! / B;
    let err = 0,
      total = 0;
    for (let b = 0; b < B; b++) {
      let e = 0;
      for (let i = 0; i < dIn; i++) {
        const k = b * dIn + i;
        const r = xhat[k]! + b_dec[i]! - x[k]!;
        e += r * r;
        total += (x[k]! - mean[i]!) ** 2;
        xhat[k] = (2 * r) / B;
      }
      this.exampleLoss[b] = e;
      err += e;
    }
    return { mse: err / B, varianceExplained: total > 0 ? 1 - err / total : 0 };
  }

  /** L1: df = dL/dpre (masked by the active features, λ = coefficient / batch), with b_enc's gradient Σ_b df, Σ_b f
   *  in fSum and the firing counts in `fired`; returns the mean weighted L1 and the mean L0. */
  private l1FeatureGrad(lambda: number, fired: Float64Array): { l1: number; l0: number } {
    const { dSae } = this.p;
    const B = this.batch,
      { f, df, decNorm, fSum } = this,
      gb = this.grads.b_enc;
    gb.fill(0);
    fSum.fill(0);
    let l1 = 0,
      active = 0;
    for (let b = 0; b < B; b++) {
      const row = b * dSae;
      for (let j = 0; j < dSae; j++) {
        // v = 0 for an inactive feature, whose df the mask zeroes
        const v = f[row + j]!,
          n = decNorm[j]!,
          on = v > 0 ? 1 : 0;
        const g = on ? df[row + j]! + lambda * n : 0;
        l1 += v * n;
        df[row + j] = g;
        gb[j]! += g;
        fSum[j]! += v;
        fired[j]! += on;
        active += on;
      }
    }
    return { l1: l1 / B, l0: active / B };
  }

  /** Gradients of W_enc, b_enc, W_dec and b_dec from dxhat (in xhat) and dpre (in df). */
  private parameterGrads(sparsity: Sparsity): void {
    const { dIn, dSae, W_enc, W_dec } = this.p;
    const B = this.batch,
      g = this.grads,
      { f, df, decNorm } = this;
    gemm(g.W_enc, { data: this.xc, rows: B, cols: dIn, t: true }, { data: df, rows: B, cols: dSae });
    gemm(g.W_dec, { data: f, rows: B, cols: dSae, t: true }, { data: this.xhat, rows: B, cols: dIn });
    // b_dec enters twice: + b_dec in xhat, − b_dec in xc (dL/db_dec −= W_enc · Σ_b dpre)
    g.b_dec.fill(0);
    for (let b = 0; b < B; b++) for (let i = 0; i < dIn; i++) g.b_dec[i]! += this.xhat[b * dIn + i]!;
    for (let i = 0; i < dIn; i++) {
      let s = 0;
      for (let j = 0; j < dSae; j++) s += W_enc[i * dSae + j]! * g.b_enc[j]!;
      g.b_dec[i]! -= s;
    }
    if (sparsity.kind !== "l1") return;
    // the L1 term's weights ‖W_dec[j]‖: d/dW_dec[j] = (λ/B Σ_b f_bj) W_dec[j] / ‖W_dec[j]‖
    const lambda = sparsity.coefficient / B;
    for (let j = 0; j < dSae; j++) {
      const c = decNorm[j]! > 0 ? (lambda * this.fSum[j]!) / decNorm[j]! : 0;
      for (let i = 0; i < dIn; i++) g.W_dec[j * dIn + i]! += c * W_dec[j * dIn + i]!;
    }
  }
}
