// Vector-Jacobian products of reductions (sum, prod, max, min), cumsum, softmax / log-softmax, and the
// values of sort / topk.
import type { ReduceOp } from "../../backend/types.js";
import { GradError } from "../../errors.js";
import { zeros } from "../create.js";
import { where, type Tensor } from "../tensor.js";
import { record } from "./tape.js";

/** g of a reduction's output, shown with the reduced dims kept (size 1) so it broadcasts over x. */
function keepDims(g: Tensor, x: Tensor, red: readonly number[], keepdim: boolean): Tensor {
  return keepdim ? g : g.reshape(x.shape.map((s, d) => (red.includes(d) ? 1 : s)));
}

/** red: the reduced dims of x (normalised); out = op(x over red). */
export function trackReduce(op: ReduceOp, x: Tensor, out: Tensor, red: readonly number[], keepdim: boolean): Tensor {
  if (op === "sum") return record("sum", [x], out, (g) => [keepDims(g, x, red, keepdim).expand(x.shape)]);
  if (op === "max" || op === "min") {
    return record(op, [x], out, (g) => {
      // the gradient is shared evenly by the elements that attain the extreme (torch's amax rule)
      const hit = x.eq(keepDims(out, x, red, keepdim)).to(g.dtype);
      return [hit.mul(keepDims(g, x, red, keepdim)).div(hit.sum([...red], true))];
    }, { saved: [x, out] });
  }
  if (op === "prod") {
    return record("prod", [x], out, (g) => {
      if (x.eq(0).any().item()) throw new GradError(`backward: prod over a ${x.shape.join("×")} tensor with zeros is not differentiable here; compute it as exp(log) or mask the zeros`);
      return [keepDims(g.mul(out), x, red, keepdim).div(x)];
    }, { saved: [x, out] });
  }
  return out;
}

/** y = cumsum(x, dim): dx_i = Σ_{j ≥ i} g_j. */
export function trackCumsum(x: Tensor, out: Tensor, dim: number): Tensor {
  return record("cumsum", [x], out, (g) => [g.sum(dim, true).sub(g.cumsum(dim)).add(g)]);
}

/** y = softmax(x) or log-softmax(x) along dim. A row that is all -inf (fully masked) has NaN outputs, as in
 *  torch; its gradient is zero, not NaN. */
export function trackSoftmax(x: Tensor, out: Tensor, dim: number, log: boolean): Tensor {
  return record(log ? "logSoftmax" : "softmax", [x], out, (g) => {
    const dead = out.isnan().logicalAnd(x.eq(-Infinity));
    const masked = dead.any().item() !== 0;
    if (log) {
      const p = (masked ? where(dead, -Infinity, out) : out).exp();
      const gx = g.sub(p.mul(g.sum(dim, true)));
      return [masked ? where(dead, 0, gx) : gx];
    }
    const y = masked ? where(dead, 0, out) : out;
    const gy = masked ? where(dead, 0, g) : g;
    return [y.mul(gy.sub(gy.mul(y).sum(dim, true)))];
  }, { saved: [x, out] });
}

/** values = x gathered at indices along dim (sort, topk): the gradient scatters back, adding on repeats. */
export function trackTake(op: string, x: Tensor, values: Tensor, dim: number, indices: Tensor): Tensor {
  return record(op, [x], values, (g) => [zeros(x.shape, g.dtype).scatter(dim, indices, g, "add")]);
}
