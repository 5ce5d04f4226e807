// Custom configs (HookedTransformer.fromConfig): ARENA's attention-only shortformer model without LayerNorm, seeded
// initialisation, loadStateDict from TL-named tensors (through safetensors), a Llama-like config, and seed 004's
// induction exercises on a small attn-only model (examples/arena-induction.ts).
import { describe, expect, it } from "vitest";
import { HookedTransformer, LoadError, patching, Tensor, TlensError } from "../../src/index.js";
import { generateRepeatedTokens, inductionScore } from "../../src/analysis/head-detector.js";
import { readSafetensors, writeSafetensors } from "../../src/loading/safetensors.js";
import { buildInductionModel, runExercises } from "../../examples/arena-induction.js";
import { maxAbsDiff } from "../golden.js";

// ARENA's config, scaled down (d_model 768 → 32, n_ctx 2048 → 24, d_vocab 50278 → 40)
const SHORTFORMER = {
  dModel: 32, dHead: 8, nHeads: 4, nLayers: 2, nCtx: 24, dVocab: 40, attentionDir: "causal" as const, attnOnly: true,
  seed: 398, useAttnResult: true, normalizationType: null, positionalEmbeddingType: "shortformer" as const,
};

const ids = (rows: number[][]): Tensor => Tensor.fromTypedArray(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length]);

describe("attention-only shortformer config without LayerNorm (ARENA's 2L)", () => {
  const toks = ids([[3, 17, 5, 9, 3, 17, 5, 9, 22, 1], [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]]);

  it("fires exactly TL's hooks, with TL's shapes; the hook dict is TL's", async () => {
    const model = HookedTransformer.fromConfig(SHORTFORMER);
    const [logits, cache] = await model.runWithCache(toks);
    expect(logits.shape).toEqual([2, 10, 40]);
    const block = ["hook_resid_pre", "attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_attn_scores", "attn.hook_pattern",
      "attn.hook_z", "attn.hook_result", "hook_attn_out", "hook_resid_post"];
    expect(cache.keys()).toEqual(["hook_embed", "hook_pos_embed", ...[0, 1].flatMap((l) => block.map((n) => `blocks.${l}.${n}`))]);
    const shapes: Record<string, number[]> = {
      hook_embed: [2, 10, 32], hook_pos_embed: [2, 10, 32], "blocks.1.hook_resid_pre": [2, 10, 32], "blocks.1.attn.hook_q": [2, 10, 4, 8],
      "blocks.1.attn.hook_k": [2, 10, 4, 8], "blocks.1.attn.hook_v": [2, 10, 4, 8], "blocks.1.attn.hook_attn_scores": [2, 4, 10, 10],
      "blocks.1.attn.hook_pattern": [2, 4, 10, 10], "blocks.1.attn.hook_z": [2, 10, 4, 8], "blocks.1.attn.hook_result": [2, 10, 4, 32],
      "blocks.1.hook_attn_out": [2, 10, 32], "blocks.1.hook_resid_post": [2, 10, 32],
    };
    for (const [k, s] of Object.entries(shapes)) expect(cache.get(k).shape, k).toEqual(s);
    // TL's hook_dict: no ln hooks, no resid_mid, hook_mlp_in/out exist (never fire), and TL 2.x's never-called
    // shortformer hook_attn_input
    expect([...model.hookPoints.keys()].filter((k) => k.startsWith("blocks.0."))).toEqual([
      "blocks.0.attn.hook_k", "blocks.0.attn.hook_q", "blocks.0.attn.hook_v", "blocks.0.attn.hook_z", "blocks.0.attn.hook_attn_scores",
      "blocks.0.attn.hook_pattern", "blocks.0.attn.hook_result", "blocks.0.attn.hook_attn_input", "blocks.0.hook_attn_in",
      "blocks.0.hook_q_input", "blocks.0.hook_k_input", "blocks.0.hook_v_input", "blocks.0.hook_mlp_in", "blocks.0.hook_attn_out",
      "blocks.0.hook_mlp_out", "blocks.0.hook_resid_pre", "blocks.0.hook_resid_post",
    ]);
    expect(new Set(model.hookNames())).toEqual(new Set(model.hookPoints.keys()));
    expect([...model.stateDict().keys()]).toEqual([
      "embed.W_E", "pos_embed.W_pos", ...[0, 1].flatMap((l) => ["W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O"].map((n) => `blocks.${l}.attn.${n}`)),
      "unembed.W_U", "unembed.b_U",
    ]);
    expect(() => model.setUseHookMlpIn(true)).toThrow(TlensError);
  });

  it("positions enter the queries and keys only: q = (embed + pos) W_Q + b_Q, v = embed W_V + b_V", async () => {
    const model = HookedTransformer.fromConfig(SHORTFORMER);
    const [, cache] = await model.runWithCache(toks);
    const embed = cache.get("hook_embed");
    const pos = cache.get("hook_pos_embed");
    expect(maxAbsDiff(cache.get("blocks.0.hook_resid_pre"), embed)).toBe(0); // the residual stream has no positions
    expect(maxAbsDiff(pos.get(1), model.W_pos.narrow(0, 0, 10))).toBe(0);
    const a = model.blocks[0]!.attn;
    // x [2, 10, 1, 1, 32] @ W [1, 1, 4, 32, 8] → [2, 10, 4, 8] (per head)
    const viaHeads = (x: Tensor, W: Tensor, b: Tensor): Tensor => x.unsqueeze(2).unsqueeze(3).matmul(W.unsqueeze(0).unsqueeze(0)).squeeze(3).add(b);
    expect(maxAbsDiff(cache.get("blocks.0.attn.hook_q"), viaHeads(embed.add(pos), a.W_Q, a.b_Q))).toBeLessThan(1e-5);
    expect(maxAbsDiff(cache.get("blocks.0.attn.hook_k"), viaHeads(embed.add(pos), a.W_K, a.b_K))).toBeLessThan(1e-5);
    expect(maxAbsDiff(cache.get("blocks.0.attn.hook_v"), viaHeads(embed, a.W_V, a.b_V))).toBeLessThan(1e-5);
    // block 1 reads resid_pre(1) + the same positional embeddings
    const r1 = cache.get("blocks.1.hook_resid_pre");
    const a1 = model.blocks[1]!.attn;
    expect(maxAbsDiff(cache.get("blocks.1.attn.hook_k"), viaHeads(r1.add(pos), a1.W_K, a1.b_K))).toBeLessThan(1e-5);
    expect(maxAbsDiff(cache.get("blocks.1.attn.hook_v"), viaHeads(r1, a1.W_V, a1.b_V))).toBeLessThan(1e-5);
    // attn_out is the sum of the per-head results plus b_O
    expect(maxAbsDiff(cache.get("blocks.1.hook_attn_out"), cache.get("blocks.1.attn.hook_result").sum(2).add(a1.b_O))).toBeLessThan(1e-5);
    // hook_pos_embed edits reach the queries and keys
    const base = await model.forward(toks);
    const edited = await model.runWithHooks(toks, { fwdHooks: [["hook_pos_embed", (p) => p.mul(0)]] });
    expect(maxAbsDiff(base, edited)).toBeGreaterThan(1e-4);
  });

  it("split q/k/v inputs and attn_in give the same logits; KV-cache generation equals re-running", async () => {
    const model = HookedTransformer.fromConfig(SHORTFORMER);
    const base = await model.forward(toks);
    model.setUseSplitQkvInput(true);
    model.setUseAttnIn(true);
    const [split, cache] = await model.runWithCache(toks);
    expect(cache.get("blocks.0.hook_q_input").shape).toEqual([2, 10, 4, 32]);
    expect(maxAbsDiff(split, base)).toBeLessThan(1e-5);
    model.setUseSplitQkvInput(false);
    model.setUseAttnIn(false);
    const a = await model.generate(ids([[3, 17, 5]]), { maxNewTokens: 12, doSample: false, stopAtEos: false }) as Tensor;
    const b = await model.generate(ids([[3, 17, 5]]), { maxNewTokens: 12, doSample: false, stopAtEos: false, useKvCache: false }) as Tensor;
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
  });

  it("activation patching: the fast sweep (blocks started mid-model look their positions up) equals the naive one", async () => {
    const model = HookedTransformer.fromConfig(SHORTFORMER);
    const clean = ids([[3, 17, 5, 9, 3, 17, 5, 9]]);
    const corrupted = ids([[3, 17, 6, 9, 3, 17, 5, 9]]);
    const [, cleanCache] = await model.runWithCache(clean);
    const metric = (logits: Tensor): number => logits.get(0, -1, 9).item() - logits.get(0, -1, 5).item();
    for (const fn of ["getActPatchResidPre", "getActPatchAttnHeadOutByPos", "getActPatchAttnHeadKAllPos"] as const) {
      const fast = await patching[fn](model, corrupted, cleanCache, metric, { progressBar: false });
      const naive = await patching[fn](model, corrupted, cleanCache, metric, { fast: false, progressBar: false });
      expect(maxAbsDiff(fast, naive), fn).toBeLessThan(1e-4);
    }
  });
});

describe("seeded initialisation and loadStateDict", () => {
  it("cfg.seed: deterministic, TL's scales (W_* ~ N(0, initializerRange²), biases 0)", () => {
    const a = HookedTransformer.fromConfig(SHORTFORMER);
    const b = HookedTransformer.fromConfig(SHORTFORMER);
    const c = HookedTransformer.fromConfig({ ...SHORTFORMER, seed: 399 });
    for (const [k, t] of a.stateDict()) {
      expect(maxAbsDiff(t, b.stateDict().get(k)!), k).toBe(0);
      if (k.includes(".W_") || k.startsWith("embed") || k.startsWith("pos_embed") || k === "unembed.W_U") {
        expect(maxAbsDiff(t, c.stateDict().get(k)!), k).toBeGreaterThan(0);
      } else {
        expect(t.abs().max().item(), k).toBe(0); // biases
      }
    }
    const big = HookedTransformer.fromConfig({ ...SHORTFORMER, dModel: 64, dVocab: 500 });
    const std = 0.8 / Math.sqrt(64);
    expect(big.cfg.initializerRange).toBeCloseTo(std, 12);
    const w = big.W_E;
    expect(Math.abs(w.mean().item())).toBeLessThan(0.01 * std * 10);
    expect(Math.abs(w.to("float64").var().sqrt().item() / std - 1)).toBeLessThan(0.02);
    // explicit initializerRange, initWeights: false, LN weights start at one
    expect(HookedTransformer.fromConfig({ ...SHORTFORMER, initializerRange: 0.5 }).W_E.abs().max().item()).toBeGreaterThan(1);
    expect(HookedTransformer.fromConfig({ ...SHORTFORMER, initWeights: false }).W_E.abs().max().item()).toBe(0);
    const ln = HookedTransformer.fromConfig({ ...SHORTFORMER, normalizationType: "LN", attnOnly: false, dMlp: 16 });
    expect(Array.from(ln.stateDict().get("blocks.0.ln1.w")!.dataSync()).every((v) => v === 1)).toBe(true);
    expect(ln.stateDict().get("blocks.0.mlp.W_in")!.abs().max().item()).toBeGreaterThan(0);
  });

  it("loads TL-named tensors from safetensors (TL's buffers ignored; wrong or unknown names are errors)", async () => {
    const source = HookedTransformer.fromConfig(SHORTFORMER);
    const file = writeSafetensors(new Map([...source.stateDict(),
      ["blocks.0.attn.mask", Tensor.fromTypedArray(new Float32Array(4), [2, 2])],
      ["blocks.0.attn.IGNORE", Tensor.fromTypedArray(new Float32Array([-Infinity]), [])]]));
    const { tensors } = readSafetensors(file, "attn_only_2L.safetensors");
    const model = HookedTransformer.fromConfig({ ...SHORTFORMER, seed: 1 });
    const toks = ids([[1, 2, 3, 4, 5]]);
    expect(maxAbsDiff(await model.forward(toks), await source.forward(toks))).toBeGreaterThan(1e-3);
    model.loadStateDict(tensors);
    expect(maxAbsDiff(await model.forward(toks), await source.forward(toks))).toBe(0);
    const extra = new Map(tensors);
    extra.set("blocks.0.mlp.W_in", Tensor.fromTypedArray(new Float32Array(4), [2, 2]));
    expect(() => model.loadStateDict(extra)).toThrow(/unexpected parameters "blocks\.0\.mlp\.W_in"/);
    const missing = new Map(tensors);
    missing.delete("blocks.1.attn.W_O");
    expect(() => model.loadStateDict(missing)).toThrow(LoadError);
  });

  it("tokenizerName gpt2 gives the GPT-2 tokenizer", async () => {
    const model = HookedTransformer.fromConfig({ ...SHORTFORMER, dVocab: 50257, nCtx: 32, tokenizerName: "gpt2" });
    expect(model.toStrTokens("Hello world")).toEqual(["<|endoftext|>", "Hello", " world"]);
    expect(model.cfg.bosTokenId).toBe(50256);
    expect((await model.forward("Hello world")).shape).toEqual([1, 3, 50257]);
  });
});

describe("a Llama-like custom config (RMS, rotary, GQA, gated MLP, untied)", () => {
  const LLAMA = {
    dModel: 32, dHead: 8, nHeads: 4, nKeyValueHeads: 2, nLayers: 2, nCtx: 32, dVocab: 50, dMlp: 48, actFn: "silu",
    normalizationType: "RMS" as const, positionalEmbeddingType: "rotary" as const, gatedMlp: true, seed: 5, finalRms: true,
  };
  it("runs, caches TL's hooks, generates the same with and without the KV cache, folds its norms", async () => {
    const model = HookedTransformer.fromConfig(LLAMA);
    const toks = ids([[1, 7, 9, 11, 13, 7, 9]]);
    const [logits, cache] = await model.runWithCache(toks);
    expect(cache.get("blocks.1.attn.hook_rot_k").shape).toEqual([1, 7, 2, 8]);
    expect(cache.get("blocks.1.mlp.hook_pre_linear").shape).toEqual([1, 7, 48]);
    expect(cache.has("hook_pos_embed")).toBe(false);
    expect(model.stateDict().has("blocks.0.attn._W_K")).toBe(true);
    const a = await model.generate(toks, { maxNewTokens: 10, doSample: false, stopAtEos: false }) as Tensor;
    const b = await model.generate(toks, { maxNewTokens: 10, doSample: false, stopAtEos: false, useKvCache: false }) as Tensor;
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    model.processWeights();
    expect(model.cfg.normalizationType).toBe("RMSPre");
    expect(maxAbsDiff((await model.forward(toks)).logSoftmax(-1), logits.logSoftmax(-1))).toBeLessThan(1e-5);
    // rotary_dim < d_head rotates only the leading dims
    const partial = HookedTransformer.fromConfig({ ...LLAMA, rotaryDim: 4 });
    const [, pc] = await partial.runWithCache(toks);
    const q = pc.get("blocks.0.attn.hook_q"), rq = pc.get("blocks.0.attn.hook_rot_q");
    expect(maxAbsDiff(q.narrow(3, 4, 4), rq.narrow(3, 4, 4))).toBe(0);
    expect(maxAbsDiff(q.narrow(3, 0, 4), rq.narrow(3, 0, 4))).toBeGreaterThan(1e-4);
  });
});

describe("seed 004: ARENA's induction exercises on a small attn-only model", () => {
  it("detectors find the current/previous/first-token heads; the induction score finds 1.0", async () => {
    const model = buildInductionModel();
    const r = await runExercises(model);
    expect(r.current).toEqual(["0.1"]);
    expect(r.previous).toEqual(["0.0"]);
    expect(r.first).toEqual(["1.1"]);
    const s = r.inductionScores.toArray() as number[][];
    expect(s[1]![0]).toBeGreaterThan(0.8);
    for (const [l, h] of [[0, 0], [0, 1], [1, 1]]) expect(s[l!]![h!]).toBeLessThan(0.05);
    // the library's own score on a batch agrees
    const lib = await inductionScore(model, { seqLen: 20, batch: 4, seed: 3, prependBos: false });
    expect((lib.scores.toArray() as number[][])[1]![0]).toBeGreaterThan(0.8);
    expect(generateRepeatedTokens(model, 5, { prependBos: false }).shape).toEqual([1, 10]);
  });

  it("logit attribution per path sums to the correct-token logits; on the repeat, head 1.0 carries the prediction", async () => {
    const model = buildInductionModel();
    const r = await runExercises(model);
    expect(r.logitAttr.shape).toEqual([39, 5]);
    expect(maxAbsDiff(r.logitAttr.sum(1), r.correctLogits)).toBeLessThan(1e-3); // ARENA's assert_close(atol=1e-3)
    const repeated = r.logitAttr.narrow(0, 20, 19).mean(0).toArray() as number[]; // [direct, 0.0, 0.1, 1.0, 1.1]
    expect(repeated[3]).toBeGreaterThan(3);
    for (const i of [1, 2, 4]) expect(Math.abs(repeated[i]!)).toBeLessThan(1e-3);
    // the cache's own decomposition gives the same per-head numbers
    const [stack, labels] = r.cache.stackHeadResults({ layer: -1, returnLabels: true }) as [Tensor, string[]];
    expect(labels).toEqual(["L0H0", "L0H1", "L1H0", "L1H1"]);
    expect(stack.shape[0]).toBe(4);
  });
});
