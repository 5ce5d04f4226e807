// Vector-Jacobian products of reductions (sum, prod, max, min), cumsum, softmax / log-softmax, and the
// values of sort / topk.
import type { ReduceOp } from "../../backend/types.js";
import { GradError } from "../../errors.js";
import { zeros } from "../create.js";
import { fmtShape } from "../shape.js";
import { getBackend } from "../../backend/index.js";
import type { Tensor } from "../tensor.js";
import { emptyTensor, where } from "../tensor-ref.js";
import { hasNaN } from "./engine.js";
import { record } from "./tape.js";

/** g of a reduction's output, shown with the reduced dims kept (size 1) so it broadcasts over x's shape. */
function keepDims(g: Tensor, shape: readonly number[], red: readonly number[], keepdim: boolean): Tensor {
  return keepdim ? g : g.reshape(shape.map((s, d) => (red.includes(d) ? 1 : s)));
}

/** red: the reduced dims of x (normalised); out = op(x over red). One function per op, so that each vjp
 *  closes over only what it reads (closures made in one call share what any of them uses). */
export function trackReduce(op: ReduceOp, x: Tensor, out: Tensor, red: readonly number[], keepdim: boolean): Tensor {
  if (op === "sum") return trackSum(x, out, red, keepdim);
  if (op === "max" || op === "min") return trackExtreme(op, x, out, red, keepdim);
  if (op === "prod") return trackProd(x, out, red, keepdim);
  return out;
}

function trackSum(x: Tensor, out: Tensor, red: readonly number[], keepdim: boolean): Tensor {
  const shape = x.shape;
  return record("sum", [x], out, (g) => [keepDims(g, shape, red, keepdim).expand(shape)]);
}

function trackExtreme(op: "max" | "min", x: Tensor, out: Tensor, red: readonly number[], keepdim: boolean): Tensor {
  const shape = x.shape;
  return record(
    op,
    [x],
    out,
    (g) => {
      // the gradient is shared evenly by the elements that attain the extreme (torch's amax rule)
      const hit = x.eq(keepDims(out, shape, red, keepdim)).to(g.dtype);
      return [hit.mul(keepDims(g, shape, red, keepdim)).div(hit.sum([...red], true))];
    },
    { saved: [x, out] },
  );
}

function trackProd(x: Tensor, out: Tensor, red: readonly number[], keepdim: boolean): Tensor {
  const shape = x.shape;
  return record(
    "prod",
    [x],
    out,
    (g) => {
      if (x.eq(0).any().item())
        throw new GradError(
          `backward: prod over a ${fmtShape(shape)} tensor with zeros is not differentiable here; compute it as exp(log) or mask the zeros`,
        );
      return [keepDims(g.mul(out), shape, red, keepdim).div(x)];
    },
    { saved: [x, out] },
  );
}

/** y = cumsum(x, dim): dx_i = Σ_{j ≥ i} g_j. */
export function trackCumsum(x: Tensor, out: Tensor, dim: number): Tensor {
  return record("cumsum", [x], out, (g) => [g.sum(dim, true).sub(g.cumsum(dim)).add(g)]);
}

/** y = softmax(x) or log-softmax(x) along dim. A row that is all -inf (fully masked) has NaN outputs, as in
 *  torch; its gradient is zero, not NaN. */
export function trackSoftmax(x: Tensor, out: Tensor, dim: number, log: boolean): Tensor {
  return record(
    log ? "logSoftmax" : "softmax",
    [x],
    out,
    (g) => {
      const dead = fullyMasked(x, out);
      if (!dead) return [softmaxKernelGrad(out, g, dim, log)];
      if (log) {
        const p = (dead ? where(dead, -Infinity, out) : out).exp();
        const gx = g.sub(p.mul(g.sum(dim, true)));
        return [dead ? where(dead, 0, gx) : gx];
      }
      const y = dead ? where(dead, 0, out) : out;
      const gy = dead ? where(dead, 0, g) : g;
      return [y.mul(gy.sub(gy.mul(y).sum(dim, true)))];
    },
    { saved: [x, out] },
  );
}

/** The backend's fused softmax backward: y (out) and g made contiguous with dim last, as the forward ran. */
function softmaxKernelGrad(out: Tensor, g: Tensor, dim: number, log: boolean): Tensor {
  const y = out.movedim(dim, -1).contiguous();
  const gy = g.to(out.dtype).movedim(dim, -1).contiguous();
  const cols = y.shape[y.ndim - 1] ?? 1;
  const dx = emptyTensor(y.shape, y.dtype);
  if (y.numel > 0) {
    getBackend().softmaxBackward(
      y.dataSync() as Float32Array,
      gy.dataSync() as Float32Array,
      y.numel / cols,
      cols,
      dx.storage.data as Float32Array,
      log,
    );
  }
  return dx.movedim(-1, dim);
}

/** Where a softmax output is NaN because its row is all -inf; null when there is no such row (one scan of the
 *  output, which almost always has no NaN). */
function fullyMasked(x: Tensor, out: Tensor): Tensor | null {
  if (!hasNaN(out)) return null;
  const dead = out.isnan().logicalAnd(x.eq(-Infinity));
  return dead.any().item() !== 0 ? dead : null;
}

/** values = x gathered at indices along dim (sort, topk): the gradient scatters back, adding on repeats. */
export function trackTake(op: string, x: Tensor, values: Tensor, dim: number, indices: Tensor): Tensor {
  const shape = x.shape;
  return record(op, [x], values, (g) => [zeros(shape, g.dtype).scatter(dim, indices, g, "add")]);
}
