// Conformance: reductions (with dims, negative dims, keepdim, empty and size-1 dims, views), argmax/argmin
// tie-breaking and NaN handling, var/std/norm/logsumexp, cumsum, softmax/logSoftmax over any dim — native vs js.
import { describe, it } from "vitest";
import {
  cases,
  cmpOp,
  desc,
  EPS32,
  EXACT,
  pick,
  randShape,
  randTensor,
  Tensor,
  type DType,
  type Tol,
  type ValueKind,
} from "./util.js";
import type { Generator } from "../../src/tensor/random.js";

/** A random subset of dims (as negative or positive numbers), or undefined (= all) now and then. */
function randDims(g: Generator, rank: number): number[] | number | undefined {
  const r = g.uniform();
  if (r < 0.15) return undefined;
  if (rank === 0) return r < 0.5 ? undefined : pick(g, [0, -1]);
  const dims = [...Array(rank).keys()].filter(() => g.uniform() < 0.5);
  if (dims.length === 0) dims.push(g.int(0, rank));
  const signed = dims.map((d) => (g.uniform() < 0.3 ? d - rank : d));
  return signed.length === 1 && g.uniform() < 0.5 ? signed[0] : signed;
}

function oneDim(g: Generator, rank: number): number | undefined {
  if (g.uniform() < 0.2) return undefined;
  const r = Math.max(rank, 1);
  const d = g.int(0, r);
  return g.uniform() < 0.3 ? d - r : d;
}

/** Tolerance for sums: a few ulps of the sum of |x| over the reduced elements, times √n. */
function sumTol(x: Tensor, dims: number[] | number | undefined, keepdim: boolean): Tol {
  const absSum = x.to("float64").abs().sum(dims, keepdim);
  const n = Math.max(1, x.numel / Math.max(1, absSum.numel));
  return { rtol: 2 * EPS32, scale: absSum.dataSync(), scaleTol: 4 * EPS32 * Math.sqrt(n) };
}

const DTYPES: DType[] = ["float32", "float32", "float32", "float64", "int32", "bool"];
const KINDS: ValueKind[] = ["normal", "int-valued", "wide"];

describe("reductions: native vs js", () => {
  it("sum(dims, keepdim)", () => {
    cases("sum", 60, (g) => {
      const x = randTensor(g, randShape(g), pick(g, DTYPES), { kind: pick(g, KINDS) });
      const dims = randDims(g, x.ndim);
      const keep = g.uniform() < 0.5;
      cmpOp(
        `sum(${desc(x)}, dims ${JSON.stringify(dims)}, keepdim ${keep})`,
        [x],
        (x) => x.sum(dims, keep),
        sumTol(x, dims, keep),
      );
    });
  });

  it("mean(dims, keepdim)", () => {
    cases("mean", 40, (g) => {
      const x = randTensor(g, randShape(g), pick(g, DTYPES), { kind: pick(g, KINDS) });
      const dims = randDims(g, x.ndim);
      const keep = g.uniform() < 0.5;
      cmpOp(`mean(${desc(x)}, dims ${JSON.stringify(dims)}, keepdim ${keep})`, [x], (x) => x.mean(dims, keep), {
        rtol: 4 * EPS32,
        atol: 1e-6,
      });
    });
  });

  it("prod(dims, keepdim)", () => {
    cases("prod", 40, (g) => {
      const dtype = pick(g, ["float32", "float32", "float64", "int32", "bool"] as const);
      const x = randTensor(g, randShape(g, { maxSize: 4, maxRank: 3 }), dtype, {
        kind: pick(g, ["normal", "int-valued"] as const),
      });
      if (dtype === "int32") for (let i = 0; i < x.storage.data.length; i++) x.storage.data[i] = x.storage.data[i]! % 3;
      const dims = randDims(g, x.ndim);
      const keep = g.uniform() < 0.5;
      cmpOp(`prod(${desc(x)}, dims ${JSON.stringify(dims)}, keepdim ${keep})`, [x], (x) => x.prod(dims, keep), {
        rtol: 1e-5,
      });
    });
  });

  it("max/min/amax/amin (values), with ties and NaN", () => {
    cases("max-min", 60, (g) => {
      const x = randTensor(g, randShape(g), pick(g, DTYPES), { kind: pick(g, [...KINDS, "special"]) });
      const keep = g.uniform() < 0.5;
      const d = oneDim(g, x.ndim);
      const dims = randDims(g, x.ndim);
      cmpOp(`max(${desc(x)}, ${d}, ${keep})`, [x], (x) => x.max(d, keep), EXACT);
      cmpOp(`min(${desc(x)}, ${d}, ${keep})`, [x], (x) => x.min(d, keep), EXACT);
      cmpOp(`amax(${desc(x)}, ${JSON.stringify(dims)}, ${keep})`, [x], (x) => x.amax(dims, keep), EXACT);
      cmpOp(`amin(${desc(x)}, ${JSON.stringify(dims)}, ${keep})`, [x], (x) => x.amin(dims, keep), EXACT);
    });
  });

  it("argmax/argmin: first index on ties, NaN wins, flat index without dim", () => {
    cases("argmax", 80, (g) => {
      const x = randTensor(g, randShape(g), pick(g, DTYPES), {
        kind: pick(g, ["int-valued", "int-valued", "normal", "special"] as const),
      });
      const keep = g.uniform() < 0.5;
      const d = oneDim(g, x.ndim);
      cmpOp(`argmax(${desc(x)}, ${d}, ${keep})`, [x], (x) => x.argmax(d, keep), EXACT);
      cmpOp(`argmin(${desc(x)}, ${d}, ${keep})`, [x], (x) => x.argmin(d, keep), EXACT);
    });
  });

  it("any/all on float, int and bool (dims, keepdim, empty dims)", () => {
    cases("any-all", 40, (g) => {
      const x = randTensor(g, randShape(g), pick(g, DTYPES), { kind: pick(g, ["int-valued", "special"] as const) });
      const dims = randDims(g, x.ndim);
      const keep = g.uniform() < 0.5;
      cmpOp(`any(${desc(x)}, ${JSON.stringify(dims)}, ${keep})`, [x], (x) => x.any(dims, keep), EXACT);
      cmpOp(`all(${desc(x)}, ${JSON.stringify(dims)}, ${keep})`, [x], (x) => x.all(dims, keep), EXACT);
    });
  });

  it("var/std (correction 0, 1), norm (p = 1, 2, 3, inf), logsumexp", () => {
    cases("var-std-norm-lse", 50, (g) => {
      const x = randTensor(
        g,
        randShape(g, { allowZero: false }),
        pick(g, ["float32", "float32", "float64", "int32"] as const),
        { kind: pick(g, KINDS) },
      );
      const dims = randDims(g, x.ndim);
      const keep = g.uniform() < 0.5;
      const corr = pick(g, [0, 1]);
      const p = pick(g, [1, 2, 3, Infinity]);
      const tol: Tol = { rtol: 1e-5, atol: 1e-6 };
      const s = `${desc(x)}, ${JSON.stringify(dims)}, keepdim ${keep}`;
      cmpOp(`var(${s}, correction ${corr})`, [x], (x) => x.var(dims, keep, corr), tol);
      cmpOp(`std(${s}, correction ${corr})`, [x], (x) => x.std(dims, keep, corr), tol);
      cmpOp(`norm(${s}, p ${p})`, [x], (x) => x.norm(dims, keep, p), tol);
      if (dims !== undefined) cmpOp(`logsumexp(${s})`, [x], (x) => x.logsumexp(dims, keep), tol);
    });
  });

  it("logsumexp with -inf slices and +inf", () => {
    const x = Tensor.fromTypedArray(new Float32Array([-Infinity, -Infinity, 1, 2, Infinity, 0, NaN, 1]), [4, 2]);
    cmpOp("logsumexp(special, 1)", [x], (x) => x.logsumexp(1), { rtol: 1e-6 });
    cmpOp("logsumexp(special, 0)", [x], (x) => x.logsumexp(0), { rtol: 1e-6 });
  });

  it("cumsum over any dim", () => {
    cases("cumsum", 30, (g) => {
      // (empty views are covered in process.test.ts: they hang cumsum)
      const x = randTensor(g, randShape(g, { minRank: 1, allowZero: false }), pick(g, DTYPES), {
        kind: pick(g, KINDS),
      });
      const d = g.int(-x.ndim, x.ndim);
      cmpOp(`cumsum(${desc(x)}, ${d})`, [x], (x) => x.cumsum(d), { rtol: 1e-5, atol: 1e-5 });
    });
  });

  it("empty reductions: sum → 0, prod → 1, any → false, all → true, max/argmax → error", () => {
    cases(
      "empty reductions",
      12,
      (g) => {
        const shape = pick(g, [[0], [3, 0], [0, 4, 2], [2, 0, 3]]);
        const x = randTensor(g, shape, pick(g, ["float32", "int32", "bool"] as const));
        const zeroDim = shape.indexOf(0);
        const other = shape.findIndex((s) => s !== 0);
        for (const [name, f] of [
          ["sum", (x) => x.sum(zeroDim)],
          ["prod", (x) => x.prod(zeroDim)],
          ["any", (x) => x.any(zeroDim)],
          ["all", (x) => x.all(zeroDim)],
          ["sum all", (x) => x.sum()],
          ["max", (x) => x.max(zeroDim)],
          ["argmax", (x) => x.argmax(zeroDim)],
          ["amin", (x) => x.amin()],
          ["mean", (x) => x.mean(zeroDim)],
          ["max other", (x) => (other >= 0 ? x.max(other) : x.sum())],
          ["argmax other", (x) => (other >= 0 ? x.argmax(other, true) : x.sum())],
        ] as [string, (x: Tensor) => Tensor][])
          cmpOp(`${name}(${desc(x)})`, [x], f, EXACT);
      },
      { maxThrowRatio: 0.5 },
    );
  });

  it("large inputs (≥ 100K elements): inner, outer (column) and middle reductions, strided", () => {
    cases("reduce large", 6, (g, i) => {
      const x = randTensor(g, [64, 40, 50], "float32", { layout: i < 3 ? "contiguous" : "mixed", kind: "normal" });
      const dims = [[2], [0], [1], [0, 2], [1, 2], [0, 1]][i]!;
      for (const keep of [false, true]) {
        cmpOp(`sum(large ${desc(x)}, ${dims})`, [x], (x) => x.sum(dims, keep), sumTol(x, dims, keep));
        cmpOp(`amax(large ${desc(x)}, ${dims})`, [x], (x) => x.amax(dims, keep), EXACT);
        cmpOp(`amin(large ${desc(x)}, ${dims})`, [x], (x) => x.amin(dims, keep), EXACT);
        cmpOp(`mean(large ${desc(x)}, ${dims})`, [x], (x) => x.mean(dims, keep), { rtol: 1e-5, atol: 1e-6 });
      }
      if (dims.length === 1) {
        cmpOp(`argmax(large ${desc(x)}, ${dims[0]})`, [x], (x) => x.argmax(dims[0]), EXACT);
        cmpOp(`argmin(large ${desc(x)}, ${dims[0]})`, [x], (x) => x.argmin(dims[0]), EXACT);
        cmpOp(`max(large ${desc(x)}, ${dims[0]})`, [x], (x) => x.max(dims[0]), EXACT);
      }
      cmpOp(`sum all (large ${desc(x)})`, [x], (x) => x.sum(), sumTol(x, undefined, false));
      cmpOp(`argmax all (large ${desc(x)})`, [x], (x) => x.argmax(), EXACT);
    });
  });

  it("large argmax with ties across the parallel split (first index must win)", () => {
    const n = 1 << 18;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = i % 1000 === 7 ? 5 : i % 3; // max 5 first at 7, repeated later
    const x = Tensor.fromTypedArray(data, [n]);
    cmpOp("argmax(ties, 262144)", [x], (x) => x.argmax(), EXACT);
    cmpOp("argmax(ties rows)", [x], (x) => x.reshape(4, -1).argmax(1), EXACT);
    const y = Tensor.fromTypedArray(new Float32Array(n).fill(1), [n]);
    cmpOp("argmax(all equal)", [y], (y) => y.argmax(), EXACT);
    cmpOp("argmin(all equal)", [y], (y) => y.argmin(), EXACT);
    const z = Tensor.fromTypedArray(new Float32Array(n).fill(-1), [512, 512]);
    z.storage.data[300 * 512 + 400] = NaN;
    z.storage.data[300 * 512 + 500] = NaN;
    cmpOp("argmax(NaN)", [z], (z) => z.argmax(), EXACT);
    cmpOp("argmax(NaN, dim 0)", [z], (z) => z.argmax(0), EXACT);
    cmpOp("max(NaN, dim 1)", [z], (z) => z.max(1), EXACT);
    cmpOp("amax(NaN)", [z], (z) => z.amax(), EXACT);
  });
});

describe("softmax / logSoftmax: native vs js", () => {
  const SM: Tol = { rtol: 1e-6, atol: 1e-7 };
  const LSM: Tol = { rtol: 1e-6, atol: 2e-6 };

  it("over any dim of random shapes and views", () => {
    cases("softmax", 60, (g) => {
      const x = randTensor(
        g,
        randShape(g, { minRank: 1 }),
        pick(g, ["float32", "float32", "float32", "float64", "int32"] as const),
        { kind: pick(g, ["normal", "wide", "int-valued"] as const) },
      );
      const d = g.int(-x.ndim, x.ndim);
      cmpOp(`softmax(${desc(x)}, ${d})`, [x], (x) => x.softmax(d), SM);
      cmpOp(`logSoftmax(${desc(x)}, ${d})`, [x], (x) => x.logSoftmax(d), LSM);
    });
  });

  it("special values: -inf entries, rows of all -inf (NaN), +inf, NaN, huge logits", () => {
    cases("softmax special", 20, (g) => {
      const x = randTensor(g, [g.int(1, 6), g.int(1, 9)], "float32", { kind: "special" });
      cmpOp(`softmax(special ${desc(x)}: ${Array.from(x.contiguous().dataSync())})`, [x], (x) => x.softmax(-1), SM);
      cmpOp(
        `logSoftmax(special ${desc(x)}: ${Array.from(x.contiguous().dataSync())})`,
        [x],
        (x) => x.logSoftmax(-1),
        LSM,
      );
    });
    const rows = Tensor.fromTypedArray(
      new Float32Array([
        -Infinity,
        -Infinity,
        -Infinity,
        0,
        -Infinity,
        5,
        1e30,
        1e30,
        -1e30,
        80,
        90,
        100,
        NaN,
        0,
        1,
        Infinity,
        0,
        1,
      ]),
      [6, 3],
    );
    cmpOp("softmax(handpicked rows)", [rows], (rows) => rows.softmax(1), SM);
    cmpOp("logSoftmax(handpicked rows)", [rows], (rows) => rows.logSoftmax(1), LSM);
  });

  it("large inputs (≥ 100K elements): many short rows, few long rows (vocab-sized), non-last dim", () => {
    for (const [shape, dim] of [
      [[2048, 64], 1],
      [[3, 50257], 1],
      [[256, 512], 0],
      [[16, 12, 24, 24], -1],
    ] as [number[], number][]) {
      cases(`softmax large ${shape}`, 1, (g) => {
        const x = randTensor(g, shape, "float32", { layout: "contiguous", kind: "wide" });
        cmpOp(`softmax(large ${desc(x)}, ${dim})`, [x], (x) => x.softmax(dim), SM);
        cmpOp(`logSoftmax(large ${desc(x)}, ${dim})`, [x], (x) => x.logSoftmax(dim), LSM);
      });
    }
  });
});
