// The per-tensor autograd calls behind Tensor's requiresGrad_() and retainGrad(), and the in-place writes
// (add_, set, copy_) on tensors that are part of a graph.
import { GradError } from "../../errors.js";
import { isFloat } from "../dtype.js";
import { fmtShape } from "../shape.js";
import type { BinaryOp } from "../../backend/types.js";
import type { TensorLike } from "../convert.js";
import { indexSet, type Index } from "../indexing.js";
import type { Tensor } from "../tensor.js";
import { asTensor } from "../tensor-ref.js";
import { noGradSync } from "./mode.js";
import { edgeOf, GradNode, laidOver, replayView, setHistory, type ViewOf } from "./tape.js";
import { inPlaceVjp } from "./vjp-elementwise.js";
import { setVjp } from "./vjp-index.js";

export function setRequiresGrad(t: Tensor, flag: boolean): void {
  if (t.gradFn && !flag) {
    throw new GradError(
      `requiresGrad_(false): this tensor was computed by ${t.gradFn.name}; only leaves can stop requiring grad (use detach())`,
    );
  }
  if (flag && !isFloat(t.dtype))
    throw new GradError(`requiresGrad_: only float tensors can require gradients, this one is ${t.dtype}`);
  t.requiresGrad = flag;
}

export function retainGrad(t: Tensor): void {
  if (!t.requiresGrad) throw new GradError("retainGrad: this tensor does not require grad");
  if (t.gradFn) t.gradFn.retained = t;
}

/** t op= o where t or o is in a graph. A t made by an op (not a view, not a leaf) whose backward needs not its old
 *  value is written in place, its history one node more (the forward's `x.matmul(W).add_(b)`: no copy of it). */
export function inPlaceBinary(t: Tensor, op: BinaryOp, o: Tensor): void {
  const fast = t.gradFn && !t.gradFn.isView && INPLACE_OPS.has(op) ? inPlaceVjp(op, o) : null;
  if (!fast) {
    commit(t, `${op}_`, () => t.clone().binary(op, o));
    return;
  }
  const name = `${op}_`;
  const node = new GradNode(
    name,
    [edgeOf(t, name), edgeOf(o, name)],
    [t.shape, o.shape],
    [t.dtype, o.dtype],
    t.shape,
    fast.vjp,
    fast.saved,
    false,
  );
  noGradSync(() => {
    INPLACE_OPS.get(op)!(t, o);
  });
  setHistory(t, node);
}

/** The in-place ops inPlaceBinary writes directly. */
const INPLACE_OPS = new Map<BinaryOp, (t: Tensor, o: Tensor) => void>([
  [
    "add",
    (t, o) => {
      t.add_(o);
    },
  ],
  [
    "sub",
    (t, o) => {
      t.sub_(o);
    },
  ],
  [
    "mul",
    (t, o) => {
      t.mul_(o);
    },
  ],
  [
    "div",
    (t, o) => {
      t.div_(o);
    },
  ],
]);

/** t[idx] = value where t or value is in a graph. */
export function trackedSet(t: Tensor, idx: readonly Index[], value: TensorLike): void {
  const v = asTensor(value, t.dtype);
  commit(t, "set", () => {
    const r = t.clone();
    const edges = [edgeOf(r, "set"), edgeOf(v, "set")];
    const node = new GradNode("set", edges, [r.shape, v.shape], [r.dtype, v.dtype], r.shape, setVjp(idx), [], false);
    indexSet(r, idx, v);
    setHistory(r, node);
    return r;
  });
}

/** An in-place write through autograd: `compute()` gives t's new value as a recorded function of its old one;
 *  it is written into t, and t's history (and, for a view, its base's) becomes that function. */
function commit(t: Tensor, op: string, compute: () => Tensor): void {
  const fn = t.gradFn;
  if (t.requiresGrad && !fn) {
    throw new GradError(
      `${op}: in-place write into a leaf tensor that requires grad (shape ${fmtShape(t.shape)}); write inside noGradSync(), or into a clone()`,
    );
  }
  if (fn?.isView && !fn.viewOf) {
    throw new GradError(
      `${op}: in-place write into a view (made by ${fn.name}) whose elements repeat or cannot be traced back; clone() it first`,
    );
  }
  const viewOf = fn?.viewOf;
  if (viewOf && viewOf.base.requiresGrad && !viewOf.base.gradFn) {
    throw new GradError(
      `${op}: in-place write into a view (made by ${fn.name}) of a leaf tensor that requires grad; write inside noGradSync(), or into a clone()`,
    );
  }
  const r = compute();
  if (viewOf) {
    writeThroughView(t, viewOf, r, op);
    return;
  }
  writeInto(t, r);
  if (r.gradFn) setHistory(t, r.gradFn);
}

/** t's elements = r's, unrecorded. (A function of its own: an arrow here would make the vjp closures beside it
 *  keep t and r alive.) */
function writeInto(t: Tensor, r: Tensor): void {
  noGradSync(() => {
    t.copy_(r);
  });
}

/** Writes r into the view t: the base's history becomes "base with the view's elements replaced by r", and t
 *  is that view of the new base. */
function writeThroughView(t: Tensor, { base, replay }: ViewOf, r: Tensor, op: string): void {
  const edges = [edgeOf(base, op), edgeOf(r, op)];
  const node = new GradNode(
    `${op} (through a view)`,
    edges,
    [base.shape, r.shape],
    [base.dtype, r.dtype],
    base.shape,
    (g, needs) => {
      let gBase: Tensor | null = null;
      if (needs[0]) {
        gBase = g.clone();
        laidOver(gBase, replay).set([], 0);
      }
      return [gBase, needs[1] ? replay(g) : null];
    },
    [],
    false,
  );
  writeInto(t, r);
  setHistory(base, node);
  replayView(t, { base, replay });
}
