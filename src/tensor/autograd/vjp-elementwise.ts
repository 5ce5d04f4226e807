// Vector-Jacobian products of the elementwise ops (Tensor.unary / binary / where). Broadcasting needs no care
// here: the engine sums each input gradient back to its input's shape.
import type { BinaryOp, UnaryOp } from "../../backend/types.js";
import { getBackend } from "../../backend/index.js";
import type { Tensor } from "../tensor.js";
import { emptyTensor, where } from "../tensor-ref.js";
import { record, type Vjp } from "./tape.js";

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** d out / d x times g, from x, out = op(x) and g; null for ops whose derivative is zero almost everywhere. */
type UnaryGrad = (x: Tensor, out: Tensor, g: Tensor) => Tensor | null;

const UNARY_GRADS: Partial<Record<UnaryOp, UnaryGrad>> = {
  neg: (_x, _y, g) => g.neg(),
  exp: (_x, y, g) => g.mul(y),
  log: (x, _y, g) => g.div(x),
  log1p: (x, _y, g) => g.div(x.add(1)),
  expm1: (_x, y, g) => g.mul(y.add(1)),
  sqrt: (_x, y, g) => g.div(y.mul(2)),
  rsqrt: (_x, y, g) => g.mul(y.mul(y).mul(y)).mul(-0.5),
  tanh: (_x, y, g) => g.mul(y.mul(y).neg().add(1)),
  abs: (x, _y, g) => g.mul(x.sign()),
  relu: (x, _y, g) => where(x.gt(0), g, 0),
  sigmoid: (_x, y, g) => g.mul(y.mul(y.neg().add(1))),
  silu: (x, _y, g) => {
    const s = x.sigmoid();
    return g.mul(s.mul(x.mul(s.neg().add(1)).add(1)));
  },
  gelu_new: geluNewGrad,
  gelu: (x, y, g) => {
    // Φ(x) + x φ(x); Φ(x) = gelu(x) / x away from 0
    const cdf = where(x.eq(0), 0.5, y.div(x));
    return g.mul(cdf.add(x.mul(x.mul(x).mul(-0.5).exp()).mul(INV_SQRT_2PI)));
  },
  sin: (x, _y, g) => g.mul(x.cos()),
  cos: (x, _y, g) => g.mul(x.sin()).neg(),
  square: (x, _y, g) => g.mul(x).mul(2),
  reciprocal: (_x, y, g) => g.mul(y.mul(y)).neg(),
};

/** gelu_new's backward in one kernel (the composed form is ~18 elementwise passes). */
function geluNewGrad(x: Tensor, _y: Tensor, g: Tensor): Tensor {
  const xc = x.contiguous();
  const gc = g.to(x.dtype).contiguous();
  const out = emptyTensor(x.shape, x.dtype);
  getBackend().geluNewBackward(
    xc.dataSync() as Float32Array,
    gc.dataSync() as Float32Array,
    out.storage.data as Float32Array,
  );
  return out;
}

/** Ops whose backward reads x (the others read only the output, or nothing: neg). */
const READS_X: ReadonlySet<UnaryOp> = new Set<UnaryOp>([
  "log",
  "log1p",
  "abs",
  "relu",
  "silu",
  "gelu_new",
  "gelu",
  "sin",
  "cos",
  "square",
]);
const READS_OUT: ReadonlySet<UnaryOp> = new Set<UnaryOp>([
  "exp",
  "expm1",
  "sqrt",
  "rsqrt",
  "tanh",
  "sigmoid",
  "reciprocal",
  "gelu",
]);

// The vjps below close over `kept`, which holds only what backward reads: a closure over x and out themselves
// would keep both alive as long as the graph.

export function trackUnary(op: UnaryOp, x: Tensor, out: Tensor): Tensor {
  const grad = UNARY_GRADS[op];
  const kept = { x: READS_X.has(op) ? x : null, out: READS_OUT.has(op) ? out : null };
  const saved = [kept.x, kept.out].filter((t): t is Tensor => t !== null);
  return record(op, [x], out, (g) => [grad ? grad(kept.x!, kept.out!, g) : null], { saved });
}

type BinaryGrad = (
  a: Tensor,
  b: Tensor,
  out: Tensor,
  g: Tensor,
  needs: readonly boolean[],
) => readonly (Tensor | null)[];

/** maximum/minimum: the gradient goes to the chosen side, split evenly on ties (as torch). */
const pick =
  (op: "gt" | "lt") =>
  (a: Tensor, b: Tensor, _y: Tensor, g: Tensor): readonly Tensor[] => {
    const share = where(a.eq(b), 0.5, where(a[op](b), 1, 0));
    return [g.mul(share), g.mul(share.neg().add(1))];
  };

const BINARY_GRADS: Partial<Record<BinaryOp, BinaryGrad>> = {
  add: (_a, _b, _y, g) => [g, g],
  sub: (_a, _b, _y, g) => [g, g.neg()],
  mul: (a, b, _y, g, needs) => [needs[0] ? g.mul(b) : null, needs[1] ? g.mul(a) : null],
  div: (_a, b, y, g, needs) => [needs[0] ? g.div(b) : null, needs[1] ? g.mul(y).div(b).neg() : null],
  pow: (a, b, y, g, needs) => [
    needs[0] ? where(b.eq(0), 0, g.mul(b).mul(a.pow(b.sub(1)))) : null,
    // d/db a^b = a^b log a; 0 where a = 0 and b ≥ 0 (torch)
    needs[1] ? where(a.eq(0).logicalAnd(b.ge(0)), 0, g.mul(y).mul(a.log())) : null,
  ],
  maximum: pick("gt"),
  minimum: pick("lt"),
  atan2: (a, b, _y, g) => {
    const r2 = a.mul(a).add(b.mul(b));
    return [g.mul(b).div(r2), g.mul(a).div(r2).neg()];
  },
  remainder: (a, b, _y, g, needs) => [g, needs[1] ? g.mul(a.div(b).floor()).neg() : null],
};

/** What each op's backward reads, of a, b and the output: those must not be overwritten before backward. */
const READS: Partial<Record<BinaryOp, readonly ("a" | "b" | "out")[]>> = {
  mul: ["a", "b"],
  div: ["b", "out"],
  pow: ["a", "b", "out"],
  maximum: ["a", "b"],
  minimum: ["a", "b"],
  atan2: ["a", "b"],
  remainder: ["a", "b"],
};

export function trackBinary(op: BinaryOp, a: Tensor, b: Tensor, out: Tensor): Tensor {
  const grad = BINARY_GRADS[op];
  const reads = READS[op] ?? [];
  const kept = {
    a: reads.includes("a") ? a : null,
    b: reads.includes("b") ? b : null,
    out: reads.includes("out") ? out : null,
  };
  const saved = [kept.a, kept.b, kept.out].filter((t): t is Tensor => t !== null);
  return record(op, [a, b], out, (g, needs) => (grad ? grad(kept.a!, kept.b!, kept.out!, g, needs) : [null, null]), {
    saved,
  });
}

/** where(cond, a, b): the gradient flows to a where cond holds, to b elsewhere. */
export function trackWhere(cond: Tensor, a: Tensor, b: Tensor, out: Tensor): Tensor {
  return record(
    "where",
    [a, b],
    out,
    (g, needs) => [needs[0] ? where(cond, g, 0) : null, needs[1] ? where(cond, 0, g) : null],
    { saved: [cond] },
  );
}

/** The backward of `t op= o` done over t itself, or null where it would read t's overwritten value: add and sub
 *  always, mul and div when o needs no gradient (then they read only o, which they save). */
export function inPlaceVjp(op: BinaryOp, o: Tensor): { vjp: Vjp; saved: Tensor[] } | null {
  if (op === "add") return { vjp: (g) => [g, g], saved: [] };
  if (op === "sub") return { vjp: (g, needs) => [g, needs[1] ? g.neg() : null], saved: [] };
  if (o.requiresGrad) return null;
  if (op === "mul") return { vjp: (g) => [g.mul(o), null], saved: [o] };
  if (op === "div") return { vjp: (g) => [g.div(o), null], saved: [o] };
  return null;
}
