// Head detectors: every detect/* golden of TransformerLens 2.18 (../shared/golden/tl) in all four cases, a passed
// cache left untouched, several sequences, errors, TL's rounding, ARENA's detectors and the induction score.
import { beforeAll, describe, expect, it } from "vitest";
import { ActivationCache, HookedTransformer, Tensor, detectHead, tensor, zeros, cat } from "../../src/index.js";
import {
  HEAD_NAMES,
  computeHeadAttentionSimilarityScore,
  currentAttnDetector,
  firstAttnDetector,
  generateRepeatedTokens,
  getDuplicateTokenHeadDetectionPattern,
  getInductionHeadDetectionPattern,
  getPreviousTokenHeadDetectionPattern,
  inductionScore,
  inductionScoreFromCache,
  prevAttnDetector,
  pyRound,
} from "../../src/analysis/head-detector.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";
import { GOLDEN_CASES, GOLDEN_DIR, expectClose, maxAbsDiff } from "../golden.js";

const G = GOLDEN_DIR;
const TOL = 1e-4;

const CASES = GOLDEN_CASES;

const inputsP = readSafetensorsFile(`${G}/inputs.safetensors`).then((r) => r.tensors);

for (const name of Object.keys(CASES) as (keyof typeof CASES)[]) {
  describe(`detect/* goldens, case ${name}`, () => {
    let model: HookedTransformer;
    let out: Map<string, Tensor>;
    let toks: Tensor;
    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained(G, CASES[name]);
      out = (await readSafetensorsFile(`${G}/${name}/outputs.safetensors`)).tensors;
      toks = (await inputsP).get("detect_tokens")!; // [1, 12]; TL's oracle fed these straight past to_tokens
    });

    it("detection patterns", () => {
      expectClose(
        "previous",
        getPreviousTokenHeadDetectionPattern(toks),
        out.get("detect/previous_token_head/detection_pattern")!,
        0,
      );
      expectClose(
        "duplicate",
        getDuplicateTokenHeadDetectionPattern(toks),
        out.get("detect/duplicate_token_head/detection_pattern")!,
        0,
      );
      expectClose(
        "induction",
        getInductionHeadDetectionPattern(toks),
        out.get("detect/induction_head/detection_pattern")!,
        0,
      );
    });

    it("detectHead for each named head, error measure and exclusion", async () => {
      for (const head of HEAD_NAMES) {
        for (const measure of ["mul", "abs"] as const) {
          for (const bos of [0, 1]) {
            for (const cur of [0, 1]) {
              const got = await detectHead(model, toks, head, {
                errorMeasure: measure,
                excludeBos: bos === 1,
                excludeCurrentToken: cur === 1,
              });
              const key = `detect/${head}/${measure}/exclude_bos=${bos}/exclude_current=${cur}`;
              expect(got.shape).toEqual([3, 4]);
              expect(got.dtype).toBe("float32");
              // "abs" is rounded to 3 decimals by TL: ours must land on the same rounding
              expectClose(key, got, out.get(key)!, measure === "abs" ? 1e-6 : TOL);
            }
          }
        }
      }
    });

    it("detectHead with a custom pattern, and on a subset of heads (-1 elsewhere)", async () => {
      const custom = out.get("detect/custom/detection_pattern")!;
      expectClose("custom/mul", await detectHead(model, toks, custom), out.get("detect/custom/mul")!);
      const subset = await detectHead(model, toks, custom, {
        heads: [
          [0, 1],
          [2, 3],
        ],
        errorMeasure: "abs",
        excludeBos: true,
      });
      expectClose("custom/abs_subset", subset, out.get("detect/custom/abs_subset")!, 1e-6);
      // TL's other form of `heads`: { layer: [heads] }
      expectClose(
        "custom/abs_subset (dict)",
        await detectHead(model, toks, custom, { heads: { 0: [1], 2: [3] }, errorMeasure: "abs", excludeBos: true }),
        out.get("detect/custom/abs_subset")!,
        1e-6,
      );
      // a 1-D token tensor is one sequence too
      expectClose(
        "1-D tokens",
        await detectHead(model, toks.reshape(-1), "induction_head"),
        out.get("detect/induction_head/mul/exclude_bos=0/exclude_current=0")!,
      );
    });
  });
}

describe("detectHead behaviour", () => {
  let model: HookedTransformer;
  let toks: Tensor;
  let rows: Tensor;
  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained(G);
    const inputs = await inputsP;
    toks = inputs.get("detect_tokens")!;
    rows = inputs.get("tokens")!; // [2, 12]
  });

  it("reads a passed cache without modifying it (TL zeroes its patterns in place)", async () => {
    const [, cache] = await model.runWithCache(toks);
    const before = new Map(cache.keys().map((k) => [k, cache.get(k).clone()]));
    const opts = { excludeBos: true, excludeCurrentToken: true, errorMeasure: "mul" as const };
    const withCache = await detectHead(model, toks, "previous_token_head", { ...opts, cache });
    for (const k of cache.keys()) expect(maxAbsDiff(cache.get(k), before.get(k)!), k).toBe(0);
    expectClose("cache vs fresh run", withCache, await detectHead(model, toks, "previous_token_head", opts), 1e-6);
    // a second call on the same cache gives the same scores (it would not, had the first zeroed the patterns)
    const again = await detectHead(model, toks, "previous_token_head", {
      ...opts,
      excludeBos: false,
      excludeCurrentToken: false,
      cache,
    });
    expectClose("after reuse", again, await detectHead(model, toks, "previous_token_head"), 1e-6);
    // a cache without its batch dim (TL's remove_batch_dim=True) works the same
    expectClose(
      "removeBatchDim cache",
      await detectHead(model, toks, "previous_token_head", { ...opts, cache: cache.removeBatchDim() }),
      withCache,
      1e-6,
    );
  });

  it("several sequences: each scored with the same options, then averaged", async () => {
    const opts = {
      errorMeasure: "abs" as const,
      excludeBos: true,
      heads: [
        [1, 2],
        [2, 0],
      ] as [number, number][],
    };
    const both = await detectHead(model, rows, "duplicate_token_head", opts);
    const r0 = await detectHead(model, rows.get("0:1"), "duplicate_token_head", opts);
    const r1 = await detectHead(model, rows.get("1:2"), "duplicate_token_head", opts);
    expectClose("mean of rows", both, r0.add(r1).div(2), 1e-6);
    expect(both.get(0, 0).item()).toBe(-1);
    // with a batched cache of those rows
    const [, cache] = await model.runWithCache(rows);
    expectClose("batched cache", await detectHead(model, rows, "duplicate_token_head", { ...opts, cache }), both, 1e-6);
    // number[][] input
    const arr = rows.toArray() as number[][];
    expectClose("number[][]", await detectHead(model, arr, "duplicate_token_head", opts), both, 1e-6);
  });

  it("strings are tokenized with model.toTokens; strings of different lengths are run one by one and averaged", async () => {
    const toy = await HookedTransformer.fromPretrained("toy-ioi");
    const a = "When Mary and John went to the store, John gave a drink to";
    const b = "Then, Alice and Bob had a long and loud argument. Afterwards Alice said to";
    const sa = await detectHead(toy, a, "duplicate_token_head", { errorMeasure: "abs" });
    expectClose(
      "string vs tokens",
      sa,
      await detectHead(toy, toy.toTokens(a), "duplicate_token_head", { errorMeasure: "abs" }),
      0,
    );
    const sb = await detectHead(toy, b, "duplicate_token_head", { errorMeasure: "abs" });
    expect(toy.toTokens(a).shape[1]).not.toBe(toy.toTokens(b).shape[1]);
    expectClose(
      "list of strings",
      await detectHead(toy, [a, b], "duplicate_token_head", { errorMeasure: "abs" }),
      sa.add(sb).div(2),
      1e-6,
    );
  });

  it("rejects bad patterns, names, lengths, heads and caches with clear errors", async () => {
    await expect(detectHead(model, toks, "copy_head" as "induction_head")).rejects.toThrow(/previous_token_head/);
    await expect(detectHead(model, toks, zeros([5, 5]))).rejects.toThrow(/\[12, 12\]/);
    const upper = zeros([12, 12]);
    upper.set([0, 3], 1);
    await expect(detectHead(model, toks, upper)).rejects.toThrow(/lower triangular/);
    await expect(detectHead(model, toks.get(":", ":1"), "previous_token_head")).rejects.toThrow(/n_ctx/);
    await expect(detectHead(model, zeros([1, 64], "int32"), "previous_token_head")).rejects.toThrow(/n_ctx = 64/);
    await expect(detectHead(model, toks, "induction_head", { heads: [[3, 0]] })).rejects.toThrow(/does not exist/);
    await expect(detectHead(model, toks, "induction_head", { errorMeasure: "l2" as "abs" })).rejects.toThrow(
      /errorMeasure/,
    );
    const [, cache] = await model.runWithCache(rows);
    await expect(detectHead(model, toks, "induction_head", { cache })).rejects.toThrow(/batch of 2/);
  });

  it("computeHeadAttentionSimilarityScore leaves its inputs alone", () => {
    const p = tensor([
      [1, 0, 0],
      [0.5, 0.5, 0],
      [0.2, 0.3, 0.5],
    ]);
    const d = getPreviousTokenHeadDetectionPattern([1, 2, 3]);
    const copy = p.clone();
    // mul with both exclusions: only (2, 1) counts: 0.3 / (0.3) over the remaining mass {0.3}
    expect(computeHeadAttentionSimilarityScore(p, d, { excludeBos: true, excludeCurrentToken: true })).toBeCloseTo(
      1,
      6,
    );
    expect(computeHeadAttentionSimilarityScore(p, d)).toBeCloseTo((0.5 + 0.3) / 3, 6);
    // abs: Σ|p - d| = 1 + 0.5 + 0.5 + 0.2 + 0.7 + 0.5 = 3.4; / 3 = 1.1333 → 1.133
    expect(computeHeadAttentionSimilarityScore(p, d, { errorMeasure: "abs" })).toBeCloseTo(1 - 1.133, 9);
    expect(maxAbsDiff(p, copy)).toBe(0);
  });

  it("pyRound is Python's round (half to even on the exact binary value)", () => {
    expect(pyRound(0.0625, 3)).toBe(0.062);
    expect(pyRound(0.0875, 3)).toBe(0.087); // 0.08749999... in binary
    expect(pyRound(0.1875, 3)).toBe(0.188); // an exact tie, 7 is odd: up
    expect(pyRound(2.675, 2)).toBe(2.67); // 2.675 is 2.67499999... in binary
    expect(pyRound(0.5, 0)).toBe(0);
    expect(pyRound(1.5, 0)).toBe(2);
    expect(pyRound(2.5, 0)).toBe(2);
    expect(pyRound(-0.0625, 3)).toBe(-0.062);
    expect(pyRound(1.1336, 3)).toBe(1.134);
  });
});

describe("ARENA detectors and the induction score", () => {
  /** A cache of one layer with 4 heads [1, 4, n, n]: current, previous, first-token and uniform causal attention. */
  function syntheticCache(n: number, batch = true): ActivationCache {
    const data = new Float32Array(4 * n * n);
    for (let q = 0; q < n; q++) {
      data[0 * n * n + q * n + q] = 1;
      data[1 * n * n + q * n + Math.max(q - 1, 0)] = 1;
      data[2 * n * n + q * n + 0] = 1;
      for (let k = 0; k <= q; k++) data[3 * n * n + q * n + k] = 1 / (q + 1);
    }
    const p = Tensor.fromTypedArray(data, batch ? [1, 4, n, n] : [4, n, n]);
    return new ActivationCache(new Map([["blocks.0.attn.hook_pattern", p]]), null, batch);
  }

  it("current / previous / first-token heads by average attention over the threshold", () => {
    const cache = syntheticCache(8);
    const cur = currentAttnDetector(cache);
    expect(cur.heads).toEqual(["0.0"]);
    expect(cur.scores.shape).toEqual([1, 4]);
    expect(cur.scores.get(0, 0).item()).toBeCloseTo(1, 6);
    expect(prevAttnDetector(cache).heads).toEqual(["0.1"]);
    expect(prevAttnDetector(cache).scores.get(0, 1).item()).toBeCloseTo(1, 6);
    expect(firstAttnDetector(cache).heads).toEqual(["0.2"]);
    // uniform head: first-token mean = mean(1/(q+1)) over 8 queries
    const h = Array.from({ length: 8 }, (_, q) => 1 / (q + 1)).reduce((a, b) => a + b) / 8;
    expect(firstAttnDetector(cache).scores.get(0, 3).item()).toBeCloseTo(h, 6);
    expect(firstAttnDetector(cache, { threshold: 0.3 }).heads).toEqual(["0.2", "0.3"]);
    expect(currentAttnDetector(syntheticCache(8, false)).heads).toEqual(["0.0"]);
    expect(() => currentAttnDetector(new ActivationCache(new Map()))).toThrow(/no attention patterns/);
  });

  it("generateRepeatedTokens: [BOS] + r + r, seeded", async () => {
    const model = await HookedTransformer.fromPretrained(G);
    const t = generateRepeatedTokens(model, 5, { batch: 3, seed: 1 });
    expect(t.shape).toEqual([3, 11]);
    expect(t.dtype).toBe("int32");
    const rows = t.toArray() as number[][];
    for (const r of rows) {
      expect(r[0]).toBe(999);
      expect(r.slice(1, 6)).toEqual(r.slice(6));
      for (const x of r) expect(x >= 0 && x < 1000).toBe(true);
    }
    expect(generateRepeatedTokens(model, 5, { batch: 3, seed: 1 }).toArray()).toEqual(rows);
    expect(generateRepeatedTokens(model, 5, { batch: 3, seed: 2 }).toArray()).not.toEqual(rows);
    expect(generateRepeatedTokens(model, 5, { prependBos: false }).shape).toEqual([1, 10]);
    expect(() => generateRepeatedTokens(model, 0)).toThrow(/seqLen/);
  });

  it("inductionScore: attention from each second-half token to the token after its first occurrence", async () => {
    const model = await HookedTransformer.fromPretrained(G);
    const seqLen = 7;
    const { scores, tokens } = await inductionScore(model, { seqLen, batch: 3, seed: 5 });
    expect(scores.shape).toEqual([3, 4]);
    expect(tokens.shape).toEqual([3, 15]);
    // by hand from the patterns
    const [, cache] = await model.runWithCache(tokens);
    for (let l = 0; l < 3; l++) {
      const p = cache.get("pattern", l);
      for (let h = 0; h < 4; h++) {
        let s = 0;
        for (let b = 0; b < 3; b++) for (let j = 0; j < seqLen; j++) s += p.get(b, h, 1 + seqLen + j, 1 + j + 1).item();
        expect(scores.get(l, h).item()).toBeCloseTo(s / (3 * seqLen), 5);
      }
    }
    // without BOS the geometry shifts by one
    const noBos = await inductionScore(model, { seqLen, batch: 2, seed: 5, prependBos: false });
    expect(noBos.tokens.shape).toEqual([2, 14]);
    // a perfect induction pattern scores 1
    const n = 1 + 2 * seqLen;
    const ideal = zeros([1, 1, n, n]);
    for (let q = 0; q < n; q++) ideal.set([0, 0, q, q >= 1 + seqLen ? q - seqLen + 1 : 0], 1);
    const c = new ActivationCache(new Map([["blocks.0.attn.hook_pattern", cat([ideal, ideal], 0)]]));
    expect(inductionScoreFromCache(c, seqLen).item()).toBeCloseTo(1, 6);
    expect(() => inductionScoreFromCache(c, 4)).toThrow(/repeated tokens/);
  });
});
