// The IOI pipeline on toy-ioi: the one metric (every layout of the logits, both normalisations, bad shapes), the
// data module (generateDataAndCaches), and runIoiPipeline's results against known facts about the model
// (shared/models/TRAINING.md, from an independent PyTorch forward), against identities that must hold (DLA adds up
// to the logit difference, the lens ends at the model's logits, the whole model is F(M)), and against plain hooked
// runs computed here without the pipeline's code.
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, ShapeError, Tensor, patching, zeros, type ActivationCache } from "../../src/index.js";
import { generateIOIData } from "../../src/datasets/ioi-data.js";
import {
  generateDataAndCaches,
  ioiMetric,
  ioiPromptPairs,
  ioiResultsJson,
  logitsToLogitDiffs,
  makeIoiData,
  runIoiPipeline,
  type IoiData,
  type IoiResults,
} from "../../src/analysis/ioi/index.js";
import { runBoth } from "../../src/analysis/ioi/stages.js";

let model: HookedTransformer;
beforeAll(async () => {
  model = await HookedTransformer.fromPretrained("toy-ioi");
});

/** logit[b, end_b, IO_b] − logit[b, end_b, S_b], read one number at a time (no metric code involved). */
function directLogitDiffs(logits: Tensor, data: IoiData): number[] {
  const ds = data.dataset;
  return ds.ioTokenIDs.map(
    (io, b) =>
      logits.get(b, ds.wordIdx.end![b]!, io).item() - logits.get(b, ds.wordIdx.end![b]!, ds.sTokenIDs[b]!).item(),
  );
}
const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

describe("the IOI metric", () => {
  it("reads full logits, logits at the distinct end positions and one position per row alike; both normalisations", async () => {
    const data = makeIoiData(model, { n: 12, seed: 3 });
    const logits = (await model.forward(data.cleanTokens)) as Tensor;
    const direct = directLogitDiffs(logits, data);
    const m = ioiMetric(model, data.dataset);
    expect(m.ends.positions.length).toBeGreaterThan(1); // mixed templates end at several positions
    const atEnds = logits.get(":", Tensor.fromTypedArray(Int32Array.from(m.ends.positions), [m.ends.positions.length]));
    const perRow = logits
      .get(
        Tensor.fromTypedArray(Int32Array.from(direct.map((_, b) => b)), [12]),
        Tensor.fromTypedArray(Int32Array.from(m.ends.end), [12]),
      )
      .unsqueeze(1);
    for (const l of [logits, atEnds, perRow]) {
      Array.from(m.perPrompt(l).dataSync()).forEach((v, b) => expect(v).toBeCloseTo(direct[b]!, 4));
      expect(m(l)).toBeCloseTo(mean(direct), 4);
    }
    const clean = mean(direct);
    const noising = ioiMetric(model, data.dataset, { clean, corrupted: clean - 2 });
    const denoising = ioiMetric(model, data.dataset, { clean, corrupted: clean - 2, normalization: "denoising" });
    expect(noising(logits)).toBeCloseTo(0, 5);
    expect(denoising(logits)).toBeCloseTo(1, 5);
    expect(() => m(logits.narrow(1, 0, 3))).toThrow(ShapeError);
    expect(() => m(zeros([5, 1, 10]))).toThrow(/batch=12/);
    await expect(logitsToLogitDiffs(zeros([3, 2, 5]), data.dataset)).rejects.toThrow(ShapeError);
  });

  it("is the metric of toy-ioi's facts: logit diff 8.10 and > 0 on every prompt on the 100 seed-1 prompts", async () => {
    const data = makeIoiData(model, { n: 100, seed: 1 });
    const { logitDiff } = await runBoth(model, data, false);
    expect(logitDiff.clean).toBeCloseTo(8.1, 1);
    expect(logitDiff.cleanAccuracy).toBe(1);
    expect(logitDiff.flipped).toBeLessThan(1); // the corrupted prompts no longer contain the answer
  }, 60_000);
});

describe("generateDataAndCaches", () => {
  it("runs the model on both datasets; the metric is 0 on clean logits and -1 on ABC logits", async () => {
    const r = await generateDataAndCaches(model, { N: 8, seed: 42, prependBos: true, symmetric: true });
    expect(r.ioiDataset.N).toBe(8);
    expect(r.ioiLogits.shape).toEqual([8, r.ioiDataset.toks.shape[1], 50257]);
    expect(r.ioiCache.get("resid_post", 3).shape).toEqual([8, r.ioiDataset.toks.shape[1], 128]);
    expect(r.abcCache!.has("blocks.0.attn.hook_pattern")).toBe(true);
    const diffs = await logitsToLogitDiffs(r.ioiLogits, r.ioiDataset);
    expect(r.ioiAverageLogitDiff).toBeCloseTo(mean(diffs), 10);
    expect(await r.ioiMetricNoising!(r.ioiLogits)).toBeCloseTo(0, 10);
    expect(await r.ioiMetricNoising!(r.abcLogits!)).toBeCloseTo(-1, 10);
    const i = 3;
    const want =
      r.ioiLogits.get(i, r.ioiDataset.wordIdx.end![i]!, r.ioiDataset.ioTokenIDs[i]!).item() -
      r.ioiLogits.get(i, r.ioiDataset.wordIdx.end![i]!, r.ioiDataset.sTokenIDs[i]!).item();
    expect(diffs[i]).toBeCloseTo(want, 5);
  });

  it("onlyIoi stops after the clean run; namesFilter limits its cache", async () => {
    const r = await generateDataAndCaches(model, {
      N: 4,
      onlyIoi: true,
      namesFilter: (n: string) => n.endsWith("hook_z"),
    });
    expect(r.abcCache).toBeUndefined();
    expect(r.ioiMetricNoising).toBeUndefined();
    expect(r.abcDataset.N).toBe(4);
    expect(r.ioiCache.keys().every((k) => k.endsWith("hook_z"))).toBe(true);
  });

  it("the prompt pairs are the pipeline's dataset and its XYZ twin, cut before the answer", () => {
    const { ioiDataset, abcDataset } = generateIOIData({ N: 6, seed: 1 });
    const data = makeIoiData(model, { n: 6, seed: 1 });
    const pairs = ioiPromptPairs(data.dataset, data.flipped);
    expect(data.dataset.sentences).toEqual(ioiDataset.sentences); // the same generator and flip as cautils
    expect(data.flipped.sentences).toEqual(abcDataset.sentences);
    pairs.forEach((p, i) => {
      expect(`${p.clean}${p.answer}`).toBe(data.dataset.sentences[i]);
      expect(data.flipped.sentences[i]!.startsWith(p.corrupted)).toBe(true);
    });
  });
});

describe("runIoiPipeline on toy-ioi (20 prompts)", () => {
  const N = 20;
  let r: IoiResults;
  let data: IoiData;
  let cache: ActivationCache;
  let flippedLogits: Tensor;
  beforeAll(async () => {
    r = await runIoiPipeline(model, { n: N, seed: 1 });
    data = makeIoiData(model, { n: N, seed: 1 });
    [, cache] = await model.runWithCache(data.cleanTokens);
    flippedLogits = (await model.forward(data.flippedTokens)) as Tensor;
  }, 120_000);

  it("the logit differences are the model's; DLA, the lens and F(M) add up to them", async () => {
    const clean = directLogitDiffs((await model.forward(data.cleanTokens)) as Tensor, data);
    r.logitDiff.cleanPerPrompt.forEach((v, b) => expect(v).toBeCloseTo(clean[b]!, 4));
    expect(r.logitDiff.clean).toBeCloseTo(mean(clean), 4);
    expect(r.logitDiff.flipped).toBeCloseTo(mean(directLogitDiffs(flippedLogits, data)), 4);
    const { perHead, rest, unembedBias, logitDiff } = r.dlaHeads;
    expect(perHead.to("float64").sum().item() + rest + unembedBias).toBeCloseTo(r.logitDiff.clean, 3);
    expect(logitDiff).toBeCloseTo(r.logitDiff.clean, 3);
    expect(r.logitLens.logitDiff.at(-1)).toBeCloseTo(r.logitDiff.clean, 3); // the last stream is the model's output
    expect(r.circuit.fullModelScore).toBeCloseTo(r.logitDiff.clean, 3);
    expect(r.circuit.faithfulness).toBeCloseTo(r.circuit.circuitScore / r.circuit.fullModelScore, 10);
  });

  it("patching scores = plain hooked runs: the fraction of the logit difference restored", async () => {
    const { clean, flipped } = r.logitDiff;
    const restored = async (name: string, patch: (x: Tensor) => void): Promise<number> => {
      const logits = (await model.runWithHooks(data.flippedTokens, {
        fwdHooks: [
          [
            name,
            (x) => {
              patch(x);
            },
          ],
        ],
      })) as Tensor;
      return (mean(directLogitDiffs(logits, data)) - flipped) / (clean - flipped);
    };
    for (const [layer, word] of [
      [0, "IO"],
      [2, "end"],
      [3, "S2"],
    ] as const) {
      const pos = data.dataset.wordIdx[word]!;
      const src = cache.get(`blocks.${layer}.hook_resid_pre`);
      const want = await restored(`blocks.${layer}.hook_resid_pre`, (x) => {
        for (let b = 0; b < N; b++) x.set([b, pos[b]!], src.get(b, pos[b]!));
      });
      expect(r.patching.residPre.get(layer, r.patching.positions.indexOf(word)).item()).toBeCloseTo(want, 3);
    }
    const [l, h] = r.topHeads.byPatching[0]!;
    const z = cache.get(`blocks.${l}.attn.hook_z`);
    const want = await restored(`blocks.${l}.attn.hook_z`, (x) => {
      x.set([":", ":", h], z.get(":", ":", h));
    });
    expect(r.patching.heads.get(0, l, h).item()).toBeCloseTo(want, 3);
    // toy-ioi's facts (docs/ioi.md): the whole stream at `end` entering the last layer carries the answer; `punct` none
    expect(r.patching.residPre.get(3, r.patching.positions.indexOf("end")).item()).toBeGreaterThan(0.8);
    expect(Math.abs(r.patching.residPre.get(3, r.patching.positions.indexOf("punct")).item())).toBeLessThan(0.05);
  });

  it("the sweeps by end group = one sweep over every prompt with the denoising metric at the distinct end positions", async () => {
    const { clean, flipped } = r.logitDiff;
    const metric = ioiMetric(model, data.dataset, { clean, corrupted: flipped, normalization: "denoising" });
    const every = await patching.getActPatchAttnHeadAllPosEvery(model, data.flippedTokens, cache, metric, {
      metricPositions: metric.ends.positions,
    });
    expect(every.sub(r.patching.heads).abs().max().item()).toBeLessThan(2e-4);
  }, 60_000);

  it("path patching finds name movers with a negative direct effect; the circuit keeps most of the behaviour", () => {
    const pp = r.pathPatching!;
    expect(pp.nameMovers.length).toBeGreaterThan(0);
    for (const [l, h] of pp.nameMovers) expect(pp.toLogits.get(l, h).item()).toBeLessThan(0);
    expect(r.circuit.faithfulness).toBeGreaterThan(0.5);
    expect(r.circuit.minimality.length).toBe(Object.values(r.circuit.heads).flat().length);
  });

  it("the viewers' data is the first prompt's attention; results.json holds the same numbers", () => {
    const len = r.viewers.tokens.length;
    expect(r.viewers.patterns.shape).toEqual([4, 4, len, len]);
    const p = cache.get("blocks.1.attn.hook_pattern").get(0, 2).narrow(0, 0, len).narrow(1, 0, len);
    expect(r.viewers.patterns.get(1, 2).sub(p).abs().max().item()).toBe(0);
    const json = JSON.parse(JSON.stringify(ioiResultsJson(r))) as {
      logit_diff: { clean: number };
      patching: { head_out: number[][] };
      dla_heads: number[][];
    };
    expect(json.logit_diff.clean).toBe(r.logitDiff.clean);
    expect(json.patching.head_out).toEqual(r.patching.heads.get(0).toArray());
    expect(json.dla_heads).toEqual(r.dlaHeads.perHead.toArray());
  });

  it("a given circuit is validated as given", async () => {
    const circuit = { "name mover": r.pathPatching!.nameMovers };
    const given = await runIoiPipeline(model, {
      n: 8,
      seed: 1,
      skipPathPatching: true,
      circuit: { circuit, seqPosToKeep: { "name mover": "end" } },
    });
    expect(given.pathPatching).toBeUndefined();
    expect(given.circuit.heads).toEqual(circuit);
    expect(given.circuit.threshold).toBeNull();
    expect(given.circuit.minimality.map((m) => m.class)).toEqual(circuit["name mover"].map(() => "name mover"));
  }, 60_000);
});
