// Conformance: matmul / bmm — batch broadcasting, 1-D operands, transposed / strided / reversed / expanded
// operands, sizes around the micro-kernel edges and the K/column blocking, large products (threaded), integer
// and float64 operands, and the packed-weight cache (TensorStorage.reusable) including in-place updates of the weight.
import { describe, expect, it } from "vitest";
import { matmul } from "../../src/tensor/matmul.js";
import * as linalg from "../../src/tensor/linalg.js";
import {
  assertClose,
  cases,
  cmpOp,
  desc,
  on,
  pick,
  randTensor,
  NATIVE_AVAILABLE,
  Tensor,
  values,
  type DType,
  type Tol,
} from "./util.js";
import type { Generator } from "../../src/tensor/random.js";

/** Tolerance for a product: a multiple of √k float32 ulps of (|A| @ |B|), element by element. */
function mmTol(a: Tensor, b: Tensor, k: number): Tol {
  const absProd = on("js", () => a.to("float64").abs().matmul(b.to("float64").abs()));
  return { rtol: 0, atol: 1e-30, scale: values(absProd), scaleTol: 2e-6 * Math.sqrt(Math.max(k, 1)) };
}

const EDGE_SIZES = [0, 1, 1, 2, 3, 5, 6, 7, 8, 13, 14, 15, 16, 17, 29, 31, 32, 33];

function matrix(g: Generator, rows: number, cols: number, dtype: DType, batch: number[] = []): Tensor {
  // half the time build it transposed and view it back (column-major operand)
  if (g.uniform() < 0.4) return randTensor(g, [...batch, cols, rows], dtype).mT;
  return randTensor(g, [...batch, rows, cols], dtype);
}

describe("matmul: native vs js", () => {
  it("2-D products at micro-kernel edge sizes, any layout", () => {
    cases("matmul edges", 80, (g) => {
      const [m, k, n] = [pick(g, EDGE_SIZES), pick(g, EDGE_SIZES), pick(g, EDGE_SIZES)];
      const a = matrix(g, m, k, "float32");
      const b = matrix(g, k, n, "float32");
      cmpOp(`matmul(${desc(a, b)})`, [a, b], (a, b) => a.matmul(b), mmTol(a, b, k));
    });
  });

  it("batched with broadcasting of batch dims, 1-D operands, mixed dtypes", () => {
    cases("matmul batched", 60, (g) => {
      const [m, k, n] = [g.int(0, 9), g.int(0, 9), g.int(0, 9)];
      const full = [g.int(1, 4), g.int(1, 4)].slice(g.int(0, 3));
      const ba = full.slice(g.int(0, full.length + 1)).map((s) => (g.uniform() < 0.3 ? 1 : s));
      const bb = full.slice(g.int(0, full.length + 1)).map((s) => (g.uniform() < 0.3 ? 1 : s));
      const dtypes: [DType, DType] = pick(g, [
        ["float32", "float32"],
        ["float32", "float32"],
        ["float32", "float64"],
        ["float64", "float64"],
        ["int32", "int32"],
        ["int32", "float32"],
        ["bool", "int32"],
      ] as [DType, DType][]);
      const aVec = g.uniform() < 0.15;
      const bVec = g.uniform() < 0.15;
      const a = aVec ? randTensor(g, [k], dtypes[0]) : matrix(g, m, k, dtypes[0], ba);
      const b = bVec ? randTensor(g, [k], dtypes[1]) : matrix(g, k, n, dtypes[1], bb);
      cmpOp(`matmul(${desc(a, b)})`, [a, b], (a, b) => a.matmul(b), mmTol(a, b, k));
    });
  });

  it("expanded (stride-0) operands and a shared 2-D weight over a batch", () => {
    cases("matmul expanded", 20, (g) => {
      const [m, k, n] = [g.int(1, 20), g.int(1, 20), g.int(1, 20)];
      const row = randTensor(g, [1, k], "float32");
      const a = row.expand(m, k);
      const col = randTensor(g, [k, 1], "float32");
      const b = col.expand(k, n);
      const x = randTensor(g, [3, m, k], "float32");
      const w = randTensor(g, [k, n], "float32");
      cmpOp(`matmul(${desc(a, b)})`, [a, b], (a, b) => a.matmul(b), mmTol(a, b, k));
      cmpOp(`matmul(${desc(x, b)})`, [x, b], (a, b) => a.matmul(b), mmTol(x, b, k));
      cmpOp(`matmul(${desc(a, w)})`, [a, w], (a, b) => a.matmul(b), mmTol(a, w, k));
      const wb = w.unsqueeze(0).expand(3, k, n);
      cmpOp(`bmm(${desc(x, wb)})`, [x, wb], (a, b) => a.bmm(b), mmTol(x, wb, k));
    });
  });

  it("bmm", () => {
    cases("bmm", 20, (g) => {
      const [bt, m, k, n] = [g.int(0, 4), g.int(0, 9), g.int(0, 9), g.int(0, 9)];
      const a = matrix(g, m, k, "float32", [bt]);
      const b = matrix(g, k, n, "float32", [bt]);
      cmpOp(`bmm(${desc(a, b)})`, [a, b], (a, b) => a.bmm(b), mmTol(a, b, k));
    });
  });

  it("large products (threaded, K blocking beyond 256, column chunks beyond 384)", () => {
    const shapes: [number[], number[], boolean, boolean][] = [
      [[256, 300], [300, 200], false, false],
      [[97, 600], [600, 130], false, true],
      [[64, 64], [64, 800], true, false],
      [[4, 64, 128], [128, 96], false, false],
      [[2, 3, 40, 50], [3, 50, 70], false, true],
      [[1, 768], [768, 1000], false, false],
      [[300, 17], [17, 3], true, true],
    ];
    cases("matmul large", shapes.length, (g, i) => {
      const [sa, sb, ta, tb] = shapes[i]!;
      const mk = (s: number[], t: boolean): Tensor =>
        t
          ? randTensor(g, [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!], "float32", { layout: "contiguous" })
              .mT
          : randTensor(g, s, "float32", { layout: "contiguous" });
      const a = mk(sa, ta);
      const b = mk(sb, tb);
      const k = sa[sa.length - 1]!;
      cmpOp(`matmul(large ${desc(a, b)})`, [a, b], (a, b) => a.matmul(b), mmTol(a, b, k));
    });
  });

  it("NaN and inf in operands propagate like the reference (no skipped zero tricks)", () => {
    const a = Tensor.fromTypedArray(new Float32Array([0, 1, 2, 0, 0, 0, 1, 1, 1, Infinity, 0, 1]), [4, 3]);
    const b = Tensor.fromTypedArray(new Float32Array([NaN, 1, 0, 2, 1, Infinity]), [3, 2]);
    // IEEE (and torch): 0 * NaN = NaN and 0 * inf = NaN, so the all-zero row 1 is NaN in both columns
    const want = [
      [NaN, Infinity],
      [NaN, NaN],
      [NaN, Infinity],
      [NaN, Infinity],
    ];
    for (const be of NATIVE_AVAILABLE ? (["js", "native"] as const) : (["js"] as const)) {
      const got = on(be, () => a.matmul(b));
      assertClose(
        got,
        Tensor.fromTypedArray(new Float32Array(want.flat()), [4, 2]),
        { rtol: 1e-6 },
        `matmul with NaN/inf on ${be}`,
      );
    }
  });
});

describe("matmul: packed-weight cache (TensorStorage.reusable)", () => {
  function check(label: string, x: Tensor, w: Tensor): void {
    const k = w.shape[w.ndim - 2]!;
    cmpOp(label, [x, w], (a, b) => matmul(a, b), mmTol(x, w, k));
  }

  it("multiply twice, update the weight in place with set, multiply again: the result reflects the new weight", () => {
    cases("packed cache set", 6, (g, i) => {
      const [k, n] = [
        [64, 48],
        [300, 70],
        [17, 33],
        [768, 64],
        [5, 3],
        [40, 400],
      ][i]! as [number, number];
      const w = randTensor(g, [k, n], "float32", { layout: "contiguous" });
      w.storage.reusable = true;
      const x = randTensor(g, [2, 9, k], "float32", { layout: "contiguous" });
      check("first multiply", x, w);
      check("second multiply (cached)", x, w);
      const v0 = w.storage.version;
      w.set([g.int(0, k), ":"], 3.5); // one row
      w.set([":", g.int(0, n)], -2); // one column
      expect(w.storage.version).toBeGreaterThan(v0);
      check("after set", x, w);
      // the whole weight replaced through a view
      w.get("...").set([], randTensor(g, [k, n], "float32", { layout: "contiguous" }));
      check("after replacing all values", x, w);
      w.copy_(0);
      check("after copy_(0)", x, w);
      // the cache must key on the values, not only on the storage: results must not be stale on native
      if (NATIVE_AVAILABLE) {
        const out = on("native", () => x.matmul(w));
        expect(Array.from(values(out)).every((v) => v === 0)).toBe(true);
      }
    });
  });

  it("several views of one reusable storage (stacked per-layer weights, transposed view) are not confused", () => {
    cases("packed cache views", 4, (g) => {
      const [layers, k, n] = [3, g.int(8, 70), g.int(8, 70)];
      const stacked = randTensor(g, [layers, k, n], "float32", { layout: "contiguous" });
      stacked.storage.reusable = true;
      const x = randTensor(g, [5, k], "float32", { layout: "contiguous" });
      for (let rep = 0; rep < 2; rep++) {
        for (let l = 0; l < layers; l++) check(`layer ${l} (rep ${rep})`, x, stacked.get(l));
      }
      const sq = randTensor(g, [k, k], "float32", { layout: "contiguous" });
      sq.storage.reusable = true;
      const xs = randTensor(g, [4, k], "float32", { layout: "contiguous" });
      check("square weight", xs, sq);
      check("its transpose (same storage)", xs, sq.mT);
      check("square weight again", xs, sq);
      check("a column slice of it (same storage)", xs, sq.get(":", "0:5"));
      check("a stepped view of it", xs, sq.get(":", "::2"));
      // a batched weight that is not shared over the batch must not use the cache
      check("batched weight", randTensor(g, [layers, 2, k], "float32", { layout: "contiguous" }), stacked);
      // mutate one layer through a view of the stacked storage
      stacked.get(1).set([0, ":"], 100);
      check("layer 1 after set through a view", x, stacked.get(1));
      check("layer 0 after the set", x, stacked.get(0));
    });
  });

  it("weight storage reused with a different buffer-sharing tensor after write (version bump from any view)", () => {
    const g = { k: 33, n: 21 };
    const w = Tensor.fromTypedArray(
      new Float32Array(g.k * g.n).map((_, i) => Math.sin(i)),
      [g.k, g.n],
    );
    w.storage.reusable = true;
    const x = Tensor.fromTypedArray(
      new Float32Array(4 * g.k).map((_, i) => Math.cos(i)),
      [4, g.k],
    );
    check("first", x, w);
    const alias = w.reshape(g.n, g.k); // a view of the same storage with another shape
    alias.set([0], 7);
    check("after writing through a reshaped alias", x, w);
  });
});

describe("linalg (float64 inside): native vs js, and reconstructions", () => {
  it("svd / qr / eig of random batched matrices from views", () => {
    cases("linalg", 12, (g) => {
      const [m, n] = [g.int(1, 7), g.int(1, 7)];
      const batch = [g.int(1, 3)].slice(g.int(0, 2));
      const dtype = pick(g, ["float32", "float64"] as const);
      const a = randTensor(g, [...batch, m, n], dtype);
      const sq = randTensor(g, [...batch, m, m], dtype);
      const tol: Tol = dtype === "float64" ? { rtol: 1e-9, atol: 1e-9 } : { rtol: 1e-5, atol: 1e-5 };
      const s = desc(a);
      const svd = cmpOp(`svd(${s})`, [a], (x) => linalg.svd(x), tol);
      const qr = cmpOp(`qr(${s})`, [a], (x) => linalg.qr(x), tol);
      cmpOp(`eig(${desc(sq)})`, [sq], (x) => linalg.eig(x), tol);
      if (!svd.ok || !qr.ok) throw new Error(`${s}: svd or qr threw`);
      const { U, S, Vh } = svd.value;
      const { Q, R } = qr.value;
      on("js", () => {
        assertClose(U.mul(S.unsqueeze(-2)).matmul(Vh), a.contiguous(), tol, `U diag(S) Vh = A for ${s}`);
        assertClose(Q.matmul(R), a.contiguous(), tol, `Q R = A for ${s}`);
        const eigs = linalg.eig(sq);
        assertClose(
          eigs.re.sum(-1),
          sq.diagonal(0, -2, -1).sum(-1),
          { rtol: 1e-4, atol: 1e-4 },
          `Σ eigenvalues = trace for ${desc(sq)}`,
        );
      });
    });
  });
});
