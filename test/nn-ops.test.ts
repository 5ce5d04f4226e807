// The transformer's tensor ops (src/tensor/nn-ops.ts) against direct computations: the attention mask, the softmax
// whose fully masked rows give zeros, rotary embeddings (both pairings) and the fused layer norm.
import { describe, expect, it } from "vitest";
import { Generator, randn, ShapeError, tensor, Tensor } from "../src/index.js";
import { layerNorm, maskAttentionScores, rotary, rotarySinCos, softmaxOrZero } from "../src/tensor/nn-ops.js";

const gen = (seed: number): { generator: Generator } => ({ generator: new Generator(seed) });

describe("maskAttentionScores", () => {
  it("masks above the causal diagonal, shifted by the keys a cache holds, and padded keys; the input is untouched", () => {
    const scores = randn([2, 3, 2, 4], gen(1)); // [batch, head, q = 2, k = 4]: 2 cached keys
    const mask = tensor(
      [
        [1, 1, 1, 1],
        [0, 1, 1, 1],
      ],
      undefined,
      "int32",
    );
    const before = scores.clone();
    const out = maskAttentionScores(scores, true, mask);
    expect(scores.equal(before)).toBe(true);
    for (let b = 0; b < 2; b++)
      for (let h = 0; h < 3; h++)
        for (let i = 0; i < 2; i++)
          for (let j = 0; j < 4; j++) {
            const masked = j > i + 2 || (b === 1 && j === 0);
            const v = out.get(b, h, i, j).item();
            if (masked) expect(v).toBe(-Infinity);
            else expect(v).toBe(scores.get(b, h, i, j).item());
          }
  });

  it("without causality or a mask it is a copy; a mask of the wrong shape is a ShapeError", () => {
    const scores = randn([1, 1, 3, 3], gen(2));
    const out = maskAttentionScores(scores, false, null);
    expect(out.equal(scores)).toBe(true);
    expect(out.storage).not.toBe(scores.storage);
    expect(() => maskAttentionScores(scores, true, tensor([[1, 1]], undefined, "int32"))).toThrow(ShapeError);
  });

  it("consumeInput masks a whole contiguous tensor in place, but copies a view or a tensor that needs a gradient", () => {
    const expected = maskAttentionScores(randn([2, 2, 3, 3], gen(3)), true, null);
    const own = randn([2, 2, 3, 3], gen(3));
    const inPlace = maskAttentionScores(own, true, null, null, { consumeInput: true });
    expect(inPlace).toBe(own);
    expect(inPlace.equal(expected)).toBe(true);
    const whole = randn([2, 2, 3, 3], gen(3));
    const view = whole.narrow(0, 1, 1); // offset into its storage: fillMasked would write the wrong rows
    const fromView = maskAttentionScores(view, true, null, null, { consumeInput: true });
    expect(fromView).not.toBe(view);
    expect(fromView.equal(expected.narrow(0, 1, 1))).toBe(true);
    expect(whole.get(1, 0, 0, 2).item()).not.toBe(-Infinity);
    const leaf = randn([1, 1, 2, 2], gen(4)).requiresGrad_();
    const masked = maskAttentionScores(leaf, true, null, null, { consumeInput: true });
    expect(masked).not.toBe(leaf);
    expect(leaf.get(0, 0, 0, 1).item()).not.toBe(-Infinity);
  });
});

describe("softmaxOrZero", () => {
  it("is the softmax, with rows that have no finite entry giving zeros (not NaN)", () => {
    const x = tensor([
      [1, 2, -Infinity],
      [-Infinity, -Infinity, -Infinity],
    ]);
    const p = softmaxOrZero(x);
    const e = [Math.exp(1 - 2), 1];
    const s = e[0]! + e[1]!;
    expect(p.get(0, 0).item()).toBeCloseTo(e[0]! / s, 6);
    expect(p.get(0, 1).item()).toBeCloseTo(e[1]! / s, 6);
    expect(p.get(0, 2).item()).toBe(0);
    expect(Array.from(p.get(1).dataSync())).toEqual([0, 0, 0]);
  });
});

describe("rotary", () => {
  /** TL's apply_rotary written out in float64: rotate-half pairs (i, i + dim/2) or adjacent pairs (2i, 2i + 1). */
  const reference = (x: Tensor, positions: number[][], dim: number, base: number, adjacent: boolean): Tensor => {
    const [batch, pos, heads] = x.shape as [number, number, number];
    const out = x.to("float64").clone();
    const half = dim / 2;
    for (let b = 0; b < batch; b++)
      for (let p = 0; p < pos; p++)
        for (let h = 0; h < heads; h++)
          for (let i = 0; i < dim; i++) {
            const k = adjacent ? Math.floor(i / 2) : i % half;
            const angle = positions[b]![p]! / Math.pow(base, k / half);
            const xi = x.get(b, p, h, i).item();
            const partner = adjacent
              ? i % 2 === 0
                ? -x.get(b, p, h, i + 1).item()
                : x.get(b, p, h, i - 1).item()
              : i < half
                ? -x.get(b, p, h, i + half).item()
                : x.get(b, p, h, i - half).item();
            out.set([b, p, h, i], xi * Math.cos(angle) + partner * Math.sin(angle));
          }
    return out;
  };

  for (const adjacentPairs of [false, true]) {
    it(`rotates the first rotary_dim dims by each row's positions (${adjacentPairs ? "adjacent" : "rotate-half"} pairs)`, () => {
      const x = randn([2, 3, 2, 8], gen(3));
      const positions = [
        [0, 1, 2],
        [5, 6, 9],
      ];
      const o = { dim: 6, base: 10000, adjacentPairs, nCtx: 16 };
      const out = rotary(x, tensor(positions, undefined, "int32"), o);
      const ref = reference(x, positions, 6, 10000, adjacentPairs);
      expect(out.to("float64").sub(ref).abs().max().item()).toBeLessThan(1e-5);
      // position 0 is the identity; dims past rotary_dim are untouched
      expect(out.get(0, 0).sub(x.get(0, 0)).abs().max().item()).toBe(0);
      expect(out.get(":", ":", ":", "6:").equal(x.get(":", ":", ":", "6:").contiguous())).toBe(true);
    });
  }

  it("refuses positions outside the tables and positions of the wrong shape", () => {
    const x = randn([1, 2, 1, 4], gen(4));
    const o = { dim: 4, base: 10000, adjacentPairs: false, nCtx: 4 };
    expect(() => rotary(x, tensor([[0, 4]], undefined, "int32"), o)).toThrow(ShapeError);
    expect(() => rotary(x, tensor([[0, 1, 2]], undefined, "int32"), o)).toThrow(ShapeError);
    expect(rotarySinCos(o).sin.length).toBe(4 * 4);
  });
});

describe("layerNorm", () => {
  it("equals (x - mean) / sqrt(var + eps) * w + b, with that scale [..., 1]", () => {
    const x = randn([2, 3, 16], gen(5));
    const w = randn([16], gen(6));
    const b = randn([16], gen(7));
    const eps = 1e-5;
    const centred = x.sub(x.mean(-1, true));
    const scale = centred.mul(centred).mean(-1, true).add(eps).sqrt();
    const { normalized, scale: s } = layerNorm(x, w, b, eps);
    expect(s.shape).toEqual([2, 3, 1]);
    expect(s.sub(scale).abs().max().item()).toBeLessThan(1e-5);
    expect(normalized.sub(centred.div(scale).mul(w).add(b)).abs().max().item()).toBeLessThan(1e-5);
    const pre = layerNorm(x, null, null, eps).normalized;
    expect(pre.sub(centred.div(scale)).abs().max().item()).toBeLessThan(1e-5);
  });
});
