// Conformance: elementwise unary and binary ops, where, clamp and dtype casts — native vs js on random
// shapes, broadcasting, non-contiguous views (permuted, stepped, reversed, offset, expanded), sizes 0 and 1,
// special values (±0, ±inf, NaN, halves for rounding, overflow) and every dtype an op accepts.
import { describe, expect, it } from "vitest";
import { where } from "../../src/tensor/tensor.js";
import {
  broadcastPartner,
  cases,
  cmpOp,
  desc,
  EPS32,
  EXACT,
  NATIVE_AVAILABLE,
  NATIVE_OPTIONAL,
  pick,
  randShape,
  randTensor,
  values,
  Tensor,
  type DType,
  type Tol,
  type ValueKind,
} from "./util.js";

describe("native backend", () => {
  it("is available (build it with `node scripts/build-native.mjs`; TLENS_SKIP_NATIVE=1 runs js-only)", () => {
    if (!NATIVE_OPTIONAL) expect(NATIVE_AVAILABLE).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------
// unary

type UnarySpec = { op: string; f: (t: Tensor) => Tensor; tol: Tol; domain?: ValueKind };

const ULP: Tol = { rtol: 2 * EPS32 };
const TRANS: Tol = { rtol: 1e-6, atol: 1e-7 };
const ACT: Tol = { rtol: 1e-6, atol: 1e-6 }; // activations with cancellation in their tails

const UNARY: UnarySpec[] = [
  { op: "neg", f: (t) => t.neg(), tol: EXACT },
  { op: "exp", f: (t) => t.exp(), tol: TRANS },
  { op: "log", f: (t) => t.log(), tol: TRANS, domain: "positive" },
  { op: "log1p", f: (t) => t.log1p(), tol: TRANS, domain: "positive" },
  { op: "expm1", f: (t) => t.expm1(), tol: TRANS },
  { op: "sqrt", f: (t) => t.sqrt(), tol: ULP, domain: "positive" },
  { op: "rsqrt", f: (t) => t.rsqrt(), tol: TRANS, domain: "positive" },
  { op: "tanh", f: (t) => t.tanh(), tol: TRANS },
  { op: "abs", f: (t) => t.abs(), tol: EXACT },
  { op: "sign", f: (t) => t.sign(), tol: EXACT },
  { op: "relu", f: (t) => t.relu(), tol: EXACT },
  { op: "sigmoid", f: (t) => t.sigmoid(), tol: TRANS },
  { op: "silu", f: (t) => t.silu(), tol: ACT },
  { op: "geluNew", f: (t) => t.geluNew(), tol: ACT },
  { op: "gelu", f: (t) => t.gelu(), tol: ACT },
  { op: "sin", f: (t) => t.sin(), tol: TRANS },
  { op: "cos", f: (t) => t.cos(), tol: TRANS },
  { op: "floor", f: (t) => t.floor(), tol: EXACT, domain: "halves" },
  { op: "ceil", f: (t) => t.ceil(), tol: EXACT, domain: "halves" },
  { op: "round", f: (t) => t.round(), tol: EXACT, domain: "halves" },
  { op: "square", f: (t) => t.square(), tol: EXACT },
  { op: "reciprocal", f: (t) => t.reciprocal(), tol: ULP },
  { op: "logicalNot", f: (t) => t.logicalNot(), tol: EXACT },
  { op: "isnan", f: (t) => t.isnan(), tol: EXACT },
  { op: "isinf", f: (t) => t.isinf(), tol: EXACT },
];

const DTYPES: DType[] = ["float32", "float32", "float32", "float64", "int32", "bool"];

describe("unary ops: native vs js", () => {
  for (const spec of UNARY) {
    it(spec.op, () => {
      cases(`unary ${spec.op}`, 24, (g) => {
        const dtype = pick(g, DTYPES);
        const shape = randShape(g);
        const x = randTensor(g, shape, dtype, { kind: spec.domain ?? pick(g, ["normal", "wide", "normal"] as const) });
        cmpOp(`${spec.op}(${desc(x)})`, [x], spec.f, spec.tol);
      });
    });
  }

  it("special values (±0, ±inf, NaN, huge, tiny, halves) on float32", () => {
    for (const spec of UNARY) {
      cases(`unary special ${spec.op}`, 6, (g) => {
        const x = randTensor(g, [g.int(1, 40)], "float32", { kind: "special" });
        // transcendental kernels may lose accuracy for |x| ≫ 1e4 only in sin/cos argument reduction
        const tol = spec.op === "sin" || spec.op === "cos" ? { ...spec.tol, atol: 1e-6 } : spec.tol;
        cmpOp(`${spec.op}(special ${desc(x)} = [${Array.from(values(x)).join(", ")}])`, [x], spec.f, tol);
      });
    }
  });

  it("large inputs (≥ 100K elements, the parallel paths), contiguous and strided", () => {
    for (const spec of UNARY) {
      cases(`unary large ${spec.op}`, 2, (g, i) => {
        const x =
          i === 0
            ? randTensor(g, [317, 331], "float32", { layout: "contiguous", kind: spec.domain ?? "wide" })
            : randTensor(g, [120, 5, 211], "float32", { layout: "mixed", kind: spec.domain ?? "wide" });
        cmpOp(`${spec.op}(large ${desc(x)})`, [x], spec.f, spec.tol);
      });
    }
  });

  it("result dtypes follow torch (float ops on ints give float32; bool arithmetic gives int32)", () => {
    const i = Tensor.fromTypedArray(new Int32Array([1, -2, 3]), [3]);
    const b = Tensor.fromTypedArray(new Uint8Array([1, 0, 1]), [3]);
    const checks: [Tensor, string][] = [
      [i.exp(), "float32"],
      [i.neg(), "int32"],
      [i.abs(), "int32"],
      [i.isnan(), "bool"],
      [b.neg(), "int32"],
      [b.logicalNot(), "bool"],
      [i.sqrt(), "float32"],
      [i.relu(), "int32"],
      [i.square(), "int32"],
    ];
    for (const [t, dtype] of checks) expect(t.dtype).toBe(dtype);
  });
});

// ---------------------------------------------------------------------------------------------------------
// binary

type BinarySpec = {
  op: string;
  f: (a: Tensor, b: Tensor | number) => Tensor;
  tol: Tol;
  nonzeroB?: boolean;
  intNonNegB?: boolean;
};

const BINARY: BinarySpec[] = [
  { op: "add", f: (a, b) => a.add(b), tol: EXACT },
  { op: "sub", f: (a, b) => a.sub(b), tol: EXACT },
  { op: "mul", f: (a, b) => a.mul(b), tol: EXACT },
  { op: "div", f: (a, b) => a.div(b), tol: ULP },
  { op: "pow", f: (a, b) => a.pow(b), tol: { rtol: 2e-6 }, intNonNegB: true },
  { op: "maximum", f: (a, b) => a.maximum(b), tol: EXACT },
  { op: "minimum", f: (a, b) => a.minimum(b), tol: EXACT },
  { op: "remainder", f: (a, b) => a.remainder(b), tol: { rtol: 1e-6, atol: 1e-5 }, nonzeroB: true },
  { op: "floorDivide", f: (a, b) => a.floorDivide(b), tol: EXACT, nonzeroB: true },
  { op: "eq", f: (a, b) => a.eq(b), tol: EXACT },
  { op: "ne", f: (a, b) => a.ne(b), tol: EXACT },
  { op: "lt", f: (a, b) => a.lt(b), tol: EXACT },
  { op: "le", f: (a, b) => a.le(b), tol: EXACT },
  { op: "gt", f: (a, b) => a.gt(b), tol: EXACT },
  { op: "ge", f: (a, b) => a.ge(b), tol: EXACT },
  { op: "logicalAnd", f: (a, b) => a.logicalAnd(b), tol: EXACT },
  { op: "logicalOr", f: (a, b) => a.logicalOr(b), tol: EXACT },
  { op: "logicalXor", f: (a, b) => a.logicalXor(b), tol: EXACT },
];

const PAIRS: [DType, DType][] = [
  ["float32", "float32"],
  ["float32", "float32"],
  ["float32", "float32"],
  ["float32", "float64"],
  ["float64", "float64"],
  ["float32", "int32"],
  ["int32", "float32"],
  ["int32", "int32"],
  ["bool", "bool"],
  ["int32", "bool"],
  ["bool", "float32"],
];

/** Makes b's values safe for the op: no integer division by zero, no negative integer powers. */
function fixOperand(spec: BinarySpec, b: Tensor): void {
  if (b.dtype !== "int32" && b.dtype !== "bool") return;
  const d = b.storage.data;
  for (let i = 0; i < d.length; i++) {
    if (spec.nonzeroB && d[i] === 0) d[i] = b.dtype === "bool" ? 1 : 3;
    if (spec.intNonNegB) d[i] = Math.abs(d[i]!) % 4;
  }
}

describe("binary ops: native vs js", () => {
  for (const spec of BINARY) {
    it(`${spec.op} (broadcasting, views, dtype pairs)`, () => {
      cases(`binary ${spec.op}`, 30, (g) => {
        const [da, db] = pick(g, PAIRS);
        const shape = randShape(g);
        const other = broadcastPartner(g, shape);
        const [sa, sb] = g.uniform() < 0.5 ? [shape, other] : [other, shape];
        const kind: ValueKind = pick(g, ["normal", "int-valued", "wide"] as const);
        const a = randTensor(g, sa, da, { kind: spec.op === "pow" ? "positive" : kind });
        const b = randTensor(g, sb, db, { kind: spec.op === "pow" ? "normal" : kind });
        fixOperand(spec, b);
        cmpOp(`${spec.op}(${desc(a, b)})`, [a, b], spec.f, spec.tol);
      });
    });
  }

  it("tensor ∘ scalar (int and fractional scalars, int/bool/float tensors)", () => {
    for (const spec of BINARY) {
      cases(`scalar ${spec.op}`, 10, (g) => {
        const dtype = pick(g, ["float32", "float32", "float64", "int32", "bool"] as const);
        const a = randTensor(g, randShape(g), dtype, { kind: spec.op === "pow" ? "positive" : "normal" });
        let s = pick(g, [0, 1, 2, -3, 0.5, -1.25, 3]);
        if (spec.nonzeroB && s === 0) s = 2;
        if (spec.op === "pow" && dtype !== "float32" && dtype !== "float64") s = Math.abs(Math.round(s));
        cmpOp(`${spec.op}(${desc(a)}, ${s})`, [a], (a) => spec.f(a, s), spec.tol);
      });
    }
  });

  it("special values on float32 (NaN propagation of maximum/minimum, inf arithmetic, comparisons with NaN)", () => {
    for (const spec of BINARY) {
      cases(`binary special ${spec.op}`, 6, (g) => {
        const n = g.int(1, 30);
        const a = randTensor(g, [n], "float32", { kind: "special" });
        const b = randTensor(g, [n], "float32", { kind: "special" });
        const tol = spec.op === "remainder" ? { rtol: 1e-6, atol: 1e-4 } : spec.tol;
        cmpOp(`${spec.op}([${Array.from(values(a))}], [${Array.from(values(b))}])`, [a, b], spec.f, tol);
      });
    }
  });

  it("large inputs (≥ 100K elements): same shape, scalar either side, row / column broadcast, transposed, strided", () => {
    const shapes: [number[], number[]][] = [
      [
        [400, 300],
        [400, 300],
      ],
      [[400, 300], [300]],
      [
        [300, 20, 20],
        [300, 1, 20],
      ],
      [[], [400, 300]],
      [[400, 300], []],
      [
        [400, 300],
        [400, 1],
      ],
      [
        [1, 300],
        [400, 1],
      ],
      [
        [400, 300],
        [400, 300],
      ],
    ];
    BINARY.forEach((spec, k) => {
      // three of the layouts per op, rotating, so that every layout meets several ops
      cases(`binary large ${spec.op}`, 3, (g, j) => {
        const i = (k * 3 + j) % shapes.length;
        const [sa, sb] = shapes[i]!;
        const layoutA = i === 2 ? "mixed" : i === 7 ? "permuted" : "contiguous";
        const layoutB = i === 2 || i === 7 ? "permuted" : "contiguous";
        const a = randTensor(g, sa, "float32", { layout: layoutA, kind: spec.op === "pow" ? "positive" : "normal" });
        const b = randTensor(g, sb, "float32", { layout: layoutB });
        cmpOp(`${spec.op}(large ${desc(a, b)})`, [a, b], spec.f, spec.tol);
      });
    });
  });

  it("broadcasting of size-0 and size-1 dims", () => {
    const shapes: [number[], number[]][] = [
      [[0], [1]],
      [[0, 3], [3]],
      [
        [2, 0, 3],
        [1, 1, 3],
      ],
      [[1], [0]],
      [[], [0, 2]],
      [[], []],
      [[1, 1], [1]],
      [
        [5, 1],
        [1, 4],
      ],
    ];
    cases("binary edge shapes", shapes.length, (g, i) => {
      const [sa, sb] = shapes[i]!;
      const a = randTensor(g, sa, "float32");
      const b = randTensor(g, sb, "float32");
      cmpOp(`add(${desc(a, b)})`, [a, b], (a, b) => a.add(b), EXACT);
      cmpOp(`lt(${desc(a, b)})`, [a, b], (a, b) => a.lt(b), EXACT);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// where, clamp, casts

describe("where, clamp, to(dtype): native vs js", () => {
  it("where(cond, a, b) with broadcasting of all three and scalar branches", () => {
    cases("where", 30, (g) => {
      const shape = randShape(g);
      const cond = randTensor(g, broadcastPartner(g, shape), pick(g, ["bool", "bool", "float32", "int32"] as const), {
        kind: "int-valued",
      });
      const a = randTensor(g, broadcastPartner(g, shape), pick(g, ["float32", "float64", "int32"] as const));
      const b =
        g.uniform() < 0.3
          ? pick(g, [0, -1.5, 7])
          : randTensor(g, shape, pick(g, ["float32", "int32", "bool"] as const));
      if (b instanceof Tensor) {
        cmpOp(`where(${desc(cond, a, b)})`, [cond, a, b], (c, x, y) => where(c, x, y), EXACT);
        cmpOp(`where(${desc(cond, b, a)})`, [cond, b, a], (c, x, y) => where(c, x, y), EXACT);
      } else {
        cmpOp(`where(${desc(cond, a, b)})`, [cond, a], (c, x) => where(c, x, b), EXACT);
        cmpOp(`where(${desc(cond, b, a)})`, [cond, a], (c, x) => where(c, b, x), EXACT);
      }
    });
  });

  it("clamp(min), clamp(max), clamp(min, max) with NaN inputs", () => {
    cases("clamp", 30, (g) => {
      const dtype = pick(g, ["float32", "float32", "float64", "int32"] as const);
      const x = randTensor(g, randShape(g), dtype, { kind: pick(g, ["normal", "special"] as const) });
      const lo = pick(g, [-1, -0.5, 0, undefined]);
      const hi = pick(g, [1, 0.5, 2, undefined]);
      cmpOp(`clamp(${desc(x)}, ${lo}, ${hi})`, [x], (x) => x.clamp(lo, hi), EXACT);
    });
  });

  it("to(dtype) between all dtypes, from views (float → int truncates toward zero)", () => {
    const dtypes: DType[] = ["float32", "float64", "int32", "bool"];
    cases("to", 48, (g, i) => {
      const from = dtypes[i % 4];
      const to = dtypes[Math.floor(i / 4) % 4]!;
      // floats in (-1e6, 1e6) with fractional parts: conversion to int32 is defined
      const x = randTensor(g, randShape(g), from, { kind: pick(g, ["wide", "halves", "normal"] as const) });
      cmpOp(`to(${desc(x)}, ${to})`, [x], (x) => x.to(to), EXACT);
      cmpOp(`contiguous(${desc(x)})`, [x], (x) => x.contiguous(), EXACT);
      cmpOp(`clone(${desc(x)})`, [x], (x) => x.clone(), EXACT);
    });
  });

  it("float64 → float32 rounding and float32 overflow to ±inf", () => {
    const x = Tensor.fromTypedArray(new Float64Array([1 + 2 ** -30, 1e39, -1e39, 1e-46, Math.PI, NaN, -0]), [7]);
    const js = cmpOp("to float32", [x], (x) => x.to("float32"), EXACT);
    expect(js.ok).toBe(true);
  });
});
