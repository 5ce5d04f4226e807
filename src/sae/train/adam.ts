// Adam (Kingma & Ba, torch.optim.Adam's update with bias correction) over Float32Array parameters, in place.
import { SaeError } from "../errors.js";

export interface AdamOptions {
  /** default 0.9 */
  beta1?: number;
  /** default 0.999 */
  beta2?: number;
  /** default 1e-8 */
  eps?: number;
}

/** One parameter's moments. */
interface Slot {
  m: Float32Array;
  v: Float32Array;
}

/** torch.optim.Adam's update (bias-corrected moments, betas 0.9 / 0.999) over Float32Array parameters. */
export class Adam {
  private readonly slots = new Map<Float32Array, Slot>();
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  /** steps taken (for bias correction) */
  step = 0;

  constructor(params: readonly Float32Array[], o: AdamOptions = {}) {
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    if (!(this.beta1 >= 0 && this.beta1 < 1 && this.beta2 >= 0 && this.beta2 < 1 && this.eps > 0)) {
      throw new SaeError(
        `Adam: betas must lie in [0, 1) and eps be positive, got ${this.beta1}, ${this.beta2}, ${this.eps}`,
      );
    }
    for (const p of params) this.slots.set(p, { m: new Float32Array(p.length), v: new Float32Array(p.length) });
  }

  /** Starts a step: later `update` calls use this step's bias correction. */
  begin(): void {
    this.step++;
  }

  /** param -= lr · m̂ / (√v̂ + eps) with the moments updated from grad (same length as param). */
  update(param: Float32Array, grad: Float32Array, lr: number): void {
    const slot = this.slots.get(param);
    if (!slot) throw new SaeError("Adam.update: not one of the optimizer's parameters");
    const { m, v } = slot;
    const b1 = this.beta1,
      b2 = this.beta2,
      eps = this.eps;
    const c1 = 1 - b1 ** this.step,
      c2 = Math.sqrt(1 - b2 ** this.step);
    const stepSize = lr / c1;
    for (let i = 0; i < param.length; i++) {
      const g = grad[i]!;
      const mi = (m[i] = b1 * m[i]! + (1 - b1) * g);
      const vi = (v[i] = b2 * v[i]! + (1 - b2) * g * g);
      param[i]! -= (stepSize * mi) / (Math.sqrt(vi) / c2 + eps);
    }
  }

  /** Zeroes the moments of `count` elements of param from `start`, `stride` apart (a resampled feature's row or
   *  column). */
  resetElements(param: Float32Array, start: number, count: number, stride = 1): void {
    const slot = this.slots.get(param);
    if (!slot) throw new SaeError("Adam.resetElements: not one of the optimizer's parameters");
    for (let i = 0, j = start; i < count; i++, j += stride) slot.m[j] = slot.v[j] = 0;
  }
}
