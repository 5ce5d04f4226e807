// SAELens's run-time activation normalisation: the map into the SAE's space and the way back out.
import type { Tensor } from "../tensor/index.js";
import type { NormalizeActivations } from "./config.js";

export interface Normalizer {
  /** the normalised input [..., d_in] */
  x: Tensor;
  /** undoes the normalisation on a reconstruction [..., d_in] */
  out(recons: Tensor): Tensor;
}

/** "constant_norm_rescale": x·c with c = √d_in / ‖x‖ per token, out /c. "layer_norm": (x − μ)/(σ + 1e-5) with σ the
 *  Bessel-corrected std of x − μ, out ·σ + μ (no eps). "none" and "expected_average_only_in" (a training-time
 *  factor that SAELens's SAE ignores at inference): identity. */
export function normalizer(mode: NormalizeActivations, x: Tensor): Normalizer {
  if (mode === "constant_norm_rescale") {
    const c = x
      .norm(-1, true)
      .reciprocal()
      .mul(Math.sqrt(x.shape.at(-1) as number)); // [..., 1]
    return { x: x.mul(c), out: (r) => r.div(c) };
  }
  if (mode === "layer_norm") {
    const mu = x.mean(-1, true); // [..., 1]
    const centred = x.sub(mu);
    const std = centred.std(-1, true); // [..., 1]
    return { x: centred.div(std.add(1e-5)), out: (r) => r.mul(std).add(mu) };
  }
  return { x, out: (r) => r };
}
