// TopK's step on its sparse codes (sparse-topk.ts) against the dense formula, the tensor autograd of the loss, on odd sizes: k 1,
// k = d_sae, and ties at the cut (duplicated encoder columns on values exact in float32), with and without AuxK.
import { describe, expect, it } from "vitest";
import type { AuxKLoss } from "../../src/sae/train/aux-k.js";
import { initSaeParams, type SaeParams } from "../../src/sae/train/params.js";
import { SaeStep } from "../../src/sae/train/sae-step.js";
import { TopKSelector } from "../../src/sae/train/select.js";
import { Generator } from "../../src/tensor/index.js";
import { autogradGrads, expectClose } from "./step-reference.js";

const B = 7,
  D = 5,
  S = 13;

/** Random params with nonzero biases and decoder rows of differing norms. */
function randomParams(seed: number): SaeParams {
  const p = initSaeParams(D, S, seed, 0.8);
  const g = new Generator(seed + 100);
  for (let j = 0; j < S; j++) p.b_enc[j] = 0.3 * g.normal();
  for (let i = 0; i < D; i++) p.b_dec[i] = 0.2 * g.normal();
  for (let j = 0; j < S; j++) for (let i = 0; i < D; i++) p.W_dec[j * D + i]! *= 1 + j / S;
  return p;
}

/** Dyadic values (n / den, n in −r..r): sums of a few of their products are exact in float32, in any order. */
function dyadic(g: Generator, r: number, den: number): number {
  return (Math.floor(g.uniform() * (2 * r + 1)) - r) / den;
}

/** Features 2c and 2c + 1 share their encoder column and bias, so every row's pre-activations come in equal pairs. */
function tiedParams(): SaeParams {
  const p = randomParams(5),
    g = new Generator(6);
  for (let j = 0; j < S; j += 2) {
    const bias = dyadic(g, 4, 8);
    for (let c = j; c < Math.min(j + 2, S); c++) p.b_enc[c] = bias;
    for (let i = 0; i < D; i++) {
      const w = dyadic(g, 4, 4);
      for (let c = j; c < Math.min(j + 2, S); c++) p.W_enc[i * S + c] = w;
    }
  }
  for (let i = 0; i < D; i++) p.b_dec[i] = dyadic(g, 4, 8);
  return p;
}

function batch(seed: number, exact: boolean): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: B * D }, () => (exact ? dyadic(g, 8, 2) : g.normal()));
}

const cases: { name: string; p: () => SaeParams; x: Float32Array; k: number; aux?: AuxKLoss }[] = [
  { name: "k 1", p: () => randomParams(1), x: batch(1, false), k: 1 },
  { name: "k = d_sae", p: () => randomParams(2), x: batch(2, false), k: S },
  { name: "ties at the cut, k 3", p: tiedParams, x: batch(3, true), k: 3 },
  {
    name: "ties at the cut, k 5, with AuxK over live and dead features",
    p: tiedParams,
    x: batch(4, true),
    k: 5,
    aux: { dead: [0, 3, 6, 7, 12], coefficient: 0.7, kAux: 2 },
  },
];

describe("SaeStep's sparse TopK path", () => {
  for (const c of cases) {
    it(`equals the autograd of the dense loss (${c.name})`, async () => {
      const p = c.p();
      const step = new SaeStep(p, B);
      const fired = new Float64Array(S);
      const stats = step.run(c.x, { kind: "topk", k: c.k }, fired, c.aux);
      const ref = await autogradGrads(p, c.x, { kind: "topk", k: c.k }, c.aux);
      // the same features fire: per feature, the rows where the dense f is > 0
      const refFired = Array.from(
        { length: S },
        (_, j) => Array.from({ length: B }, (_, b) => ref.f[b * S + j]! > 0).filter(Boolean).length,
      );
      expect([...fired]).toEqual(refFired);
      expect(stats.l0).toBeCloseTo(refFired.reduce((a, b) => a + b, 0) / B, 12);
      expect(stats.mse).toBeCloseTo(ref.mse, 4);
      expect(stats.l1).toBeCloseTo(ref.l1, 4);
      if (c.aux) expect(stats.auxLoss).toBeCloseTo(ref.auxLoss, 4);
      for (const k of ["W_enc", "W_dec", "b_enc", "b_dec"] as const) expectClose(step.grads[k]!, ref[k]!);
    });
  }

  it("the tie cases cut inside a tie of positive values", () => {
    const p = tiedParams();
    for (const c of cases.filter((c) => c.p === tiedParams)) {
      // each row's pre-activations, exact (dyadic): rows whose k-th and (k+1)-th largest are equal and positive
      const cutInTie = Array.from({ length: B }, (_, b) => {
        const pre = Array.from({ length: S }, (_, j) => {
          let s = p.b_enc[j]!;
          for (let i = 0; i < D; i++) s += (c.x[b * D + i]! - p.b_dec[i]!) * p.W_enc[i * S + j]!;
          return s;
        }).sort((u, v) => v - u);
        return pre[c.k - 1]! === pre[c.k]! && pre[c.k]! > 0;
      });
      expect(cutInTie.filter(Boolean).length).toBeGreaterThan(0);
    }
  });

  it("rejects k outside 1..d_sae", () => {
    const step = new SaeStep(randomParams(1), B),
      x = batch(1, false);
    expect(() => step.run(x, { kind: "topk", k: 0 }, new Float64Array(S))).toThrow(
      /k = 0 must be an integer in 1\.\.13/,
    );
    expect(() => step.run(x, { kind: "topk", k: 14 }, new Float64Array(S))).toThrow(
      /k = 14 must be an integer in 1\.\.13/,
    );
    expect(() => step.run(x, { kind: "topk", k: 2.5 }, new Float64Array(S))).toThrow(/k = 2.5 must be an integer/);
  });
});

describe("TopKSelector", () => {
  it("picks each row's k largest, ties to the lower position, as a stable descending sort does", () => {
    const g = new Generator(11);
    for (const [n, k] of [
      [1, 1],
      [9, 1],
      [9, 4],
      [9, 9],
      [40, 7],
      [40, 39],
    ] as [number, number][]) {
      const sel = new TopKSelector(n, k);
      // few distinct values (many ties); rows 20 and 30 lie far below the rest, so fewer than k of them beat the
      // threshold the earlier rows set and the whole row is searched; the row sits at an offset in a longer array
      for (let r = 0; r < 40; r++) {
        const shift = r === 20 || r === 30 ? -100 : 0;
        const v = Float32Array.from({ length: n + 3 }, () => Math.floor(g.uniform() * 5) - 2 + shift);
        const idx = new Int32Array(k + 2),
          val = new Float32Array(k + 2);
        sel.select(v, 3, idx, val, 2);
        const want = Array.from({ length: n }, (_, j) => j)
          .sort((a, b) => v[3 + b]! - v[3 + a]! || a - b)
          .slice(0, k);
        const got = [...idx.subarray(2)].map((j, t) => ({ j, v: val[2 + t]! })).sort((a, b) => a.j - b.j);
        expect(got.map((e) => e.j)).toEqual(want.sort((a, b) => a - b));
        for (const e of got) expect(e.v).toBe(v[3 + e.j]!);
      }
    }
    expect(() => new TopKSelector(3, 4)).toThrow(/k = 4 must lie in 1\.\.3/);
  });
});
