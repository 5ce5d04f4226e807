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
    const rms = this.type === "RMS" || this.type === "RMSPre";
    const lead = x.shape.slice(0, -1);
    let centered = x;
    let scale: Tensor;
    if (!rms && !this.hookScale.hasHooks) {
      // fused: one pass gives (x - mean) / scale (and the affine for LN) plus the scale
      const xc = x.contiguous();
      const rows = xc.numel / this.d;
      const out = Tensor.empty(x.shape, "float32");
      const scaleOut = Tensor.empty([...lead, 1], "float32");
      getBackend().layerNorm(xc.dataSync() as Float32Array, rows, this.d, this.eps, this.type === "LN" ? (this.w!.contiguous().dataSync() as Float32Array) : null,
        this.type === "LN" ? (this.b!.contiguous().dataSync() as Float32Array) : null, out.storage.data as Float32Array, scaleOut.storage.data as Float32Array);
      await this.hookScale.run(scaleOut);
      return this.hookNormalized.run(out);
    }
    if (!rms) centered = x.sub(x.mean(-1, true));
    scale = centered.mul(centered).mean(-1, true).add(this.eps).sqrt();
    scale = await this.hookScale.run(scale);
    let y = centered.div(scale);
    if (rms) {
      y = await this.hookNormalized.run(y);
      return this.w ? y.mul(this.w) : y;
    }
    if (this.w) y = y.mul(this.w).add(this.b!);
    return this.hookNormalized.run(y);
  }
}
