// Vector-Jacobian products of the transformer's fused ops (src/tensor/nn-ops.ts): the attention mask, rotary
// embeddings and layer norm. (softmaxOrZero is softmax's own backward.)
import type { Tensor } from "../tensor.js";
import { record } from "./tape.js";

/** out = scores with -inf written where masked; zeroMasked(g) zeroes the same entries of a contiguous g. */
export function trackMask(scores: Tensor, out: Tensor, zeroMasked: (g: Tensor) => void): Tensor {
  return record("maskAttentionScores", [scores], out, (g) => {
    const gx = g.to("float32").clone(); // contiguous and ours to write
    zeroMasked(gx);
    return [gx];
  });
}

/** out = rotary(x); `transpose(g)` applies the transposed rotation. */
export function trackRotary(x: Tensor, out: Tensor, transpose: (g: Tensor) => Tensor): Tensor {
  return record("rotary", [x], out, (g) => [transpose(g)]);
}

/** normalized = x̂·w + b and scale = √(var + eps) over the last dim, x̂ = (x − mean) / scale, as two nodes (their
 *  gradients add up at x): dx = (ĝ − mean ĝ − x̂·mean(ĝ·x̂)) / scale with ĝ = g·w, dw = Σ g·x̂, db = Σ g; and
 *  d scale / dx = x̂ / d. */
export function trackLayerNorm(x: Tensor, w: Tensor | null, b: Tensor | null, normalized: Tensor, scale: Tensor): void {
  const d = x.shape[x.ndim - 1];
  const xhat = (): Tensor => {
    const xf = x.to("float32");
    return xf.sub(xf.mean(-1, true)).div(scale); // [..., d]
  };
  const inputs = [x, ...(w ? [w] : []), ...(b ? [b] : [])];
  record("layerNorm", inputs, normalized, (g, needs) => {
    const xh = xhat();
    const gh = w ? g.mul(w) : g;
    const gx = needs[0] ? gh.sub(gh.mean(-1, true)).sub(xh.mul(gh.mul(xh).mean(-1, true))).div(scale) : null;
    // [..., d] gradients for w and b: the engine sums them over the leading dims
    return [gx, ...(w ? [needs[1] ? g.mul(xh) : null] : []), ...(b ? [g] : [])];
  }, { saved: [x, scale] });
  record("layerNorm scale", [x], scale, (g) => [g.mul(xhat()).div(d)], { saved: [x, scale] });
}
