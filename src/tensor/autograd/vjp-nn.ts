// Vector-Jacobian products of the transformer's fused ops (src/tensor/nn-ops.ts): the attention mask, rotary
// embeddings and layer norm. (softmaxOrZero is softmax's own backward.)
import type { Tensor } from "../tensor.js";
import { emptyTensor } from "../tensor-ref.js";
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
 *  gradients add up at x): dx = (ĝ − mean ĝ − x̂·mean(ĝ·x̂)) / scale with ĝ = g·w (one pass per row,
 *  layerNormInputGrad), dw = Σ g·x̂, db = Σ g; and d scale / dx = x̂ / d. */
export function trackLayerNorm(x: Tensor, w: Tensor | null, b: Tensor | null, normalized: Tensor, scale: Tensor): void {
  const d = x.shape[x.ndim - 1]!;
  const xhat = (): Tensor => {
    const xf = x.to("float32");
    return xf.sub(xf.mean(-1, true)).div(scale); // [..., d]
  };
  const inputs = [x, ...(w ? [w] : []), ...(b ? [b] : [])];
  record(
    "layerNorm",
    inputs,
    normalized,
    (g, needs) => {
      const gx = needs[0] ? layerNormInputGrad(x, scale, w ? g.mul(w) : g) : null;
      // [..., d] gradients for w and b: the engine sums them over the leading dims
      return [gx, ...(w ? [needs[1] ? g.mul(xhat()) : null] : []), ...(b ? [g] : [])];
    },
    { saved: [x, scale] },
  );
  record("layerNorm scale", [x], scale, (g) => [g.mul(xhat()).div(d)], { saved: [x, scale] });
}

/** Layer norm's dx from x [..., d], scale [..., 1] and ĝ = g·w [..., d], row by row in float64: x̂ = (x − mean x) /
 *  scale, dx = (ĝ − mean ĝ − x̂·mean(ĝ·x̂)) / scale (the composed ops made ten [..., d] temporaries). → float32 [..., d] */
function layerNormInputGrad(x: Tensor, scale: Tensor, gh: Tensor): Tensor {
  const d = x.shape[x.ndim - 1]!;
  const xs = x.to("float32").dataSync() as Float32Array;
  const ss = scale.dataSync() as Float32Array;
  const gs = gh.to("float32").dataSync() as Float32Array;
  const out = emptyTensor(x.shape, "float32");
  const dx = out.storage.data as Float32Array;
  for (let r = 0, rows = d ? xs.length / d : 0; r < rows; r++) {
    const base = r * d;
    let sum = 0;
    for (let j = base; j < base + d; j++) sum += xs[j]!;
    const mean = sum / d;
    const inv = 1 / ss[r]!;
    let sumG = 0;
    let sumGx = 0;
    for (let j = base; j < base + d; j++) {
      sumG += gs[j]!;
      sumGx += gs[j]! * (xs[j]! - mean);
    }
    const meanG = sumG / d;
    const meanGx = (sumGx * inv) / d;
    for (let j = base; j < base + d; j++) dx[j] = (gs[j]! - meanG - (xs[j]! - mean) * inv * meanGx) * inv;
  }
  return out;
}
