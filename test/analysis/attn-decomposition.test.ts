// The copy-suppression toolkit: projections, attention scores as linear functions of queries / keys, the exact
// decomposition of a score by residual components (plain, S1-subtracted, ∥/⟂ four-way), the effective embedding and
// the position-flip patching experiment. Invariants are checked against the model's own cached scores, on toy-ioi
// (folded LN) and on the golden model without processing (LN with weights and biases).
import { beforeAll, describe, expect, it } from "vitest";
import {
  ActivationCache,
  HookedTransformer,
  IOIDataset,
  Tensor,
  randn,
  Generator,
  stack,
  tensor,
} from "../../src/index.js";
import { generateDataAndCaches } from "../../src/analysis/ioi/index.js";
import {
  attnScoresAsLinearFuncOfKeys,
  attnScoresAsLinearFuncOfQueries,
  attnScoresForKeySideVectors,
  attnScoresForQuerySideVectors,
  copySuppressionHookNames,
  decomposeAttnScores,
  decomposeAttnScoresFull,
  getEffectiveEmbedding,
  headResultsAt,
  positionFlipPatching,
} from "../../src/analysis/attn-decomposition.js";
import { project } from "../../src/analysis/projection.js";
import { GOLDEN_CASES, GOLDEN_DIR, goldenInputs, maxAbsDiff } from "../golden.js";

const dot = (a: Tensor, b: Tensor): Tensor => a.mul(b).sum(-1);

describe("project", () => {
  const g = new Generator(7);
  const v = randn([5, 3, 16], { generator: g });
  const d1 = randn([5, 3, 16], { generator: g });
  const d2 = randn([5, 3, 16], { generator: g });

  it("one direction: parallel ∥ d, perp ⟂ d, parallel + perp = v, coeff = v·d/|d|, Pythagoras", () => {
    const p = project(v, d1);
    expect(maxAbsDiff(p.parallel.add(p.perp), v)).toBeLessThan(1e-5);
    expect(dot(p.perp, d1).abs().max().item()).toBeLessThan(1e-4);
    const unit = d1.div(d1.norm(-1, true));
    expect(maxAbsDiff(p.parallel, unit.mul(dot(v, unit).unsqueeze(-1)))).toBeLessThan(1e-5);
    expect(maxAbsDiff(p.coeffs.squeeze(-1), dot(v, unit))).toBeLessThan(1e-5);
    const lhs = v.norm(-1).square();
    expect(maxAbsDiff(p.parallel.norm(-1).square().add(p.perp.norm(-1).square()), lhs)).toBeLessThan(1e-3);
    expect(p.coeffs.shape).toEqual([5, 3, 1]);
    expect(p.basis.shape).toEqual([5, 3, 16, 1]);
  });

  it("is idempotent, and scale-invariant in the direction", () => {
    const p = project(v, d1);
    expect(maxAbsDiff(project(p.parallel, d1).parallel, p.parallel)).toBeLessThan(1e-5);
    expect(project(p.perp, d1).parallel.abs().max().item()).toBeLessThan(1e-5);
    expect(maxAbsDiff(project(v, d1.mul(-3.5)).parallel, p.parallel)).toBeLessThan(1e-5);
  });

  it("several directions: perp ⟂ each, the basis is orthonormal, order does not change the subspace", () => {
    const p = project(v, [d1, d2]);
    expect(dot(p.perp, d1).abs().max().item()).toBeLessThan(1e-4);
    expect(dot(p.perp, d2).abs().max().item()).toBeLessThan(1e-4);
    const gram = p.basis.mT.matmul(p.basis); // [5, 3, 2, 2]
    const eye = tensor([
      [1, 0],
      [0, 1],
    ]);
    expect(maxAbsDiff(gram, eye.expand(5, 3, 2, 2))).toBeLessThan(1e-5);
    expect(maxAbsDiff(project(v, [d2, d1]).parallel, p.parallel)).toBeLessThan(1e-5);
    // the stacked layout [..., d, k] is the same
    expect(
      maxAbsDiff(
        project(v, d1.unsqueeze(-1).expand(5, 3, 16, 1).contiguous(), { stacked: true }).parallel,
        project(v, d1).parallel,
      ),
    ).toBe(0);
    const stacked = project(v, stack([d1, d2], -1), { stacked: true });
    expect(maxAbsDiff(stacked.parallel, p.parallel)).toBe(0);
  });

  it("dependent and zero directions add nothing; a broadcast direction serves every vector", () => {
    expect(maxAbsDiff(project(v, [d1, d1.mul(2)]).parallel, project(v, d1).parallel)).toBeLessThan(1e-5);
    const z = project(v, d1.mul(0));
    expect(z.parallel.abs().max().item()).toBe(0);
    expect(maxAbsDiff(z.perp, v)).toBe(0);
    const e0 = tensor(Array.from({ length: 16 }, (_, i) => (i === 0 ? 2 : 0)));
    const b = project(v, e0);
    expect(b.parallel.shape).toEqual([5, 3, 16]);
    expect(maxAbsDiff(b.parallel.get("...", 0), v.get("...", 0))).toBeLessThan(1e-6);
    expect(b.parallel.get("...", "1:").abs().max().item()).toBe(0);
  });

  it("onlyKeep keeps coefficients of one sign", () => {
    const pos = project(v, d1, { onlyKeep: "pos" });
    const neg = project(v, d1, { onlyKeep: "neg" });
    expect(maxAbsDiff(pos.parallel.add(neg.parallel), project(v, d1).parallel)).toBeLessThan(1e-6);
    expect(pos.coeffs.min().item()).toBeGreaterThanOrEqual(0);
    expect(neg.coeffs.max().item()).toBeLessThanOrEqual(0);
  });

  it("rejects mismatched shapes", () => {
    expect(() => project(v, randn([16, 3]))).toThrow(/d=16/);
    expect(() => project(v, [])).toThrow(/at least one/);
  });
});

describe("copy suppression on toy-ioi", () => {
  let model: HookedTransformer;
  let ds: IOIDataset;
  let cache: ActivationCache;
  const head: [number, number] = [3, 0];

  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained("toy-ioi");
    const r = await generateDataAndCaches(model, { N: 24, seed: 42, prependBos: true, onlyIoi: true });
    ds = r.ioiDataset;
    cache = r.ioiCache;
  });

  /** score(end→IO) per row from the cache, minus score(end→S1) when asked */
  const cachedScore = (layer: number, h: number, sub = false): Tensor => {
    const s = cache.get("attn_scores", layer);
    return tensor(
      ds.wordIdx.end!.map(
        (e, b) => s.get(b, h, e, ds.wordIdx.IO![b]!).item() - (sub ? s.get(b, h, e, ds.wordIdx.S1![b]!).item() : 0),
      ),
    );
  };
  /** the ln1 output (LNPre on a folded model: centred / scale) at the positions */
  const normalizedAt = (layer: number, pos: number[]): Tensor => {
    const n = cache.get("normalized", layer, "ln1");
    return tensor(pos.map((p, b) => Array.from(n.get(b, p).dataSync())));
  };

  it("the score is a linear function of the queries (keys fixed) and of the keys (queries fixed)", () => {
    for (const [layer, h] of [
      [3, 0],
      [2, 2],
    ] as const) {
      const fq = attnScoresAsLinearFuncOfQueries(model, cache, { head: [layer, h], dataset: ds });
      expect(fq.linearMap.shape).toEqual([24, model.cfg.dModel]);
      expect(fq.bias.shape).toEqual([24]);
      const uEnd = normalizedAt(layer, ds.wordIdx.end!);
      expect(maxAbsDiff(dot(uEnd, fq.linearMap).add(fq.bias), cachedScore(layer, h))).toBeLessThan(1e-4);
      const fk = attnScoresAsLinearFuncOfKeys(model, cache, { head: [layer, h], dataset: ds });
      const uIO = normalizedAt(layer, ds.wordIdx.IO!);
      expect(maxAbsDiff(dot(uIO, fk.linearMap).add(fk.bias), cachedScore(layer, h))).toBeLessThan(1e-4);
      // subtracting S1: queries → the map of k_IO − k_S1; keys → zero bias, input u_IO − u_S1
      const fqs = attnScoresAsLinearFuncOfQueries(model, cache, {
        head: [layer, h],
        dataset: ds,
        subtractS1AttnScores: true,
      });
      expect(maxAbsDiff(dot(uEnd, fqs.linearMap).add(fqs.bias), cachedScore(layer, h, true))).toBeLessThan(1e-4);
      const fks = attnScoresAsLinearFuncOfKeys(model, cache, {
        head: [layer, h],
        dataset: ds,
        subtractS1AttnScores: true,
      });
      expect(fks.bias.abs().max().item()).toBe(0);
      const uS1 = normalizedAt(layer, ds.wordIdx.S1!);
      expect(maxAbsDiff(dot(uIO.sub(uS1), fks.linearMap), cachedScore(layer, h, true))).toBeLessThan(1e-4);
    }
  });

  it("side vectors: the actual inputs reproduce the cached scores and pattern; other vectors move them", () => {
    const uEnd = normalizedAt(3, ds.wordIdx.end!);
    const uIO = normalizedAt(3, ds.wordIdx.IO!);
    const W_U_IO = model.W_U.mT.get(ds.ioTokenIDsTensor);
    const q = attnScoresForQuerySideVectors(model, cache, {
      head,
      dataset: ds,
      vectors: { actual: uEnd, "W_U[IO]": W_U_IO },
      normalize: false,
    });
    expect(maxAbsDiff(q.actual!.scores, cachedScore(3, 0))).toBeLessThan(1e-4);
    const pattern = cache.get("pattern", 3);
    const cachedProb = tensor(ds.wordIdx.end!.map((e, b) => pattern.get(b, 0, e, ds.wordIdx.IO![b]!).item()));
    expect(maxAbsDiff(q.actual!.probs!, cachedProb)).toBeLessThan(1e-5);
    expect(q["W_U[IO]"]!.scores.shape).toEqual([24]);
    // normalising an already-normalised LNPre input changes (almost) nothing
    const qn = attnScoresForQuerySideVectors(model, cache, { head, dataset: ds, vectors: { actual: uEnd } });
    expect(maxAbsDiff(qn.actual!.scores, cachedScore(3, 0))).toBeLessThan(1e-3);
    const k = attnScoresForKeySideVectors(model, cache, {
      head,
      dataset: ds,
      vectors: { actual: uIO },
      normalize: false,
    });
    expect(maxAbsDiff(k.actual!.scores, cachedScore(3, 0))).toBeLessThan(1e-4);
    expect(maxAbsDiff(k.actual!.probs!, cachedProb)).toBeLessThan(1e-5);
    const uS1 = normalizedAt(3, ds.wordIdx.S1!);
    const ks = attnScoresForKeySideVectors(model, cache, {
      head,
      dataset: ds,
      subtractS1AttnScores: true,
      vectors: { actual: { vector: uIO, baseline: uS1 } },
      normalize: false,
    });
    expect(maxAbsDiff(ks.actual!.scores, cachedScore(3, 0, true))).toBeLessThan(1e-4);
    expect(ks.actual!.probs).toBeNull();
    expect(() =>
      attnScoresForKeySideVectors(model, cache, { head, dataset: ds, subtractS1AttnScores: true, vectors: { x: uIO } }),
    ).toThrow(/baseline/);
  });

  for (const decomposeBy of ["keys", "queries"] as const) {
    for (const sub of [false, true]) {
      it(`decompose by ${decomposeBy}${sub ? ", S1 subtracted" : ""}: the components sum to the cached score`, async () => {
        const d = await decomposeAttnScores(model, cache, {
          head,
          dataset: ds,
          decomposeBy,
          subtractS1AttnScores: sub,
        });
        const L = head[0];
        const C = 4 + L * (model.cfg.nHeads + 1);
        expect(d.labels.length).toBe(C);
        expect(d.labels.slice(0, 5)).toEqual(["W_E", "W_pos", decomposeBy === "keys" ? "b_K" : "b_Q", "b_O", "L0H0"]);
        expect(d.labels[4 + model.cfg.nHeads]).toBe("MLP0");
        expect(d.contributions.shape).toEqual([1, 1, C, 24]);
        expect(d.grid.shape).toEqual([1, 1, 1 + L, model.cfg.nHeads + 1]);
        expect(Math.abs(d.grid.sum().item() - d.mean.sum().item())).toBeLessThan(1e-4);
        expect(maxAbsDiff(d.actual!, cachedScore(3, 0, sub))).toBeLessThan(1e-6);
        expect(maxAbsDiff(d.total, d.actual!)).toBeLessThan(1e-4);
        if (sub && decomposeBy === "keys") expect(d.mean.get(0, 0, 2).item()).toBe(0); // b_K cancels
      });
    }
  }

  it("four-way split (q ∥/⟂ W_U[IO] × k ∥/⟂ MLP0): ∥ + ⟂ = total, per component, both ways", async () => {
    for (const decomposeBy of ["keys", "queries"] as const) {
      for (const sub of [false, true]) {
        const opts = { head, dataset: ds, decomposeBy, subtractS1AttnScores: sub } as const;
        const plain = await decomposeAttnScores(model, cache, opts);
        const four = await decomposeAttnScores(model, cache, {
          ...opts,
          interveneOnQuery: "project_to_W_U_IO",
          interveneOnKey: "project_to_MLP0",
        });
        expect(four.contributions.shape.slice(0, 2)).toEqual([2, 2]);
        expect(maxAbsDiff(four.contributions.sum([0, 1]), plain.contributions.get(0, 0))).toBeLessThan(1e-4);
        expect(maxAbsDiff(four.total, plain.actual!)).toBeLessThan(1e-4);
        if (decomposeBy === "keys") {
          expect(four.fixedFacets).toEqual(["IO_dir", "IO_perp"]);
          expect(four.decomposedFacets).toEqual(["MLP0_dir", "MLP0_perp"]);
        } else {
          expect(four.fixedFacets).toEqual(["MLP0_dir", "MLP0_perp"]);
          expect(four.decomposedFacets).toEqual(["IO_dir", "IO_perp"]);
        }
        // the bias term sits only in the ⟂ part of the decomposed side
        expect(four.mean.get(":", 0, 2).abs().max().item()).toBe(0);
        expect(four.get("IO_dir", "MLP0_dir").shape).toEqual([plain.labels.length]);
        expect(maxAbsDiff(four.get("MLP0_perp", "IO_dir"), four.get("IO_dir", "MLP0_perp"))).toBe(0);
        // one side split at a time also adds up
        const qOnly = await decomposeAttnScores(model, cache, { ...opts, interveneOnQuery: "project_to_W_U_IO" });
        expect(maxAbsDiff(qOnly.total, plain.actual!)).toBeLessThan(1e-4);
        const kOnly = await decomposeAttnScores(model, cache, { ...opts, interveneOnKey: "project_to_MLP0" });
        expect(maxAbsDiff(kOnly.total, plain.actual!)).toBeLessThan(1e-4);
      }
    }
  });

  it("the MLP0 direction can be the effective embedding or include layer 0's heads; still exact", async () => {
    for (const o of [
      { useEffectiveEmbedding: true },
      { useLayer0Heads: true },
      { useEffectiveEmbedding: true, useLayer0Heads: true },
    ]) {
      const d = await decomposeAttnScores(model, cache, {
        head,
        dataset: ds,
        decomposeBy: "keys",
        interveneOnKey: "project_to_MLP0",
        subtractS1AttnScores: true,
        ...o,
      });
      expect(maxAbsDiff(d.total, d.actual!)).toBeLessThan(1e-4);
    }
    const withS1 = await decomposeAttnScores(model, cache, {
      head,
      dataset: ds,
      decomposeBy: "queries",
      interveneOnQuery: "project_to_W_U_IO",
      includeS1InUnembedProjection: true,
    });
    expect(maxAbsDiff(withS1.total, withS1.actual!)).toBeLessThan(1e-4);
  });

  it("sub_ interventions replace the fixed side: sub_W_U_IO uses normalised W_U[IO] as the query", async () => {
    const d = await decomposeAttnScores(model, cache, {
      head,
      dataset: ds,
      decomposeBy: "keys",
      interveneOnQuery: "sub_W_U_IO",
    });
    expect(d.fixedFacets).toEqual(["IO_sub"]);
    const W_U_IO = model.W_U.mT.get(ds.ioTokenIDsTensor);
    const viaVectors = attnScoresForQuerySideVectors(model, cache, { head, dataset: ds, vectors: { w: W_U_IO } });
    expect(maxAbsDiff(d.total, viaVectors.w!.scores)).toBeLessThan(1e-4);
    const m = await decomposeAttnScores(model, cache, {
      head,
      dataset: ds,
      decomposeBy: "queries",
      interveneOnKey: "sub_MLP0",
    });
    expect(m.fixedFacets).toEqual(["MLP0_sub"]);
    const mlp0 = cache.get("mlp_out", 0);
    const mlpIO = tensor(ds.wordIdx.IO!.map((p, b) => Array.from(mlp0.get(b, p).dataSync())));
    const viaKeys = attnScoresForKeySideVectors(model, cache, { head, dataset: ds, vectors: { m: mlpIO } });
    expect(maxAbsDiff(m.total, viaKeys.m!.scores)).toBeLessThan(1e-4);
    await expect(
      decomposeAttnScores(model, cache, { head, dataset: ds, decomposeBy: "keys", interveneOnKey: "sub_MLP0" }),
    ).rejects.toThrow(/project_to_MLP0/);
    await expect(
      decomposeAttnScores(model, cache, { head, dataset: ds, decomposeBy: "queries", interveneOnQuery: "sub_W_U_IO" }),
    ).rejects.toThrow(/project_to_W_U_IO/);
  });

  it("full bilinear decomposition (query component × key component × 4 splits) sums to the score", async () => {
    for (const sub of [false, true]) {
      const f = await decomposeAttnScoresFull(model, cache, { head, dataset: ds, subtractS1AttnScores: sub });
      const C = 4 + 3 * 5;
      expect(f.mean.shape).toEqual([4, C, C]);
      expect(maxAbsDiff(f.total, f.actual!)).toBeLessThan(1e-4);
      expect(Math.abs(f.mean.sum().item() - f.actual!.mean().item())).toBeLessThan(1e-4);
    }
  });

  it("works from a cache restricted to copySuppressionHookNames, and from hook_result instead of z·W_O", async () => {
    const names = new Set(copySuppressionHookNames(model, 3));
    const upTo4 = { stopAtLayer: 4 }; // the unembedding is not needed
    const [, small] = await model.runWithCache(ds.toks, { ...upTo4, namesFilter: (n) => names.has(n) });
    const d = await decomposeAttnScores(model, small, {
      head,
      dataset: ds,
      decomposeBy: "keys",
      interveneOnQuery: "project_to_W_U_IO",
      interveneOnKey: "project_to_MLP0",
    });
    expect(maxAbsDiff(d.total, cachedScore(3, 0))).toBeLessThan(1e-4);
    model.setUseAttnResult(true);
    try {
      const [, withResult] = await model.runWithCache(ds.toks, upTo4);
      expect(
        maxAbsDiff(headResultsAt(model, withResult, 1, ds.wordIdx.IO!), headResultsAt(model, cache, 1, ds.wordIdx.IO!)),
      ).toBeLessThan(1e-5);
      const d2 = await decomposeAttnScores(model, withResult, { head, dataset: ds, decomposeBy: "queries" });
      expect(maxAbsDiff(d2.total, cachedScore(3, 0))).toBeLessThan(1e-4);
    } finally {
      model.setUseAttnResult(false);
    }
    // a run with split q/k/v inputs caches ln1's scale per head
    model.setUseSplitQkvInput(true);
    try {
      const [, split] = await model.runWithCache(ds.toks, { ...upTo4, namesFilter: (n) => names.has(n) });
      expect(split.get("scale", 3, "ln1").ndim).toBe(4);
      const d3 = await decomposeAttnScores(model, split, {
        head,
        dataset: ds,
        decomposeBy: "keys",
        interveneOnKey: "project_to_MLP0",
        subtractS1AttnScores: true,
      });
      expect(maxAbsDiff(d3.total, cachedScore(3, 0, true))).toBeLessThan(1e-4);
    } finally {
      model.setUseSplitQkvInput(false);
    }
  });

  it("checks its inputs", async () => {
    await expect(decomposeAttnScores(model, cache, { head: [4, 0], dataset: ds, decomposeBy: "keys" })).rejects.toThrow(
      /layer 4/,
    );
    await expect(
      decomposeAttnScores(model, cache, { head: [3, 0], positions: { end: [1, 2], IO: [0, 0] }, decomposeBy: "keys" }),
    ).rejects.toThrow(/batch 24/);
    expect(() => attnScoresAsLinearFuncOfQueries(model, cache, { head })).toThrow(/positions/);
    expect(() =>
      attnScoresAsLinearFuncOfQueries(model, cache, {
        head,
        positions: { end: ds.wordIdx.end, IO: ds.wordIdx.IO },
        subtractS1AttnScores: true,
      }),
    ).toThrow(/S1/);
  });

  it("effective embedding: a lone token's block-0 output; subsets are rows of the whole", async () => {
    const toks = [ds.ioTokenIDs[0]!, ds.sTokenIDs[0]!, 262];
    const ee = await getEffectiveEmbedding(model, { tokens: toks, attnBias: true });
    expect(ee.W_EE.shape).toEqual([3, model.cfg.dModel]);
    // a one-token sequence attends only to itself; zeroing the positional embedding leaves exactly W_EE
    for (let i = 0; i < toks.length; i++) {
      let post: Tensor | null = null;
      await model.runWithHooks(tensor([[toks[i]!]], undefined, "int32"), {
        returnType: null,
        fwdHooks: [
          ["hook_pos_embed", (p) => p.mul(0)],
          [
            "blocks.0.hook_resid_post",
            (x) => {
              post = x;
            },
          ],
        ],
      });
      expect(maxAbsDiff(post!.reshape(-1), ee.W_EE.get(i))).toBeLessThan(1e-4);
    }
    const many = Array.from({ length: 300 }, (_, i) => (i * 167) % model.cfg.dVocab);
    const chunked = await getEffectiveEmbedding(model, { tokens: many, chunkSize: 64 });
    expect(chunked.W_EE_subE.shape).toEqual([300, model.cfg.dModel]);
    const plain = await getEffectiveEmbedding(model, { tokens: toks });
    const whole = await getEffectiveEmbedding(model, { tokens: [...many, ...toks] });
    expect(maxAbsDiff(whole.W_EE_subE.narrow(0, 0, 300), chunked.W_EE_subE)).toBeLessThan(1e-5);
    expect(maxAbsDiff(whole.W_EE.narrow(0, 300, 3), plain.W_EE)).toBeLessThan(1e-5);
    expect(
      maxAbsDiff(plain.W_EE.sub(plain.W_EE_subE).sub(plain.W_E), ee.W_EE.sub(ee.W_EE_subE).sub(ee.W_E)),
    ).toBeGreaterThan(0); // biases matter
    const noAttn = await getEffectiveEmbedding(model, { tokens: toks, withAttention: false });
    expect(maxAbsDiff(noAttn.W_EE.sub(noAttn.W_EE_subE), noAttn.W_E)).toBeLessThan(1e-5);
    expect(maxAbsDiff(plain.W_U, model.W_U.mT.get(tensor(toks, undefined, "int32")))).toBe(0);
  });

  it("position-flip patching: clean = the cached difference; an identity flip patches nothing", async () => {
    const r = await positionFlipPatching(model, ds, { head });
    expect(Math.abs(r.clean - cachedScore(3, 0, true).mean().item())).toBeLessThan(1e-5);
    expect(r.perRow.patched.shape).toEqual([24]);
    expect(Number.isFinite(r.patched) && Number.isFinite(r.projected)).toBe(true);
    expect(r.flippedDataset.sentences[0]).not.toBe(ds.sentences[0]);
    expect(model.cfg.useSplitQkvInput).toBe(false);
    const same = await positionFlipPatching(model, ds, { head, flip: "ABB -> ABB, BAB -> BAB" });
    expect(Math.abs(same.patched - same.clean)).toBeLessThan(1e-5);
    expect(r.projected).not.toBeCloseTo(r.clean, 3);
    // independently, through the linear function of queries (keys untouched; ln1 scale frozen at the clean value):
    // patched: u_end = centred flipped resid_pre[end] / clean scale; projected: the same of P·resid_pre[end]
    const f = attnScoresAsLinearFuncOfQueries(model, cache, { head, dataset: ds, subtractS1AttnScores: true });
    const scale = cache.get("scale", 3, "ln1");
    const sEnd = tensor(ds.wordIdx.end!.map((e, b) => [scale.get(b, e, 0).item()]));
    const score = (x: Tensor): Tensor => dot(x.sub(x.mean(-1, true)).div(sEnd), f.linearMap).add(f.bias);
    const [, flipped] = await model.runWithCache(r.flippedDataset.toks, {
      stopAtLayer: 4,
      namesFilter: ["blocks.3.hook_resid_pre"],
    });
    const rowsAtEnd = (t: Tensor): Tensor => tensor(ds.wordIdx.end!.map((e, b) => Array.from(t.get(b, e).dataSync())));
    expect(maxAbsDiff(r.perRow.patched, score(rowsAtEnd(flipped.get("resid_pre", 3))))).toBeLessThan(1e-4);
    const residEnd = rowsAtEnd(cache.get("resid_pre", 3));
    const W_U = model.W_U.mT;
    const P = project(residEnd, [W_U.get(ds.ioTokenIDsTensor), W_U.get(ds.sTokenIDsTensor)]).parallel;
    expect(maxAbsDiff(r.perRow.projected, score(P))).toBeLessThan(1e-4);
  });
});

describe("copy suppression on the golden model without processing (LN with weights and biases)", () => {
  it("the decompositions and linear maps stay exact when ln1's affine is not folded", async () => {
    const model = await HookedTransformer.fromPretrained(GOLDEN_DIR, GOLDEN_CASES.raw);
    expect(model.cfg.normalizationType).toBe("LN");
    const tokens = (await goldenInputs).get("tokens")!;
    const [, cache] = await model.runWithCache(tokens);
    const positions = { end: [11, 10], IO: [3, 5], S1: [6, 2] };
    const tokenIds = { IO: [5, 17], S1: [40, 3] };
    const head: [number, number] = [2, 1];
    const s = cache.get("attn_scores", 2);
    const score = (sub: boolean): Tensor =>
      tensor(
        positions.end.map(
          (e, b) => s.get(b, 1, e, positions.IO[b]!).item() - (sub ? s.get(b, 1, e, positions.S1[b]!).item() : 0),
        ),
      );
    for (const decomposeBy of ["keys", "queries"] as const) {
      for (const sub of [false, true]) {
        const d = await decomposeAttnScores(model, cache, {
          head,
          positions,
          tokens: tokenIds,
          decomposeBy,
          subtractS1AttnScores: sub,
          interveneOnQuery: "project_to_W_U_IO",
          interveneOnKey: "project_to_MLP0",
        });
        expect(maxAbsDiff(d.total, score(sub))).toBeLessThan(1e-3);
      }
    }
    const f = await decomposeAttnScoresFull(model, cache, { head, positions, tokens: tokenIds });
    expect(maxAbsDiff(f.total, score(false))).toBeLessThan(1e-3);
  });
});
