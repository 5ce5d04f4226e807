// FactoredMatrix algebra against dense computation, model.OV / model.QK, copying and composition scores, and
// parity with TransformerLens 2.18's fm/* goldens (../shared/golden/tl) in all four processing cases.
import { beforeAll, describe, expect, it } from "vitest";
import {
  FactoredMatrix,
  Generator,
  eye,
  cat,
  HookedTransformer,
  ShapeError,
  IndexError,
  linalg,
  randn,
  tensor,
  type Tensor,
} from "../../src/index.js";
import {
  allCompositionScores,
  compositionScores,
  copyingScore,
  fullOV,
  fullOvCopyingScore,
  fullQK,
  ovCopyingScore,
} from "../../src/analysis/circuits.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";
import { GOLDEN_CASES, GOLDEN_DIR, expectClose as expectCloseTo, maxAbsDiff } from "../golden.js";

const G = GOLDEN_DIR;

const CASES = GOLDEN_CASES;

const expectClose = (name: string, a: Tensor, b: Tensor, tol = 1e-4): void => expectCloseTo(name, a, b, tol, true);

/**
 * Eigenvalues as multisets: `golden` [..., n, 2] (re, im), `mine` {re, im} [..., n]. Each golden eigenvalue is
 * matched greedily (largest first) to the nearest unmatched one of ours, within `rel` of its modulus.
 */
function expectSameSpectrum(name: string, mine: { re: Tensor; im: Tensor }, golden: Tensor, rel = 1e-3): void {
  expect([...mine.re.shape, 2]).toEqual(golden.shape);
  const n = golden.shape[golden.ndim - 2]!;
  const count = mine.re.numel / n;
  const re = mine.re.contiguous().dataSync();
  const im = mine.im.contiguous().dataSync();
  const g = golden.contiguous().dataSync();
  for (let b = 0; b < count; b++) {
    const order = Array.from({ length: n }, (_, i) => i).sort(
      (i, j) =>
        Math.hypot(g[(b * n + j) * 2]!, g[(b * n + j) * 2 + 1]!) -
        Math.hypot(g[(b * n + i) * 2]!, g[(b * n + i) * 2 + 1]!),
    );
    const biggest = Math.hypot(g[(b * n + order[0]!) * 2]!, g[(b * n + order[0]!) * 2 + 1]!);
    const used = new Set<number>();
    for (const i of order) {
      const gr = g[(b * n + i) * 2]!;
      const gi = g[(b * n + i) * 2 + 1]!;
      let best = -1;
      let bestD = Infinity;
      for (let j = 0; j < n; j++) {
        if (used.has(j)) continue;
        const d = Math.hypot(re[b * n + j]! - gr, im[b * n + j]! - gi);
        if (d < bestD) {
          bestD = d;
          best = j;
        }
      }
      used.add(best);
      const tol = rel * Math.max(Math.hypot(gr, gi), 1e-3 * biggest);
      expect(bestD, `${name} matrix ${b}: eigenvalue ${gr}+${gi}i is ${bestD} from ours`).toBeLessThanOrEqual(tol);
    }
  }
}

// ---------- algebra vs dense ----------

describe("FactoredMatrix algebra", () => {
  const g = new Generator(7);
  const rnd = (...shape: number[]): Tensor => randn(shape, { generator: g, dtype: "float64" });
  const A = rnd(2, 3, 6, 4); // [2, 3] leading, ldim 6, mdim 4
  const B = rnd(2, 3, 4, 6); // rdim 6
  const fm = new FactoredMatrix(A, B);
  const dense = A.matmul(B);
  const near = (a: Tensor, b: Tensor, tol = 1e-9): void => {
    const d = maxAbsDiff(a, b);
    expect(d).toBeLessThanOrEqual(tol * Math.max(1, b.abs().max().item()));
  };

  it("has TL's dims and products", () => {
    expect(fm.shape).toEqual([2, 3, 6, 6]);
    expect([fm.ldim, fm.mdim, fm.rdim, fm.ndim]).toEqual([6, 4, 6, 4]);
    expect(fm.hasLeadingDims).toBe(true);
    near(fm.AB, dense);
    near(fm.BA, B.matmul(A));
    near(fm.T.AB, dense.mT);
    expect(fm.pair[0]).toBe(fm.A);
    expect(fm.toString()).toBe("FactoredMatrix: Shape([2, 3, 6, 6]), Hidden Dim(4)");
    near(fm.mul(2.5).AB, dense.mul(2.5));
    near(fm.mul(tensor([-2], undefined, "float64")).AB, dense.mul(-2));
  });

  it("broadcasts leading dims", () => {
    const a = rnd(2, 1, 5, 3);
    const b = rnd(4, 3, 7);
    const m = new FactoredMatrix(a, b);
    expect(m.shape).toEqual([2, 4, 5, 7]);
    expect(m.A.shape).toEqual([2, 4, 5, 3]);
    expect(m.B.shape).toEqual([2, 4, 3, 7]);
    near(m.AB, a.matmul(b));
    expect(() => new FactoredMatrix(rnd(2, 5, 3), rnd(3, 3, 7))).toThrow(ShapeError);
    expect(() => new FactoredMatrix(rnd(5, 3), rnd(4, 7))).toThrow(/inner dim/);
  });

  it("stays factored through matmul as TL decides", () => {
    const wide = rnd(6, 9); // rdim 6 > mdim 4: multiplied into B
    const r1 = fm.matmul(wide);
    expect(r1.mdim).toBe(4);
    expect(r1.A).toBe(fm.A);
    near(r1.AB, dense.matmul(wide));
    const small = new FactoredMatrix(rnd(5, 6), rnd(6, 3)); // rdim 3 ≤ mdim 6: AB becomes the left factor
    const other = rnd(3, 8);
    const r2 = small.matmul(other);
    expect([r2.mdim, r2.rdim]).toEqual([3, 8]);
    near(r2.AB, small.AB.matmul(other));
    // left multiplication
    const left = rnd(9, 6);
    const l1 = fm.rmatmul(left);
    expect(l1.mdim).toBe(4);
    near(l1.AB, left.matmul(dense));
    const l2 = small.rmatmul(rnd(2, 5).mul(1));
    expect(l2.mdim).toBe(5); // ldim 5 ≤ mdim 6: FactoredMatrix(other, AB)
    // with FactoredMatrices on either side
    const f2 = new FactoredMatrix(rnd(6, 2), rnd(2, 6));
    near(fm.matmul(f2).AB, dense.matmul(f2.AB));
    near(fm.rmatmul(f2).AB, f2.AB.matmul(dense));
    // vectors collapse to tensors
    const v = rnd(6);
    near(fm.matvec(v), dense.matmul(v));
    near(fm.vecmat(v), v.matmul(dense));
    expect(() => fm.matmul(v)).toThrow(/matvec/);
    expect(() => fm.matmul(rnd(5, 2))).toThrow(ShapeError);
    expect(() => fm.rmatmul(rnd(2, 5))).toThrow(ShapeError);
  });

  it("svd: U diag(S) Vhᵀ = AB with orthonormal U and V (Vh is V, TL's convention), S = the dense singular values", () => {
    const { U, S, Vh } = fm.svd();
    expect(U.shape).toEqual([2, 3, 6, 4]);
    expect(S.shape).toEqual([2, 3, 4]);
    expect(Vh.shape).toEqual([2, 3, 6, 4]);
    near(U.mul(S.unsqueeze(-2)).matmul(Vh.mT), dense);
    near(U.mT.matmul(U), eye(4).to("float64").expand(2, 3, 4, 4));
    near(Vh.mT.matmul(Vh), eye(4).to("float64").expand(2, 3, 4, 4));
    near(S, linalg.svd(dense).S.narrow(-1, 0, 4));
    expect(fm.svd()).toBe(fm.svd()); // cached
    expect(fm.U).toBe(fm.svd().U);
    // a wide inner dim (mdim > ldim, rdim): k = min(ldim, rdim)
    const w = new FactoredMatrix(rnd(3, 8), rnd(8, 5));
    expect(w.S.shape).toEqual([3]);
    near(w.U.mul(w.S.unsqueeze(-2)).matmul(w.Vh.mT), w.AB);
    // float32 factors give float32 results
    const f32 = new FactoredMatrix(A.to("float32"), B.to("float32"));
    expect(f32.S.dtype).toBe("float32");
    expect(f32.dtype).toBe("float32");
  });

  it("eigenvalues are AB's non-zero ones, computed from BA", () => {
    const sq = new FactoredMatrix(rnd(7, 3), rnd(3, 7));
    const mine = sq.eigenvalues;
    expect(mine.re.shape).toEqual([3]);
    const all = linalg.eig(sq.AB);
    const keep: [number, number][] = [];
    const re = all.re.dataSync();
    const im = all.im.dataSync();
    for (let i = 0; i < re.length; i++) if (Math.hypot(re[i]!, im[i]!) > 1e-8) keep.push([re[i]!, im[i]!]);
    expect(keep.length).toBe(3);
    expectSameSpectrum("eig", mine, tensor(keep, undefined, "float64"), 1e-8);
    expect(() => new FactoredMatrix(rnd(5, 3), rnd(3, 4)).eigenvalues).toThrow(/square/);
    expect(() => new FactoredMatrix(rnd(5, 3), rnd(3, 4)).BA).toThrow(ShapeError);
  });

  it("norm, collapseL/R, makeEven, getCorner", () => {
    near(fm.norm(), dense.square().sum([-2, -1]).sqrt());
    near(fm.norm(), fm.S.square().sum(-1).sqrt());
    near(fm.U.matmul(fm.collapseL()), dense);
    near(fm.collapseR().matmul(fm.Vh.mT), dense);
    expect(fm.collapseL().shape).toEqual([2, 3, 4, 6]);
    expect(fm.collapseR().shape).toEqual([2, 3, 6, 4]);
    const even = fm.makeEven();
    near(even.AB, dense);
    near(even.A.mT.matmul(even.A), even.B.matmul(even.B.mT)); // both halves carry √S: AᵀA = BBᵀ = diag(S)
    // TL's get_corner slices every dim, leading ones included
    near(fm.getCorner(2), dense.get(":2", ":2", ":2", ":2"));
    near(fm.getCorner(), dense.get(":3", ":3", ":3", ":3"));
  });

  it("indexes leading dims, rows and columns as TL", () => {
    near(fm.get(1).AB, dense.get(1));
    near(fm.get(1, 2).AB, dense.get(1, 2));
    near(fm.get(":", -1).AB, dense.get(":", -1));
    near(fm.get("...", "1:3", ":").AB, dense.get(":", ":", "1:3"));
    // an integer on a matrix dim keeps that dim
    const row = fm.get(0, 1, 4);
    expect(row.shape).toEqual([1, 6]);
    near(row.AB, dense.get(0, 1, "4:5"));
    const cell = fm.get(0, 1, -1, 2);
    expect(cell.shape).toEqual([1, 1]);
    near(cell.AB, dense.get(0, 1, "5:6", "2:3"));
    near(fm.get(null, 0).AB, dense.get(null, 0));
    expect(fm.get(0).get(1).mdim).toBe(4);
    expect(() => fm.get(0, 0, 0, 0, 0)).toThrow(IndexError);
    expect(() => fm.get(5)).toThrow(IndexError);
    // unsqueeze adds a leading dim
    expect(fm.unsqueeze(0).shape).toEqual([1, 2, 3, 6, 6]);
    expect(fm.unsqueeze(2).shape).toEqual([2, 3, 1, 6, 6]);
    expect(fm.unsqueeze(-1).shape).toEqual([2, 3, 1, 6, 6]);
    expect(() => fm.unsqueeze(3)).toThrow(IndexError);
  });

  it("composition scores equal ‖M₁M₂‖ / (‖M₁‖‖M₂‖) computed densely, crossed or broadcast", () => {
    const left = new FactoredMatrix(rnd(2, 8, 3), rnd(2, 3, 8));
    const right = new FactoredMatrix(rnd(3, 8, 2), rnd(3, 2, 5));
    const scores = compositionScores(left, right);
    expect(scores.shape).toEqual([2, 3]);
    const fro = (t: Tensor): number => t.square().sum().sqrt().item();
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const l = left.AB.get(i);
        const r = right.AB.get(j);
        expect(scores.get(i, j).item()).toBeCloseTo(fro(l.matmul(r)) / fro(l) / fro(r), 10);
      }
    }
    // wide inner dims (QR instead of a Cholesky of the Gram) and rank-deficient factors
    const dup = rnd(8, 2);
    const deficient = new FactoredMatrix(cat([dup, dup], -1), rnd(4, 8));
    for (const [l, r] of [
      [new FactoredMatrix(rnd(4, 6), rnd(6, 8)), new FactoredMatrix(rnd(8, 9), rnd(9, 3))],
      [deficient, deficient.T],
    ] as const) {
      const got = compositionScores(l, r).item();
      expect(got).toBeCloseTo(fro(l.AB.matmul(r.AB)) / fro(l.AB) / fro(r.AB), 10);
    }
    const paired = compositionScores(left, new FactoredMatrix(rnd(2, 8, 2), rnd(2, 2, 5)), { broadcastDims: false });
    expect(paired.shape).toEqual([2]);
    expect(() => compositionScores(left, new FactoredMatrix(rnd(7, 2), rnd(2, 7)))).toThrow(ShapeError);
  });
});

// ---------- the golden model ----------

for (const name of Object.keys(CASES) as (keyof typeof CASES)[]) {
  describe(`fm/* goldens, case ${name}`, () => {
    let model: HookedTransformer;
    let out: Map<string, Tensor>;
    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained(G, CASES[name]);
      out = (await readSafetensorsFile(`${G}/${name}/outputs.safetensors`)).tensors;
    });

    it("model.OV and model.QK: AB, S, norm", () => {
      const ov = model.OV;
      const qk = model.QK;
      expect(ov.shape).toEqual([3, 4, 64, 64]);
      expect(ov.mdim).toBe(16);
      expect(qk.B.shape).toEqual([3, 4, 16, 64]);
      expectClose("OV_AB", ov.AB, out.get("fm/OV_AB")!);
      expectClose("QK_AB", qk.AB, out.get("fm/QK_AB")!);
      expectClose("OV_S", ov.S, out.get("fm/OV_S")!);
      expectClose("QK_S", qk.S, out.get("fm/QK_S")!);
      expectClose("OV_norm", ov.norm(), out.get("fm/OV_norm")!);
    });

    it("eigenvalues (as multisets) and copying scores", () => {
      const ov = model.OV;
      expectSameSpectrum("OV_eigenvalues (torch order)", ov.eigenvalues, out.get("fm/OV_eigenvalues")!);
      expectSameSpectrum("OV_eigenvalues_sorted", ov.eigenvalues, out.get("fm/OV_eigenvalues_sorted")!);
      expectSameSpectrum("QK_eigenvalues_sorted", model.QK.eigenvalues, out.get("fm/QK_eigenvalues_sorted")!);
      expectClose("OV_copying_score", ovCopyingScore(model), out.get("fm/OV_copying_score")!);
      expectClose("OV_copying_score via copyingScore", copyingScore(ov), out.get("fm/OV_copying_score")!);
    });

    it("the full OV circuit W_E·OV·W_U stays factored: S, eigenvalues, copying score", () => {
      const full = fullOV(model);
      expect(full.A.shape).toEqual([3, 4, 1000, 16]);
      expect(full.B.shape).toEqual([3, 4, 16, 1000]);
      expectClose("full_OV_S", full.S, out.get("fm/full_OV_S")!);
      expectSameSpectrum("full_OV_eigenvalues_sorted", full.eigenvalues, out.get("fm/full_OV_eigenvalues_sorted")!);
      expectClose("full_OV_copying_score", copyingScore(full), out.get("fm/full_OV_copying_score")!);
      expectClose("full_OV_copying_score (fast)", fullOvCopyingScore(model), out.get("fm/full_OV_copying_score")!);
    });

    it("full_QK_AB_L0H0_first32: indexing + matmul with tensors on both sides", () => {
      const W_E = model.W_E.get(":32");
      const m = model.QK.get(0, 0).rmatmul(W_E).matmul(W_E.mT);
      expect(m.shape).toEqual([32, 32]);
      expect(m.mdim).toBe(16);
      expectClose("full_QK_AB_L0H0_first32", m.AB, out.get("fm/full_QK_AB_L0H0_first32")!);
      expectClose(
        "fullQK(model)[0,0][:32,:32]",
        fullQK(model).get(0, 0, ":32", ":32").AB,
        out.get("fm/full_QK_AB_L0H0_first32")!,
      );
    });

    it("all composition scores match the dense definition and are zero unless layer2 > layer1", () => {
      const ov = model.OV.AB; // [3, 4, 64, 64]
      const qk = model.QK.AB;
      const fro = (t: Tensor): number => t.to("float64").square().sum().sqrt().item();
      for (const mode of ["Q", "K", "V"] as const) {
        const s = allCompositionScores(model, mode);
        expect(s.shape).toEqual([3, 4, 3, 4]);
        for (let l1 = 0; l1 < 3; l1++) {
          for (let h1 = 0; h1 < 4; h1++) {
            for (let l2 = 0; l2 < 3; l2++) {
              for (let h2 = 0; h2 < 4; h2++) {
                const got = s.get(l1, h1, l2, h2).item();
                if (l2 <= l1) {
                  expect(got).toBe(0);
                  continue;
                }
                const left = ov.get(l1, h1);
                const right = mode === "Q" ? qk.get(l2, h2) : mode === "K" ? qk.get(l2, h2).mT : ov.get(l2, h2);
                const want = fro(left.matmul(right)) / fro(left) / fro(right);
                expect(Math.abs(got - want), `${mode} L${l1}H${h1} -> L${l2}H${h2}`).toBeLessThanOrEqual(1e-5);
              }
            }
          }
        }
      }
      expect(() => allCompositionScores(model, "X" as "Q")).toThrow(/mode/);
    });
  });
}
