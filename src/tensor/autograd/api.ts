// The per-tensor autograd calls behind Tensor's requiresGrad_() and retainGrad(), and the in-place writes
// (add_, set, copy_) on tensors that are part of a graph.
import { GradError } from "../../errors.js";
import { isFloat } from "../dtype.js";
import { fmtShape } from "../shape.js";
import type { BinaryOp } from "../../backend/types.js";
import type { TensorLike } from "../convert.js";
import { indexSet, type Index } from "../indexing.js";
import { asTensor, type Tensor } from "../tensor.js";
import { noGrad } from "./mode.js";
import { edgeOf, GradNode, setHistory, type Vjp } from "./tape.js";
import { setVjp } from "./vjp-index.js";

export function setRequiresGrad(t: Tensor, flag: boolean): void {
  if (t.gradFn && !flag) {
    throw new GradError(`requiresGrad_(false): this tensor was computed by ${t.gradFn.name}; only leaves can stop requiring grad (use detach())`);
  }
  if (flag && !isFloat(t.dtype)) throw new GradError(`requiresGrad_: only float tensors can require gradients, this one is ${t.dtype}`);
  t.requiresGrad = flag;
}

export function retainGrad(t: Tensor): void {
  if (!t.requiresGrad) throw new GradError("retainGrad: this tensor does not require grad");
  if (t.gradFn) t.gradFn.retained = t;
}

/** Refuses in-place writes autograd cannot follow: into a leaf that requires grad, or through a view. */
export function checkInPlace(t: Tensor, op: string): void {
  if (!t.requiresGrad) return;
  if (!t.gradFn) {
    throw new GradError(`${op}: in-place write into a leaf tensor that requires grad (shape ${fmtShape(t.shape)}); write inside noGrad(), or into a clone()`);
  }
  if (t.gradFn.isView) {
    throw new GradError(`${op}: in-place write into a view (made by ${t.gradFn.name}) of a tensor that requires grad; autograd cannot follow it into the viewed tensor: clone() the view first`);
  }
}

/** t op= o where t or o is in a graph: t's history becomes op(a copy of t's old value, o). */
export function inPlaceBinary(t: Tensor, op: BinaryOp, o: Tensor): void {
  checkInPlace(t, `${op}_`);
  const r = t.clone().binary(op, o);
  noGrad(() => { t.copy_(r); });
  if (r.gradFn) setHistory(t, r.gradFn);
}

/** t[idx] = value where t or value is in a graph. */
export function trackedSet(t: Tensor, idx: readonly Index[], value: TensorLike): void {
  const v = asTensor(value, t.dtype);
  rebase(t, "set", [v], setVjp(idx), () => indexSet(t, idx, v));
}

/** After `write()` changes t's elements in place, t's history becomes op(t before, ...others). */
function rebase(t: Tensor, op: string, others: readonly Tensor[], vjp: Vjp, write: () => void): void {
  checkInPlace(t, op);
  const inputs = [t, ...others];
  const edges = inputs.map((x) => edgeOf(x, op));
  const node = new GradNode(op, edges, inputs.map((x) => [...x.shape]), inputs.map((x) => x.dtype), t.shape, vjp, [], false);
  write();
  setHistory(t, node);
}
