// Every HookedTransformerConfig field either changes what the model computes (or which hooks it has) or is refused
// at construction: one check per field, keyed by the config's own keys, so a new field without a check fails the
// typecheck. Base: a small seeded LayerNorm model; each check builds the variant with the same seed.
import { describe, expect, it } from "vitest";
import { HookedTransformer, LoadError, Tensor, TlensError, type HookedTransformerConfig } from "../../src/index.js";
import { maxAbsDiff } from "../golden.js";

type Cfg = Partial<HookedTransformerConfig>;
const BASE: Cfg = {
  nLayers: 2,
  dModel: 16,
  nHeads: 4,
  dHead: 4,
  dMlp: 32,
  dVocab: 24,
  nCtx: 12,
  actFn: "gelu_new",
  seed: 1,
};
const TOKENS = Tensor.fromTypedArray(
  Int32Array.from({ length: 20 }, (_, i) => (i * 7 + 3) % 24),
  [2, 10],
);
const ROTARY: Cfg = { positionalEmbeddingType: "rotary" };
const RMS: Cfg = { normalizationType: "RMS" };
const NTK: Cfg = { useNTKByPartsRope: true, ntkOriginalCtxLen: 8, rotaryDim: 4 };

const build = (cfg: Cfg): HookedTransformer => HookedTransformer.fromConfig({ ...BASE, ...cfg });
const logits = (cfg: Cfg): Promise<Tensor> => build(cfg).forward(TOKENS);

/** The variant's logits differ from the reference's (default: the base model). */
async function changes(variant: Cfg, reference: Cfg = {}): Promise<void> {
  const d = maxAbsDiff(await logits(variant), await logits(reference));
  expect(d, `${JSON.stringify(variant)} vs ${JSON.stringify(reference)}`).toBeGreaterThan(1e-4);
}

/** The variant's forward fires hook `name` (runWithCache fills it), the base model's does not. */
async function addsHook(variant: Cfg, name: string): Promise<void> {
  const [, base] = await build({}).runWithCache(TOKENS);
  expect(base.keys()).not.toContain(name);
  const [, cache] = await build(variant).runWithCache(TOKENS);
  expect(cache.keys()).toContain(name);
}

const shapeOf = (cfg: Cfg, param: string): number[] => build(cfg).stateDict().get(param)!.shape;

const CHECKS: Record<keyof HookedTransformerConfig, () => Promise<void> | void> = {
  nLayers: () => expect(build({ nLayers: 3 }).blocks.length).toBe(3),
  dModel: () => expect(shapeOf({ dModel: 20, nHeads: 5 }, "embed.W_E")).toEqual([24, 20]),
  nCtx: () => expect(shapeOf({ nCtx: 9 }, "pos_embed.W_pos")).toEqual([9, 16]),
  dHead: () => expect(shapeOf({ dHead: 6 }, "blocks.0.attn.W_Q")).toEqual([4, 16, 6]),
  nHeads: () => expect(shapeOf({ nHeads: 2, dHead: 8 }, "blocks.0.attn.W_Q")).toEqual([2, 16, 8]),
  dMlp: () => expect(shapeOf({ dMlp: 8 }, "blocks.0.mlp.W_in")).toEqual([16, 8]),
  dVocab: () => expect(shapeOf({ dVocab: 30 }, "embed.W_E")).toEqual([30, 16]),
  dVocabOut: async () => expect((await logits({ dVocabOut: 7 })).shape).toEqual([2, 10, 7]),
  // metadata that describes the model (TL's too): kept as given, nothing computes with it
  modelName: () => expect(build({ modelName: "tiny" }).cfg.modelName).toBe("tiny"),
  originalArchitecture: () =>
    expect(build({ originalArchitecture: "GPT2LMHeadModel" }).cfg.originalArchitecture).toBe("GPT2LMHeadModel"),
  tokenizerName: () => expect(build({ tokenizerName: "gpt2", dVocab: 50257 }).tokenizer).not.toBeNull(),
  actFn: async () => {
    await changes({ actFn: "relu" });
    expect(() => build({ actFn: "solu_ln" })).toThrow(TlensError);
    expect(() => build({ actFn: "swish" })).toThrow(TlensError);
  },
  eps: () => changes({ eps: 1 }),
  useAttnResult: () => addsHook({ useAttnResult: true }, "blocks.0.attn.hook_result"),
  useAttnScale: () => changes({ useAttnScale: false }),
  attnScale: () => changes({ attnScale: 0.5 }),
  useSplitQkvInput: () => addsHook({ useSplitQkvInput: true }, "blocks.0.hook_q_input"),
  useHookMlpIn: () => addsHook({ useHookMlpIn: true }, "blocks.0.hook_mlp_in"),
  useAttnIn: () => addsHook({ useAttnIn: true }, "blocks.0.hook_attn_in"),
  useLocalAttn: async () => {
    await changes({ useLocalAttn: true, attnTypes: ["local", "global"], windowSize: 3 });
    expect(() => build({ useLocalAttn: true })).toThrow(LoadError);
  },
  attnTypes: async () => {
    const local: Cfg = { useLocalAttn: true, windowSize: 3 };
    await changes({ ...local, attnTypes: ["local", "global"] }, { ...local, attnTypes: ["global", "local"] });
    expect(() => build({ ...local, attnTypes: ["local"] })).toThrow(LoadError);
  },
  windowSize: async () => {
    const local: Cfg = { useLocalAttn: true, attnTypes: ["local", "local"] };
    await changes({ ...local, windowSize: 2 }, { ...local, windowSize: 5 });
    expect(() => build({ ...local, windowSize: 0 })).toThrow(LoadError);
    expect(() => build({ ...local, windowSize: 2, attentionDir: "bidirectional" })).toThrow(TlensError);
  },
  normalizationType: async () => {
    await changes(RMS);
    expect(() => build({ normalizationType: "BN" as never })).toThrow(LoadError);
  },
  attentionDir: () => changes({ attentionDir: "bidirectional" }),
  attnOnly: async () => {
    await changes({ attnOnly: true });
    expect(build({ attnOnly: true }).blocks[0]!.mlp).toBeNull();
  },
  seed: async () => {
    await changes({ seed: 2 });
    expect(maxAbsDiff(await logits({ seed: 1 }), await logits({}))).toBe(0);
  },
  initializerRange: () => {
    const w = build({ initializerRange: 0.5 }).stateDict().get("blocks.0.mlp.W_in")!;
    expect(w.std().item()).toBeGreaterThan(0.4);
    expect(w.std().item()).toBeLessThan(0.6);
  },
  initWeights: () => expect(build({ initWeights: false }).stateDict().get("embed.W_E")!.abs().max().item()).toBe(0),
  scaleAttnByInverseLayerIdx: () => changes({ scaleAttnByInverseLayerIdx: true }),
  positionalEmbeddingType: async () => {
    await changes({ positionalEmbeddingType: "shortformer" });
    await changes(ROTARY);
    expect(() => build({ positionalEmbeddingType: "alibi" as never })).toThrow(TlensError);
  },
  finalRms: () => changes({ finalRms: true }),
  parallelAttnMlp: () => changes({ parallelAttnMlp: true }),
  rotaryDim: async () => {
    await changes({ ...ROTARY, rotaryDim: 2 }, ROTARY);
    expect(() => build({ ...ROTARY, rotaryDim: 3 })).toThrow(TlensError);
  },
  rotaryBase: () => changes({ ...ROTARY, rotaryBase: 3 }, ROTARY),
  rotaryAdjacentPairs: () => changes({ ...ROTARY, rotaryAdjacentPairs: true }, ROTARY),
  // NTK-by-parts with an original context of 8: the slow frequency (period 100) is stretched, the fast one kept
  useNTKByPartsRope: async () => {
    await changes({ ...ROTARY, ...NTK }, ROTARY);
    expect(() => build({ ...ROTARY, ...NTK, ntkByPartsHighFreqFactor: 1 })).toThrow(LoadError);
  },
  ntkByPartsFactor: () => changes({ ...ROTARY, ...NTK, ntkByPartsFactor: 2 }, { ...ROTARY, ...NTK }),
  ntkByPartsLowFreqFactor: () => changes({ ...ROTARY, ...NTK, ntkByPartsLowFreqFactor: 0.01 }, { ...ROTARY, ...NTK }),
  ntkByPartsHighFreqFactor: () =>
    changes(
      { ...ROTARY, ...NTK, ntkOriginalCtxLen: 1000, ntkByPartsHighFreqFactor: 2 },
      { ...ROTARY, ...NTK, ntkOriginalCtxLen: 1000 },
    ),
  ntkOriginalCtxLen: () => changes({ ...ROTARY, ...NTK, ntkOriginalCtxLen: 400 }, { ...ROTARY, ...NTK }),
  // TL's n_params is derived (attention and MLP matrices): a given value is recomputed, as in TL
  nParams: () => expect(build({ nParams: 5 }).cfg.nParams).toBe(2 * (16 * 4 * 16 + 2 * 16 * 32)),
  useHookTokens: async () => {
    expect(build({}).hookPoints.has("hook_tokens")).toBe(false);
    await addsHook({ useHookTokens: true }, "hook_tokens");
    const m = build({ useHookTokens: true });
    const shifted = await m.runWithHooks(TOKENS, {
      fwdHooks: [["hook_tokens", (t: Tensor) => t.add(1).remainder(24).to("int32")]],
    });
    expect(maxAbsDiff(shifted, await m.forward(TOKENS))).toBeGreaterThan(1e-4);
  },
  gatedMlp: async () => {
    await changes({ gatedMlp: true });
    expect(build({ gatedMlp: true }).stateDict().has("blocks.0.mlp.W_gate")).toBe(true);
  },
  defaultPrependBos: () => {
    const withBos = build({ tokenizerName: "gpt2", dVocab: 50257 }).toTokens("hello world");
    const without = build({ tokenizerName: "gpt2", dVocab: 50257, defaultPrependBos: false }).toTokens("hello world");
    expect(withBos.shape[1]).toBe(without.shape[1]! + 1);
  },
  nKeyValueHeads: async () => {
    await changes({ nKeyValueHeads: 2 });
    expect(shapeOf({ nKeyValueHeads: 2 }, "blocks.0.attn._W_K")).toEqual([2, 16, 4]);
    expect(() => build({ nKeyValueHeads: 3 })).toThrow(LoadError);
  },
  postEmbeddingLn: async () => {
    await changes({ postEmbeddingLn: true });
    expect(build({ postEmbeddingLn: true }).stateDict().has("embed.ln.w")).toBe(true);
  },
  tieWordEmbeddings: () => {
    const m = build({ tieWordEmbeddings: true });
    expect(maxAbsDiff(m.unembed.W_U, m.embed.W_E.transpose(0, 1))).toBe(0);
    expect(maxAbsDiff(build({}).unembed.W_U, m.unembed.W_U)).toBeGreaterThan(0);
    expect(() => build({ tieWordEmbeddings: true, dVocabOut: 7 })).toThrow(LoadError);
  },
  attnScoresSoftCap: () => changes({ attnScoresSoftCap: 0.05 }),
  useNormalizationBeforeAndAfter: async () => {
    await changes({ ...RMS, useNormalizationBeforeAndAfter: true }, RMS);
    expect(() => build({ useNormalizationBeforeAndAfter: true })).toThrow(TlensError);
  },
  outputLogitsSoftCap: () => changes({ outputLogitsSoftCap: 0.5 }),
  bosTokenId: () => expect(build({ tokenizerName: "gpt2", dVocab: 50257 }).cfg.bosTokenId).toBe(50256),
  eosTokenId: async () => {
    const m = build({});
    const prompt = TOKENS.narrow(0, 0, 1);
    const free = (await m.generate(prompt, { maxNewTokens: 2, doSample: false })) as Tensor;
    m.cfg.eosTokenId = free.get(0, 10).item();
    const stopped = (await m.generate(prompt, { maxNewTokens: 2, doSample: false })) as Tensor;
    expect(stopped.shape[1]).toBe(11);
  },
};

describe("every config field works or is refused", () => {
  for (const [field, check] of Object.entries(CHECKS)) it(field, check);
});
