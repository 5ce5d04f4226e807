// Head-local patches (z, q, k, v, scores or pattern of one block) change the block only through their heads' z, so
// the fast sweep adds (z' − z) @ W_O to the corrupted attention output (src/analysis/patching/head-local.ts). The
// sweeps equal the naive full re-run on configs that exercise each part of the attention: learned positions,
// rotary with a soft cap and a local window, Gemma-2's post-norms, grouped-query attention, use_attn_result.
import { describe, expect, it } from "vitest";
import { HookedTransformer, patching, Tensor, type HookedTransformerConfig } from "../../src/index.js";
import { maxAbsDiff } from "../golden.js";

type Cfg = Partial<HookedTransformerConfig>;
const BASE: Cfg = {
  nLayers: 3,
  dModel: 16,
  nHeads: 4,
  dHead: 4,
  dMlp: 32,
  dVocab: 24,
  nCtx: 12,
  actFn: "gelu_new",
  seed: 3,
};
const CONFIGS: Record<string, Cfg> = {
  "layer norm, learned positions": {},
  "rotary, soft cap, local window": {
    positionalEmbeddingType: "rotary",
    attnScoresSoftCap: 4,
    useLocalAttn: true,
    attnTypes: ["local", "global", "local"],
    windowSize: 3,
  },
  "RMS post-norms (Gemma-2)": { normalizationType: "RMS", useNormalizationBeforeAndAfter: true },
  "grouped-query attention": { nKeyValueHeads: 2, positionalEmbeddingType: "rotary" },
  use_attn_result: { useAttnResult: true },
};

const ids = (rows: number[][]): Tensor =>
  Tensor.fromTypedArray(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
const clean = ids([
  [1, 5, 9, 2, 7, 3, 8, 4, 6, 10],
  [3, 5, 9, 11, 7, 3, 8, 4, 6, 12],
]);
// differ from position 3 on in both rows, so every patch starts there
const corrupted = ids([
  [1, 5, 9, 13, 7, 3, 8, 4, 6, 10],
  [3, 5, 9, 14, 7, 3, 8, 4, 6, 12],
]);
/** mean logit difference at the last position; and one that reads every position */
const last = (logits: Tensor): number => logits.get(":", -1, 4).mean().item() - logits.get(":", -1, 7).mean().item();
const wide = (logits: Tensor): number => logits.get(":", ":", 2).mean().item() + last(logits);

const SWEEPS = [
  "getActPatchAttnHeadOutAllPos",
  "getActPatchAttnHeadQAllPos",
  "getActPatchAttnHeadKAllPos",
  "getActPatchAttnHeadVAllPos",
  "getActPatchAttnHeadPatternAllPos",
  "getActPatchAttnHeadQByPos",
  "getActPatchAttnHeadVByPos",
  "getActPatchAttnHeadPatternByPos",
] as const;

/** The attention-scores sweep, [layer, head] (no TL function of its own). */
const scoresSweep = (
  model: HookedTransformer,
  cache: Awaited<ReturnType<HookedTransformer["runWithCache"]>>[1],
  opts: object,
): Promise<Tensor> =>
  patching.genericActivationPatch(model, corrupted, cache, last, {
    ...opts,
    activationName: "attn_scores",
    patchSetter: patching.layerHeadPatternPatchSetter,
    indexAxisNames: ["layer", "head_index"],
    progressBar: false,
  });

describe("head-local patches: the fast sweep equals the naive re-run", () => {
  for (const [name, cfg] of Object.entries(CONFIGS)) {
    it(name, async () => {
      const model = HookedTransformer.fromConfig({ ...BASE, ...cfg });
      const [, cache] = await model.runWithCache(clean);
      for (const fn of SWEEPS) {
        for (const [metric, opts] of [
          [last, { metricPositions: "last" }],
          [wide, {}],
        ] as const) {
          const naive = await patching[fn](model, corrupted, cache, metric, {
            ...opts,
            fast: false,
            progressBar: false,
          });
          const fast = await patching[fn](model, corrupted, cache, metric, {
            ...opts,
            progressBar: false,
            maxRows: 40,
          });
          expect(maxAbsDiff(fast, naive), `${fn} ${JSON.stringify(opts)}`).toBeLessThan(1e-4);
          // the patches do change the metric (the test would pass on a sweep that changes nothing otherwise)
          expect(naive.max().item() - naive.min().item(), fn).toBeGreaterThan(1e-4);
        }
      }
      const scores = await scoresSweep(model, cache, {});
      expect(maxAbsDiff(scores, await scoresSweep(model, cache, { fast: false }))).toBeLessThan(1e-4);
    });
  }
});
