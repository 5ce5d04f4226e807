// LayerNorm / LNPre / RMSNorm / RMSPre with TransformerLens's hooks: hook_scale [..., 1] = sqrt(var + eps)
// and hook_normalized (TL 2.18: after the affine for LN, before the weight for RMS).
import { getBackend } from "../../backend/index.js";
import type { NormalizationType } from "../../loading/config.js";
import { Tensor, ones, zeros } from "../../tensor/index.js";
import { HookPoint } from "../hook-point.js";

export class Norm {
  readonly hookScale: HookPoint;
  readonly hookNormalized: HookPoint;
  /** [d_model] (LN and RMS only) */
  w: Tensor | null;
  /** [d_model] (LN only) */
  b: Tensor | null;

  constructor(readonly prefix: string, readonly type: Exclude<NormalizationType, null>, readonly d: number, readonly eps: number) {
    this.hookScale = new HookPoint(`${prefix}.hook_scale`);
    this.hookNormalized = new HookPoint(`${prefix}.hook_normalized`);
    this.w = type === "LN" || type === "RMS" ? ones([d]) : null;
    this.b = type === "LN" ? zeros([d]) : null;
  }

  get hookPoints(): HookPoint[] { return [this.hookScale, this.hookNormalized]; }

  params(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    if (this.w) out.push(["w", this.w]);
    if (this.b) out.push(["b", this.b]);
    return out;
  }

  /** x: [..., d] → [..., d] */
  async forward(x: Tensor): Promise<Tensor> {
    if (this.type === "RMS" || this.type === "RMSPre") return this.forwardRms(x);
    // fused: one pass gives (x - mean) / scale (and the affine for LN) plus the scale
    const xc = x.contiguous();
    const out = Tensor.empty(x.shape, "float32");
    const scaleOut = Tensor.empty([...x.shape.slice(0, -1), 1], "float32");
    getBackend().layerNorm(xc.dataSync() as Float32Array, xc.numel / this.d, this.d, this.eps, this.type === "LN" ? (this.w!.contiguous().dataSync() as Float32Array) : null,
      this.type === "LN" ? (this.b!.contiguous().dataSync() as Float32Array) : null, out.storage.data as Float32Array, scaleOut.storage.data as Float32Array);
    if (this.hookScale.onlyReaders) {
      await this.hookScale.run(scaleOut);
      return this.hookNormalized.run(out);
    }
    // a hook that leaves the scale as it was keeps the fused numbers, so cached runs equal uncached ones
    const given = scaleOut.clone();
    const scale = await this.hookScale.run(scaleOut);
    if (scale.equal(given)) return this.hookNormalized.run(out);
    const y = x.sub(x.mean(-1, true)).div(scale);
    return this.hookNormalized.run(this.w ? y.mul(this.w).add(this.b!) : y);
  }

  /** RMS / RMSPre: x / sqrt(mean(x²) + eps) (hook_normalized before the weight, as TL 2.18) */
  private async forwardRms(x: Tensor): Promise<Tensor> {
    const scale = await this.hookScale.run(x.mul(x).mean(-1, true).add(this.eps).sqrt());
    const y = await this.hookNormalized.run(x.div(scale));
    return this.w ? y.mul(this.w) : y;
  }
}
