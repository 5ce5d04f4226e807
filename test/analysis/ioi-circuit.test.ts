// Circuit tools on toy-ioi: the IOI metric and per-head DLA (heads + rest = logit difference), mean ablation by
// template (the full circuit changes nothing; stacked scores equal one-at-a-time hooked runs; the hook works during
// generate with the KV cache), minimality, the backup-name-mover experiment, copy scores and the attention views,
// each against a direct recomputation.
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, Tensor, type ActivationCache, type IOIDataset } from "../../src/index.js";
import { generateIOIData } from "../../src/datasets/ioi-data.js";
import { logitsToAveLogitDiff, logitsToLogitDiffs } from "../../src/analysis/ioi/index.js";
import type { Head } from "../../src/analysis/path-patching.js";
import {
  attentionToWords,
  attentionVsProjection,
  backupNameMoverAnalysis,
  ioiHeadDla,
  valueWeightedPattern,
} from "../../src/analysis/ioi-circuit.js";
import { ioiMetric } from "../../src/analysis/ioi/metric.js";
import {
  addMeanAblationHook,
  circuitWithout,
  computeMeansByTemplate,
  getAllMinimalityScores,
  getCircuitScore,
  getCircuitScores,
  getHeadsAndPosnsToKeep,
  meanAblationHooks,
  type Circuit,
  type SeqPosToKeep,
} from "../../src/analysis/mean-ablation.js";
import { checkCopyCircuit, getCopyingScores } from "../../src/analysis/copy-scores.js";
import { NAMES } from "../../src/datasets/ioi-constants.js";
import { RunContext } from "../../src/model/run/context.js";

/** Component calls that fire no hook. */
const QUIET = RunContext.quiet();

const maxDiff = (a: Tensor, b: Tensor): number => a.sub(b).abs().max().item();
/** How many rows of logits [n, vocab] have their target among the 5 largest (fewer than 5 strictly larger). */
const inTop5 = (logits: Tensor, targets: number[]): number => {
  const n = targets.length;
  const own = logits.get(
    Tensor.fromTypedArray(
      Int32Array.from({ length: n }, (_, i) => i),
      [n],
    ),
    Tensor.fromTypedArray(Int32Array.from(targets), [n]),
  );
  return logits.gt(own.unsqueeze(1)).to("int32").sum(-1).lt(5).to("int32").sum().item();
};
const N = 24;

let model: HookedTransformer;
let ioi: IOIDataset;
let abc: IOIDataset;
let logits: Tensor;
let cache: ActivationCache;
let means: Tensor;

// toy-ioi's circuit as path patching reads it (docs/ioi.md)
const CIRCUIT: Circuit = {
  "recent name": [[0, 3]],
  "previous name": [[0, 3]],
  "S mover": [[1, 1]],
  "name mover": [
    [2, 0],
    [2, 2],
  ],
};
const KEEP: SeqPosToKeep = { "recent name": "end", "previous name": "S1+1", "S mover": "end", "name mover": "end" };

beforeAll(async () => {
  model = await HookedTransformer.fromPretrained("toy-ioi");
  ({ ioiDataset: ioi, abcDataset: abc } = generateIOIData({ N, seed: 5, prependBos: true }));
  [logits, cache] = await model.runWithCache(ioi.toks);
  means = await computeMeansByTemplate(model, abc);
});

describe("IOI metric and direct logit attribution", () => {
  it("ioiMetric equals logitsToAveLogitDiff on full logits, at end, and through the unembedding shortcut", async () => {
    const m = ioiMetric(model, ioi);
    const ref = await logitsToAveLogitDiff(logits, ioi);
    expect(Math.abs((await m(logits)) - ref)).toBeLessThan(1e-5);
    const rows = Tensor.fromTypedArray(
      Int32Array.from({ length: N }, (_, i) => i),
      [N],
    );
    const endIdx = Tensor.fromTypedArray(Int32Array.from(ioi.wordIdx.end!), [N]);
    expect(Math.abs((await m(logits.get(rows, endIdx).unsqueeze(1))) - ref)).toBeLessThan(1e-5);
    const finalResid = cache.get("blocks.3.hook_resid_post").get(rows, endIdx).unsqueeze(1);
    expect(Math.abs((await m.fromNormalizedResid(await model.lnFinal!.forward(finalResid, QUIET))) - ref)).toBeLessThan(
      1e-4,
    );
    expect(Array.from(m.perPrompt(logits).dataSync()).map((x) => Math.round(x * 1e3))).toEqual(
      (await logitsToLogitDiffs(logits, ioi)).map((x) => Math.round(x * 1e3)),
    );
    const norm = ioiMetric(model, ioi, { clean: ref, corrupted: 1 });
    expect(Math.abs(await norm(logits))).toBeLessThan(1e-6);
  });

  it("the heads' DLA + rest + b_U difference is the logit difference; the cached and recomputed norm scales agree", async () => {
    const d = ioiHeadDla(model, cache, ioi);
    expect(d.perHead.shape).toEqual([4, 4]);
    expect(d.perHeadPerPrompt.shape).toEqual([4, 4, N]);
    const sum = d.perHead.to("float64").sum().item() + d.rest + d.unembedBias;
    expect(Math.abs(sum - (await logitsToAveLogitDiff(logits, ioi)))).toBeLessThan(1e-4);
    expect(Math.abs(d.logitDiff - (await logitsToAveLogitDiff(logits, ioi)))).toBeLessThan(1e-4);
    const noScale = new Map([...cache.entries()].filter(([k]) => k !== "ln_final.hook_scale"));
    const { ActivationCache: AC } = await import("../../src/model/activation-cache.js");
    const d2 = ioiHeadDla(model, new AC(noScale, model), ioi);
    expect(maxDiff(d.perHead, d2.perHead)).toBeLessThan(1e-5);
  });

  it("backup name movers: the ablated head's DLA becomes 0, the identity holds after ablation, change = after − before", async () => {
    const r = await backupNameMoverAnalysis(model, ioi, { ablate: [[0, 3]], cache });
    expect(r.afterAblation.perHead.get(0, 3).item()).toBe(0);
    const hooks: [string, (z: Tensor) => void][] = [
      [
        "blocks.0.attn.hook_z",
        (z) => {
          ioi.wordIdx.end!.forEach((p, b) => z.set([b, p, 3], 0));
        },
      ],
    ];
    const ablatedLd = await logitsToAveLogitDiff(await model.runWithHooks(ioi.toks, { fwdHooks: hooks }), ioi);
    expect(Math.abs(r.afterAblation.logitDiff - ablatedLd)).toBeLessThan(1e-4);
    expect(maxDiff(r.change, r.afterAblation.perHead.sub(r.clean.perHead))).toBe(0);
    expect(Math.abs(r.naivePrediction - (r.clean.logitDiff - r.clean.perHead.get(0, 3).item()))).toBeLessThan(1e-9);
    expect(ablatedLd).toBeLessThan(r.clean.logitDiff - 3); // L0H3 at end is essential in toy-ioi
    // default: the top DLA head, zero-ablated; mean ablation also runs
    const top = await backupNameMoverAnalysis(model, ioi, { cache });
    const flat = Array.from(r.clean.perHead.dataSync());
    const best = flat.indexOf(Math.max(...flat));
    expect(top.ablated).toEqual([[Math.floor(best / 4), best % 4]]);
    const mean = await backupNameMoverAnalysis(model, ioi, { ablate: [[0, 3]], ablation: "mean", cache });
    expect(Number.isFinite(mean.afterAblation.logitDiff)).toBe(true);
  });
});

describe("mean ablation by template", () => {
  it("means are the template-group averages of hook_z, equal within each group", async () => {
    const [, abcCache] = await model.runWithCache(abc.toks);
    expect(means.shape).toEqual([4, N, ioi.toks.shape[1], 4, 32]);
    for (const group of abc.groups) {
      const z = abcCache.get("blocks.2.attn.hook_z");
      let acc = z.get(group[0]!).to("float64");
      for (const i of group.slice(1)) acc = acc.add(z.get(i).to("float64"));
      const avg = acc.div(group.length).to("float32");
      for (const i of group) expect(maxDiff(means.get(2, i), avg)).toBeLessThan(1e-5);
    }
    const fromCache = await computeMeansByTemplate(model, abc, { cache: abcCache });
    expect(maxDiff(fromCache, means)).toBeLessThan(1e-5); // a full cache runs the unfused norm path
  });

  it("keep masks: each prompt its own positions, or (seed/ARENA) the union over prompts", () => {
    const own = getHeadsAndPosnsToKeep(model, abc, { nm: [[2, 0]] }, { nm: "end" });
    const union = getHeadsAndPosnsToKeep(model, abc, { nm: [[2, 0]] }, { nm: "end" }, { unionOfPositions: true });
    expect(own[2]!.to("int32").sum().item()).toBe(N);
    const distinct = new Set(abc.wordIdx.end).size;
    expect(union[2]!.to("int32").sum().item()).toBe(N * distinct);
    expect(own[0]!.to("int32").sum().item()).toBe(0);
    ioi.wordIdx.end!.forEach((p, b) => expect(own[2]!.get(b, p, 0).item()).toBe(1));
    expect(() => getHeadsAndPosnsToKeep(model, abc, { x: [[1, 1]] }, {})).toThrow(/no entry in seqPosToKeep/);
  });

  it("the full circuit changes nothing; the empty one equals replacing every hook_z by its means", async () => {
    const all: Head[] = Array.from({ length: 16 }, (_, i) => [Math.floor(i / 4), i % 4]);
    const plain = await model.forward(ioi.toks);
    const h = await addMeanAblationHook(model, abc, { all }, { all: "all" }, { means });
    try {
      expect(maxDiff(await model.forward(ioi.toks), plain)).toBe(0);
    } finally {
      h.remove();
    }
    const F = ioiMetric(model, ioi);
    expect(
      Math.abs(
        (await getCircuitScore(model, {
          dataset: ioi,
          meansDataset: abc,
          circuit: { all },
          seqPosToKeep: { all: "all" },
          means,
        })) - (await F(logits)),
      ),
    ).toBeLessThan(1e-4);
    const empty = await getCircuitScore(model, {
      dataset: ioi,
      meansDataset: abc,
      circuit: {},
      seqPosToKeep: {},
      means,
    });
    const hooks = [0, 1, 2, 3].map(
      (l) =>
        [
          `blocks.${l}.attn.hook_z`,
          (z: Tensor) => {
            z.copy_(means.get(l));
          },
        ] as [string, (z: Tensor) => void],
    );
    expect(Math.abs(empty - (await F(await model.runWithHooks(ioi.toks, { fwdHooks: hooks }))))).toBeLessThan(1e-4);
  });

  it("stacked circuit scores equal one run per variant with the permanent hook (seed's add_mean_ablation_hook)", async () => {
    const removals: Head[][] = [
      [],
      [[0, 3]],
      [[1, 1]],
      [
        [2, 0],
        [2, 2],
      ],
    ];
    const stacked = await getCircuitScores(model, removals, {
      dataset: ioi,
      meansDataset: abc,
      circuit: CIRCUIT,
      seqPosToKeep: KEEP,
      means,
      maxRows: 2 * N * ioi.toks.shape[1]!,
    });
    const F = ioiMetric(model, ioi);
    for (let i = 0; i < removals.length; i++) {
      const h = await addMeanAblationHook(model, abc, circuitWithout(CIRCUIT, removals[i]!), KEEP, { means });
      try {
        expect(Math.abs(stacked[i]! - (await F(await model.forward(ioi.toks))))).toBeLessThan(1e-4);
      } finally {
        h.remove();
      }
    }
    expect(model.hookPoints.get("blocks.0.attn.hook_z")!.hasHooks).toBe(false);
    // the circuit keeps most of the logit difference; without L0H3 little is left
    expect(stacked[0]).toBeGreaterThan(0.5 * (await F(logits)));
    expect(stacked[1]).toBeLessThan(0.4 * stacked[0]!);
  });

  it("the hook keeps working during generate with the KV cache (same tokens as without it)", async () => {
    const rows = ioi.toks.narrow(0, 0, 4);
    const sub = means.narrow(1, 0, 4);
    const keep = getHeadsAndPosnsToKeep(model, abc, CIRCUIT, KEEP).map((k) => k.narrow(0, 0, 4));
    const hooks = meanAblationHooks(sub, keep);
    for (const [name, fn] of hooks) model.addHook(name, fn, { isPermanent: true });
    try {
      const withKv = (await model.generate(rows, {
        maxNewTokens: 4,
        doSample: false,
        useKvCache: true,
        stopAtEos: false,
      })) as Tensor;
      const without = (await model.generate(rows, {
        maxNewTokens: 4,
        doSample: false,
        useKvCache: false,
        stopAtEos: false,
      })) as Tensor;
      expect(Array.from(withKv.dataSync())).toEqual(Array.from(without.dataSync()));
      const first = await model.forward(rows);
      expect(maxDiff(first, await model.forward(rows))).toBe(0);
      const plain = await model.runWithHooks(rows, { fwdHooks: [] });
      expect(maxDiff(first, plain)).toBe(0); // permanent hooks stay in runWithHooks
    } finally {
      model.resetHooks({ includingPermanent: true });
    }
    const unablated = await model.forward(rows);
    for (const [name, fn] of hooks) model.addHook(name, fn);
    try {
      expect(maxDiff(await model.forward(rows), unablated)).toBeGreaterThan(1e-3);
      await expect(model.forward(ioi.toks.narrow(0, 0, 2))).rejects.toThrow(/batch 2, the means were computed for 4/);
    } finally {
      model.resetHooks({ includingPermanent: true });
    }
  });

  it("minimality scores are |F(C \\ (K ∪ v)) − F(C \\ K)| / F(M)", async () => {
    const kFor: [Head, Head[]][] = [
      [[0, 3], []],
      [[2, 0], [[2, 2]]],
      [[2, 2], [[2, 0]]],
      [[1, 1], [[0, 3]]],
    ];
    const r = await getAllMinimalityScores(model, {
      dataset: ioi,
      meansDataset: abc,
      circuit: CIRCUIT,
      seqPosToKeep: KEEP,
      means,
      kForEachComponent: kFor,
    });
    const F = async (K: Head[]): Promise<number> =>
      getCircuitScore(model, {
        dataset: ioi,
        meansDataset: abc,
        circuit: circuitWithout(CIRCUIT, K),
        seqPosToKeep: KEEP,
        means,
      });
    expect(Math.abs(r.fullModelScore - (await logitsToAveLogitDiff(logits, ioi)))).toBeLessThan(1e-4);
    for (const [i, [v, K]] of kFor.entries()) {
      const expected = Math.abs((await F([...K, v])) - (await F(K))) / r.fullModelScore;
      expect(Math.abs(r.scores[i]!.score - expected)).toBeLessThan(1e-5);
      expect(r.scores[i]!.head).toEqual(v);
    }
    await expect(
      getAllMinimalityScores(model, {
        dataset: ioi,
        meansDataset: abc,
        circuit: CIRCUIT,
        seqPosToKeep: KEEP,
        means,
        kForEachComponent: [[[0, 3], [[0, 3]]]],
      }),
    ).rejects.toThrow(/in its own K/);
  });
});

describe("copy scores", () => {
  it("getCopyingScores equals a direct per-head computation", async () => {
    const r = await getCopyingScores(model, { names: NAMES.slice(0, 30) });
    expect(r.positive.shape).toEqual([4, 4]);
    const emb = model.W_E.get(Tensor.fromTypedArray(Int32Array.from(r.tokens), [r.tokens.length])).unsqueeze(0);
    const b0 = model.blocks[0]!;
    const resid = emb.add(await b0.mlp!.forward(await b0.ln2!.forward(emb, QUIET), QUIET));
    for (const [l, h] of [
      [1, 1],
      [2, 0],
      [3, 2],
    ] as Head[]) {
      for (const sign of [1, -1]) {
        const out = resid.matmul(model.W_V.get(l, h)).matmul(model.W_O.get(l, h)).mul(sign);
        const lg = model.unembed.forward(await model.lnFinal!.forward(out, QUIET)).squeeze(0); // [names, vocab]
        const hits = inTop5(lg, r.tokens);
        const mine = (sign === 1 ? r.positive : r.negative).get(l, h).item();
        expect(mine, `${l}.${h} ${sign}`).toBeCloseTo(hits / r.tokens.length, 6);
        if (sign === 1 && l === 1) expect(hits).toBeGreaterThan(0);
      }
    }
    expect(r.positive.get(1, 1).item()).toBeGreaterThan(0.3); // L1H1 copies names
  });

  it("checkCopyCircuit equals a direct recomputation from blocks.0.hook_resid_post", async () => {
    for (const [l, h, neg] of [
      [1, 1, false],
      [2, 0, false],
      [2, 2, true],
    ] as [number, number, boolean][]) {
      const r = await checkCopyCircuit(model, l, h, ioi, { neg, cache });
      const resid = cache.get("blocks.0.hook_resid_post");
      const rows = Tensor.fromTypedArray(
        Int32Array.from({ length: N }, (_, i) => i),
        [N],
      );
      let right = 0;
      for (const w of ["IO", "S1", "S2"]) {
        const x = resid.get(rows, Tensor.fromTypedArray(Int32Array.from(ioi.wordIdx[w]!), [N]));
        const v = x.matmul(model.W_V.get(l, h)).add(model.b_V.get(l, h));
        const o = v
          .matmul(model.W_O.get(l, h))
          .mul(neg ? -1 : 1)
          .unsqueeze(0);
        const lg = model.unembed.forward(await model.lnFinal!.forward(o, QUIET)).squeeze(0);
        right += inTop5(lg, w === "IO" ? ioi.ioTokenIDs : ioi.sTokenIDs);
      }
      expect(r.nRight).toBe(right);
      expect(r.percent).toBeCloseTo((100 * right) / (3 * N), 9);
      expect(r.total).toBe(3 * N);
      if (r.failures.length) {
        // the reported top k of a failure is torch's topk of that row
        const f = r.failures[0]!;
        const x = resid.get(f.prompt, ioi.wordIdx[f.word]![f.prompt]!);
        const o = x
          .matmul(model.W_V.get(l, h))
          .add(model.b_V.get(l, h))
          .matmul(model.W_O.get(l, h))
          .mul(neg ? -1 : 1)
          .reshape(1, 1, -1);
        const lg = model.unembed.forward(await model.lnFinal!.forward(o, QUIET)).reshape(-1);
        expect(f.topK).toEqual(Array.from(lg.topk(5).indices.dataSync()));
      }
    }
  });
});

describe("attention views", () => {
  it("value-weighted patterns are α·‖v‖ and bound ‖z‖ (triangle inequality)", () => {
    const w = valueWeightedPattern(cache, 2);
    const pattern = cache.get("blocks.2.attn.hook_pattern");
    const v = cache.get("blocks.2.attn.hook_v");
    expect(w.shape).toEqual(pattern.shape);
    for (const [b, h, q, k] of [
      [0, 0, 10, 3],
      [5, 2, 15, 15],
      [7, 3, 4, 0],
    ]) {
      expect(w.get(b!, h!, q!, k!).item()).toBeCloseTo(
        pattern.get(b!, h!, q!, k!).item() * v.get(b!, k!, h!).norm().item(),
        4,
      );
    }
    const zNorm = cache.get("blocks.2.attn.hook_z").norm(-1).permute(0, 2, 1); // [batch, head, q]
    expect(zNorm.sub(w.sum(-1)).max().item()).toBeLessThan(1e-4);
    expect(maxDiff(valueWeightedPattern(cache, 2, 1), w.get(":", 1))).toBe(0);
  });

  it("attention vs projection data and attention to words read the cache", () => {
    const r = attentionVsProjection(model, cache, ioi, 2, 0);
    expect(r.attnToIO).toHaveLength(N);
    const b = 3;
    const end = ioi.wordIdx.end![b]!;
    expect(r.attnToIO[b]).toBeCloseTo(
      cache.get("blocks.2.attn.hook_pattern").get(b, 0, end, ioi.wordIdx.IO![b]!).item(),
      6,
    );
    expect(r.attnToS[b]).toBeCloseTo(
      cache.get("blocks.2.attn.hook_pattern").get(b, 0, end, ioi.wordIdx.S1![b]!).item(),
      6,
    );
    const out = cache.get("blocks.2.attn.hook_z").get(b, end, 0).matmul(model.W_O.get(2, 0));
    expect(r.projectionIO[b]).toBeCloseTo(out.mul(model.W_U.get(":", ioi.ioTokenIDs[b]!)).sum().item(), 4);
    const words = attentionToWords(
      cache,
      ioi,
      [
        [2, 0],
        [0, 3],
      ],
      { words: ["IO", "S1", "S2"] },
    );
    const vals = ioi.wordIdx.IO!.map((p, i) =>
      cache.get("blocks.2.attn.hook_pattern").get(i, 0, ioi.wordIdx.end![i]!, p).item(),
    );
    expect(words[0]!.mean.IO).toBeCloseTo(vals.reduce((a, c) => a + c, 0) / N, 6);
    expect(words[1]!.mean.S2).toBeGreaterThan(0.3); // L0H3 reads S2 from end
    const scores = attentionToWords(cache, ioi, [[2, 0]], { mode: "scores", words: ["IO"] });
    expect(Number.isFinite(scores[0]!.mean.IO)).toBe(true);
  });
});
