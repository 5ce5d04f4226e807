// LayerNorm / LNPre / RMSNorm / RMSPre with TransformerLens's hooks: hook_scale [..., 1] = sqrt(var + eps)
// and hook_normalized (TL 2.18: after the affine for LN, before the weight for RMS).
import type { HookedTransformerConfig, NormalizationType } from "../../loading/config.js";
import { layerNorm, ones, zeros, type Tensor } from "../../tensor/index.js";
import { HookPoint } from "../hook-point.js";
import type { RunContext } from "../run/context.js";

export class Norm {
  readonly hookScale: HookPoint;
  readonly hookNormalized: HookPoint;
  /** [d_model] (LN and RMS only) */
  w: Tensor | null;
  /** [d_model] (LN only) */
  b: Tensor | null;

  constructor(
    readonly prefix: string,
    readonly type: Exclude<NormalizationType, null>,
    readonly d: number,
    readonly eps: number,
  ) {
    this.hookScale = new HookPoint(`${prefix}.hook_scale`);
    this.hookNormalized = new HookPoint(`${prefix}.hook_normalized`);
    this.w = type === "LN" || type === "RMS" ? ones([d]) : null;
    this.b = type === "LN" ? zeros([d]) : null;
  }

  get hookPoints(): HookPoint[] {
    return [this.hookScale, this.hookNormalized];
  }

  params(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    if (this.w) out.push(["w", this.w]);
    if (this.b) out.push(["b", this.b]);
    return out;
  }

  /** x [..., d] → [..., d] */
  async forward(x: Tensor, ctx: RunContext): Promise<Tensor> {
    if (this.type === "RMS" || this.type === "RMSPre") return this.forwardRms(x, ctx);
    // fused: one pass gives (x - mean) / scale (and the affine for LN) plus the scale
    const { normalized, scale: fusedScale } = layerNorm(x, this.w, this.b, this.eps);
    // readers (a cache) see the fused scale and keep the fused numbers; a hook that may edit the scale gets TL's
    // composition, normalised by whatever scale it returns
    if (ctx.onlyReaders(this.hookScale)) {
      await this.hookScale.run(fusedScale, ctx);
      return this.hookNormalized.run(normalized, ctx);
    }
    const scale = await this.hookScale.run(fusedScale, ctx);
    const y = x.sub(x.mean(-1, true)).div(scale);
    return this.hookNormalized.run(this.w ? y.mul(this.w).add(this.b!) : y, ctx);
  }

  /** RMS / RMSPre: x [..., d] / sqrt(mean(x²) + eps) (hook_normalized before the weight, as TL 2.18) */
  private async forwardRms(x: Tensor, ctx: RunContext): Promise<Tensor> {
    const scale = await this.hookScale.run(x.mul(x).mean(-1, true).add(this.eps).sqrt(), ctx);
    const y = await this.hookNormalized.run(x.div(scale), ctx);
    return this.w ? y.mul(this.w) : y;
  }
}

/** TL's ln_final: final_rms turns a LayerNorm model's final norm into RMSNorm (LNPre → RMSPre). */
export function finalNormType(cfg: HookedTransformerConfig): NormalizationType {
  if (!cfg.finalRms) return cfg.normalizationType;
  return cfg.normalizationType === "LN" ? "RMS" : cfg.normalizationType === "LNPre" ? "RMSPre" : cfg.normalizationType;
}
