// The family features against hand-computed small cases: soft capping, the sliding window's off-by-one, the
// parallel block, Gemma-2's post-norms, the final soft cap, final_rms, post_embedding_ln, hook_tokens and the tanh
// GELU — each read back from the cache of a small seeded model and recomputed here from its parameters.
import { describe, expect, it } from "vitest";
import { HookedTransformer, tensor, Tensor, TlensError, type HookedTransformerConfig } from "../../src/index.js";
import { maskAttentionScores, rotarySinCos, softCap } from "../../src/tensor/nn-ops.js";
import { logitsFromResidual } from "../../src/model/run/index.js";
import { maxAbsDiff } from "../golden.js";

const BASE: Partial<HookedTransformerConfig> = {
  nLayers: 2,
  dModel: 16,
  nHeads: 4,
  dHead: 4,
  dMlp: 32,
  dVocab: 24,
  nCtx: 12,
  actFn: "gelu_new",
  seed: 3,
};
const TOKENS = Tensor.fromTypedArray(
  Int32Array.from({ length: 16 }, (_, i) => (i * 5 + 1) % 24),
  [2, 8],
);
const build = (cfg: Partial<HookedTransformerConfig>): HookedTransformer =>
  HookedTransformer.fromConfig({ ...BASE, ...cfg });
const close = (a: Tensor, b: Tensor, tol = 1e-5): void => expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(tol);

/** x / sqrt(mean(x²) + eps) · w over the last dim */
const rms = (x: Tensor, w: Tensor, eps: number): Tensor => x.div(x.mul(x).mean(-1, true).add(eps).sqrt()).mul(w);
/** (x - mean) / sqrt(var + eps) · w + b over the last dim */
const ln = (x: Tensor, w: Tensor, b: Tensor, eps: number): Tensor => {
  const c = x.sub(x.mean(-1, true));
  return c.div(c.mul(c).mean(-1, true).add(eps).sqrt()).mul(w).add(b);
};

describe("softCap", () => {
  it("is cap · tanh(x / cap), keeps the sign and stays inside (-cap, cap)", () => {
    const x = tensor([-100, -1, 0, 0.5, 3, 100]);
    const y = softCap(x, 2).dataSync();
    [-100, -1, 0, 0.5, 3, 100].forEach((v, i) => expect(y[i]).toBeCloseTo(2 * Math.tanh(v / 2), 6));
    expect(Math.max(...Array.from(y, Math.abs))).toBeLessThanOrEqual(2);
    expect(() => softCap(x, 0)).toThrow(TlensError);
  });
});

describe("NTK-by-parts rotary (Llama-3.1)", () => {
  it("stretches long wavelengths by the factor, keeps short ones and interpolates between (HF's llama3 rule)", () => {
    const [base, dim, nCtx] = [10000, 8, 3];
    const ntk = { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalCtxLen: 40 };
    const { sin } = rotarySinCos({ dim, base, adjacentPairs: false, nCtx, ntkByParts: ntk });
    // in double precision: inv_freq_j = base^(-2j/dim) → wavelengths 6.3, 63, 628, 6283 vs thresholds 10 and 40
    const expected = [0, 1, 2, 3].map((j) => {
      const inv = Math.pow(base, -(2 * j) / dim);
      const wavelen = (2 * Math.PI) / inv;
      if (wavelen < 10) return inv;
      if (wavelen > 40) return inv / 8;
      const s = (40 / wavelen - 1) / 3;
      return ((1 - s) * inv) / 8 + s * inv;
    });
    for (let i = 0; i < dim; i++) expect(sin[2 * dim + i]).toBeCloseTo(Math.sin(2 * expected[i % 4]!), 5);
    // j = 1 lies between the thresholds, j = 0 below, j = 2 and 3 above
    expect(expected[0]).toBe(1);
    expect(expected[2]).toBeCloseTo(0.01 / 8, 12);
  });
});

describe("sliding-window mask", () => {
  it("lets query i see keys i - w < j ≤ i (w keys, itself included), shifted by cached keys", () => {
    const scores = tensor(
      Array.from({ length: 6 * 6 }, () => 1),
      [1, 1, 6, 6],
    );
    const out = maskAttentionScores(scores, true, null, 3);
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 6; j++) {
        expect(out.get(0, 0, i, j).item(), `q ${i} k ${j}`).toBe(j <= i && j > i - 3 ? 1 : -Infinity);
      }
    // 2 queries after 4 cached keys: absolute positions 4 and 5
    const cached = maskAttentionScores(
      tensor(
        Array.from({ length: 12 }, () => 1),
        [1, 1, 2, 6],
      ),
      true,
      null,
      2,
    );
    expect(Array.from(cached.get(0, 0, 0).dataSync())).toEqual([-Infinity, -Infinity, -Infinity, 1, 1, -Infinity]);
    expect(Array.from(cached.get(0, 0, 1).dataSync())).toEqual([-Infinity, -Infinity, -Infinity, -Infinity, 1, 1]);
  });

  it("applies in local layers only (attn_types), and the soft cap comes before the mask", async () => {
    const m = build({ useLocalAttn: true, attnTypes: ["local", "global"], windowSize: 2, attnScoresSoftCap: 0.1 });
    const [, cache] = await m.runWithCache(TOKENS);
    const local = cache.get("blocks.0.attn.hook_attn_scores");
    const global = cache.get("blocks.1.attn.hook_attn_scores");
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 8; j++) {
        expect(local.get(0, 1, i, j).item() === -Infinity, `local q ${i} k ${j}`).toBe(!(j <= i && j > i - 2));
        expect(global.get(0, 1, i, j).item() === -Infinity, `global q ${i} k ${j}`).toBe(j > i);
      }
    // scores = 0.1 · tanh((q·k / sqrt(d_head)) / 0.1), from the cached rotated-free q and k
    const q = cache.get("blocks.1.attn.hook_q").get(0, ":", 2); // [pos, d_head]
    const k = cache.get("blocks.1.attn.hook_k").get(0, ":", 2);
    const raw = q.matmul(k.transpose(0, 1)).div(2); // [q, k]
    close(global.get(0, 2).get("3:", "0:3"), softCap(raw, 0.1).get("3:", "0:3"));
  });

  it("a local layer masks the same keys when the earlier ones come from a KV cache (generation)", async () => {
    const m = build({ useLocalAttn: true, attnTypes: ["local", "local"], windowSize: 2 });
    const prompt = TOKENS.narrow(0, 0, 1).narrow(1, 0, 4);
    const cached = (await m.generate(prompt, { maxNewTokens: 5, doSample: false, useKvCache: true })) as Tensor;
    const full = (await m.generate(prompt, { maxNewTokens: 5, doSample: false, useKvCache: false })) as Tensor;
    expect(Array.from(cached.dataSync())).toEqual(Array.from(full.dataSync()));
  });
});

describe("block variants", () => {
  it("parallel attention + MLP: the MLP reads ln2(resid_pre), resid_post = resid_pre + attn_out + mlp_out, no resid_mid", async () => {
    const m = build({ parallelAttnMlp: true });
    const [, cache] = await m.runWithCache(TOKENS);
    expect(m.hookPoints.has("blocks.0.hook_resid_mid")).toBe(false);
    const pre = cache.get("blocks.1.hook_resid_pre");
    const ln2 = m.blocks[1]!.ln2!;
    close(cache.get("blocks.1.ln2.hook_normalized"), ln(pre, ln2.w!, ln2.b!, m.cfg.eps));
    close(
      cache.get("blocks.1.hook_resid_post"),
      pre.add(cache.get("blocks.1.hook_attn_out")).add(cache.get("blocks.1.hook_mlp_out")),
    );
    // analyses that need resid_mid say why there is none
    expect(() => cache.accumulatedResid({ inclMid: true })).toThrow(/parallel/);
    expect(cache.accumulatedResid().shape[0]).toBe(3);
  });

  it("post-norms (Gemma-2): hook_attn_out = ln1_post(attention), hook_mlp_out = ln2_post(MLP), both RMSNorm with weights", async () => {
    const m = build({ normalizationType: "RMS", useNormalizationBeforeAndAfter: true });
    const b = m.blocks[0]!;
    b.ln1Post!.w = tensor(Array.from({ length: 16 }, (_, i) => 0.5 + i / 16));
    b.ln2Post!.w = tensor(Array.from({ length: 16 }, (_, i) => 2 - i / 16));
    const [, cache] = await m.runWithCache(TOKENS);
    // the attention's output from hook_z: z · W_O + b_O
    const z = cache.get("blocks.0.attn.hook_z"); // [batch, pos, head, d_head]
    const attn = z.reshape(2, 8, 16).matmul(b.attn.W_O.reshape(16, 16)).add(b.attn.b_O);
    close(cache.get("blocks.0.hook_attn_out"), rms(attn, b.ln1Post!.w!, m.cfg.eps));
    const post = cache.get("blocks.0.mlp.hook_post");
    const mlp = post.matmul(b.mlp!.W_out).add(b.mlp!.b_out);
    close(cache.get("blocks.0.hook_mlp_out"), rms(mlp, b.ln2Post!.w!, m.cfg.eps));
    // processing folds ln1/ln2 (RMSPre) but keeps the post-norms' weights; centring the unembedding shifts each
    // position's logits by a constant, so the log-probs are unchanged
    const logProbs = (await m.forward(TOKENS)).logSoftmax(-1);
    m.processWeights();
    expect(m.cfg.normalizationType).toBe("RMSPre");
    expect(m.blocks[0]!.ln1Post!.type).toBe("RMS");
    close((await m.forward(TOKENS)).logSoftmax(-1), logProbs, 1e-5);
  });
});

describe("embedding and unembedding variants", () => {
  it("output soft cap: logits = cap · tanh((ln_final(x) W_U + b_U) / cap), also through the runner", async () => {
    const m = build({ outputLogitsSoftCap: 0.3 });
    const [logits, cache] = await m.runWithCache(TOKENS);
    const raw = cache.get("ln_final.hook_normalized").matmul(m.unembed.W_U).add(m.unembed.b_U);
    close(logits, raw.div(0.3).tanh().mul(0.3));
    expect(logits.abs().max().item()).toBeLessThan(0.3);
    close(await logitsFromResidual(m, cache.get("blocks.1.hook_resid_post")), logits, 0);
  });

  it("final_rms: a LayerNorm model's ln_final is an RMSNorm (no centring)", async () => {
    const m = build({ finalRms: true });
    const [, cache] = await m.runWithCache(TOKENS);
    const x = cache.get("blocks.1.hook_resid_post");
    close(cache.get("ln_final.hook_scale"), x.mul(x).mean(-1, true).add(m.cfg.eps).sqrt());
    expect(m.stateDict().has("ln_final.b")).toBe(false);
  });

  it("post_embedding_ln: hook_embed = LayerNorm(W_E[tokens]) with TL's embed.ln parameters and hooks", async () => {
    const m = build({ postEmbeddingLn: true });
    m.embed.ln!.w = tensor(Array.from({ length: 16 }, (_, i) => 1 + i / 10));
    m.embed.ln!.b = tensor(Array.from({ length: 16 }, (_, i) => i / 20 - 0.3));
    const [, cache] = await m.runWithCache(TOKENS);
    expect([...m.hookPoints.keys()].slice(0, 3)).toEqual([
      "embed.ln.hook_scale",
      "embed.ln.hook_normalized",
      "hook_embed",
    ]);
    close(cache.get("hook_embed"), ln(m.embed.W_E.get(TOKENS), m.embed.ln!.w!, m.embed.ln!.b!, m.cfg.eps));
  });

  it("hook_tokens: a hook's tokens feed the embedding and the loss (TL's input_to_embed)", async () => {
    const m = build({ useHookTokens: true });
    const other = Tensor.fromTypedArray(
      Int32Array.from({ length: 16 }, (_, i) => (i * 3 + 2) % 24),
      [2, 8],
    );
    const hooked = await m.runWithHooks(TOKENS, { fwdHooks: [["hook_tokens", () => other]] });
    close(hooked, await m.forward(other), 0);
    const loss = await m.forward(TOKENS, { returnType: "loss" });
    m.addHook("hook_tokens", () => other);
    const hookedLoss = await m.forward(TOKENS, { returnType: "loss" });
    m.resetHooks();
    expect(hookedLoss.item()).toBe((await m.forward(other, { returnType: "loss" })).item());
    expect(hookedLoss.item()).not.toBe(loss.item());
  });

  it("gelu_pytorch_tanh is torch's tanh GELU: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))", async () => {
    const m = build({ actFn: "gelu_pytorch_tanh" });
    const [, cache] = await m.runWithCache(TOKENS);
    const pre = cache.get("blocks.0.mlp.hook_pre");
    const expected = pre.mul(0.5).mul(
      pre
        .add(pre.mul(pre).mul(pre).mul(0.044715))
        .mul(Math.sqrt(2 / Math.PI))
        .tanh()
        .add(1),
    );
    close(cache.get("blocks.0.mlp.hook_post"), expected);
  });
});
