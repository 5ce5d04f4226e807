// Activation patching: TransformerLens's numbers on the golden model (all four cases), and the fast sweep equal
// to the naive one (the whole model re-run per patch).
import { describe, expect, it } from "vitest";
import { HookedTransformer, patching, type Tensor } from "../../src/index.js";
import {
  GOLDEN_CASES as CASES,
  GOLDEN_DIR as G,
  goldenCommon as common,
  goldenInputs,
  goldenOutputs,
  maxAbsDiff,
} from "../golden.js";
/** mean over the batch of logits[b, -1, answer[b]] - logits[b, -1, wrong[b]] */
const metric = (logits: Tensor): number => {
  let s = 0;
  common.answer_tokens.forEach((a, b) => {
    s += logits.get(b, -1, a).item() - logits.get(b, -1, common.wrong_tokens[b]!).item();
  });
  return s / common.answer_tokens.length;
};

const FUNCS: [string, keyof typeof patching][] = [
  ["get_act_patch_resid_pre", "getActPatchResidPre"],
  ["get_act_patch_resid_mid", "getActPatchResidMid"],
  ["get_act_patch_attn_out", "getActPatchAttnOut"],
  ["get_act_patch_mlp_out", "getActPatchMlpOut"],
  ["get_act_patch_block_every", "getActPatchBlockEvery"],
  ["get_act_patch_attn_head_out_all_pos", "getActPatchAttnHeadOutAllPos"],
  ["get_act_patch_attn_head_q_all_pos", "getActPatchAttnHeadQAllPos"],
  ["get_act_patch_attn_head_k_all_pos", "getActPatchAttnHeadKAllPos"],
  ["get_act_patch_attn_head_v_all_pos", "getActPatchAttnHeadVAllPos"],
  ["get_act_patch_attn_head_pattern_all_pos", "getActPatchAttnHeadPatternAllPos"],
  ["get_act_patch_attn_head_all_pos_every", "getActPatchAttnHeadAllPosEvery"],
  ["get_act_patch_attn_head_out_by_pos", "getActPatchAttnHeadOutByPos"],
  ["get_act_patch_attn_head_pattern_by_pos", "getActPatchAttnHeadPatternByPos"],
  ["get_act_patch_attn_head_by_pos_every", "getActPatchAttnHeadByPosEvery"],
];

for (const [name, flags] of Object.entries(CASES)) {
  describe(`patching, golden case ${name}`, () => {
    it("matches every patch/* tensor of TransformerLens", async () => {
      const model = await HookedTransformer.fromPretrained(G, flags);
      const inputs = await goldenInputs;
      const out = await goldenOutputs(name as keyof typeof CASES);
      const clean = inputs.get("clean_tokens")!;
      const corrupted = inputs.get("corrupted_tokens")!;
      const [cleanLogits, cleanCache] = await model.runWithCache(clean);
      expect(maxAbsDiff(cleanLogits, out.get("patch/clean_logits")!)).toBeLessThan(1e-4);
      expect(Math.abs(metric(cleanLogits) - out.get("patch/clean_metric")!.item())).toBeLessThan(1e-4);
      expect(Math.abs(metric(await model.forward(corrupted)) - out.get("patch/corrupted_metric")!.item())).toBeLessThan(
        1e-4,
      );
      for (const [golden, fn] of FUNCS) {
        const f = patching[fn] as (
          m: HookedTransformer,
          t: Tensor,
          c: typeof cleanCache,
          mt: typeof metric,
          o?: object,
        ) => Promise<Tensor>;
        const mine = await f(model, corrupted, cleanCache, metric, { progressBar: false });
        expect(maxAbsDiff(mine, out.get(`patch/${golden}`)!), golden).toBeLessThan(1e-4);
      }
    });
  });
}

describe("fast sweeps", () => {
  it("equal the naive full re-run, with and without metricPositions, with a permanent hook in place", async () => {
    const model = await HookedTransformer.fromPretrained(G);
    const inputs = await goldenInputs;
    const [, cleanCache] = await model.runWithCache(inputs.get("clean_tokens")!);
    const corrupted = inputs.get("corrupted_tokens")!;
    // a permanent hook must act in both paths
    model.addHook("blocks.1.mlp.hook_post", (x) => x.mul(0.9), { isPermanent: true });
    // a metric that reads several positions, so the corrupted prefix logits are used too
    const wide = (logits: Tensor): number => logits.get(":", "2:").mean().item() + metric(logits);
    for (const fn of [
      "getActPatchResidPre",
      "getActPatchAttnHeadOutByPos",
      "getActPatchAttnHeadPatternByPos",
      "getActPatchAttnHeadKAllPos",
    ] as const) {
      const f = patching[fn];
      const naive = await f(model, corrupted, cleanCache, wide, { fast: false, progressBar: false });
      const fast = await f(model, corrupted, cleanCache, wide, { progressBar: false, maxRows: 64 });
      expect(maxAbsDiff(fast, naive), fn).toBeLessThan(1e-4);
      const lastNaive = await f(model, corrupted, cleanCache, metric, {
        fast: false,
        metricPositions: "last",
        progressBar: false,
      });
      const lastFast = await f(model, corrupted, cleanCache, metric, { metricPositions: "last", progressBar: false });
      expect(maxAbsDiff(lastFast, lastNaive), fn).toBeLessThan(1e-4);
      // several metric positions: the last block starts at the first one
      const twoPos = (logits: Tensor): number => logits.get(":", 0).mean().item() + metric(logits);
      const someNaive = await f(model, corrupted, cleanCache, twoPos, {
        fast: false,
        metricPositions: [4, -1],
        progressBar: false,
      });
      const someFast = await f(model, corrupted, cleanCache, twoPos, { metricPositions: [4, -1], progressBar: false });
      expect(maxAbsDiff(someFast, someNaive), fn).toBeLessThan(1e-4);
    }
    model.resetHooks({ includingPermanent: true });
  });

  it("patching resid_pre at layer 0 changes the metric only at the corrupted positions", async () => {
    const model = await HookedTransformer.fromPretrained(G);
    const inputs = await goldenInputs;
    const [, cleanCache] = await model.runWithCache(inputs.get("clean_tokens")!);
    const corrupted = inputs.get("corrupted_tokens")!;
    const base = metric(await model.forward(corrupted));
    const res = await patching.getActPatchResidPre(model, corrupted, cleanCache, metric, { progressBar: false });
    const row = res.get(0).toArray() as number[];
    row.forEach((v, pos) => {
      if (pos === 3 || pos === 6) expect(Math.abs(v - base)).toBeGreaterThan(1e-3);
      else expect(Math.abs(v - base)).toBeLessThan(1e-5);
    });
  });

  it("runs only the patches that change what the metric reads", async () => {
    const model = await HookedTransformer.fromPretrained(G);
    const inputs = await goldenInputs;
    const [, cleanCache] = await model.runWithCache(inputs.get("clean_tokens")!);
    const corrupted = inputs.get("corrupted_tokens")!;
    const [batch, nPos] = corrupted.shape as [number, number];
    let variantsRun = 0;
    const count = (x: Tensor): void => {
      variantsRun += x.shape[0]! / batch;
    };
    const res = await model.withHooks([["blocks.2.hook_resid_post", count]], () =>
      patching.getActPatchResidPre(model, corrupted, cleanCache, metric, {
        metricPositions: "last",
        progressBar: false,
      }),
    );
    // clean and corrupted tokens differ at positions 3 and 6: at layer 0 only those residuals differ, later every
    // position from 3 on; patches writing equal values are not run, and their score is the corrupted one
    expect(variantsRun).toBe(1 + 2 + 2 * (nPos - 3)); // + the corrupted run
    const base = metric(await model.forward(corrupted));
    for (let l = 0; l < 3; l++) for (let pos = 0; pos < 3; pos++) expect(res.get(l, pos).item()).toBeCloseTo(base, 5);
  });

  it("reports progress and accepts an explicit index list", async () => {
    const model = await HookedTransformer.fromPretrained(G);
    const inputs = await goldenInputs;
    const [, cleanCache] = await model.runWithCache(inputs.get("clean_tokens")!);
    const seen: number[] = [];
    const res = await patching.genericActivationPatch(model, inputs.get("corrupted_tokens")!, cleanCache, metric, {
      activationName: "z",
      patchSetter: patching.layerPosHeadVectorPatchSetter,
      indices: [
        [0, 3, 1],
        [2, 6, 0],
      ],
      startPos: (i) => i[1]!,
      onProgress: (d) => seen.push(d),
      progressBar: false,
    });
    const full = await patching.getActPatchAttnHeadOutByPos(
      model,
      inputs.get("corrupted_tokens")!,
      cleanCache,
      metric,
      { progressBar: false },
    );
    expect(res.shape).toEqual([2]);
    expect(Math.abs(res.get(0).item() - full.get(0, 3, 1).item())).toBeLessThan(1e-5);
    expect(Math.abs(res.get(1).item() - full.get(2, 6, 0).item())).toBeLessThan(1e-5);
    expect(seen[seen.length - 1]).toBe(2);
  });
});
