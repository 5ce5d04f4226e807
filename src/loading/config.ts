// HookedTransformerConfig: TransformerLens's config fields in camelCase, with TL's derived defaults.
// It lives in src/loading because loaders produce it (and src/model builds on it).
import { ConfigError } from "../errors.js";

export type NormalizationType = "LN" | "LNPre" | "RMS" | "RMSPre" | null;
export type PositionalEmbeddingType = "standard" | "shortformer" | "rotary";
export type AttnType = "global" | "local";
export type ActFn = "gelu_new" | "gelu" | "relu" | "silu" | "gelu_fast" | "gelu_pytorch_tanh" | "solu_ln";

export interface HookedTransformerConfig {
  nLayers: number;
  dModel: number;
  nCtx: number;
  dHead: number;
  modelName: string;
  nHeads: number;
  dMlp: number;
  actFn: ActFn | string;
  dVocab: number;
  eps: number;
  useAttnResult: boolean;
  useAttnScale: boolean;
  attnScale: number;
  useSplitQkvInput: boolean;
  useHookMlpIn: boolean;
  useAttnIn: boolean;
  useLocalAttn: boolean;
  originalArchitecture: string | null;
  tokenizerName: string | null;
  normalizationType: NormalizationType;
  attentionDir: "causal" | "bidirectional";
  attnOnly: boolean;
  seed: number | null;
  initializerRange: number;
  initWeights: boolean;
  scaleAttnByInverseLayerIdx: boolean;
  positionalEmbeddingType: PositionalEmbeddingType;
  finalRms: boolean;
  dVocabOut: number;
  parallelAttnMlp: boolean;
  rotaryDim: number | null;
  nParams: number;
  useHookTokens: boolean;
  gatedMlp: boolean;
  defaultPrependBos: boolean;
  nKeyValueHeads: number | null;
  postEmbeddingLn: boolean;
  rotaryBase: number;
  rotaryAdjacentPairs: boolean;
  tieWordEmbeddings: boolean;
  attnScoresSoftCap: number;
  outputLogitsSoftCap: number;
  /** Local attention: each local layer's query sees the `windowSize` keys ending at itself (TL's window_size). */
  windowSize: number | null;
  /** Per layer "global" | "local" (TL's attn_types; used with useLocalAttn). */
  attnTypes: AttnType[] | null;
  /** Gemma-2's extra norms after attention and after the MLP (ln1_post, ln2_post). */
  useNormalizationBeforeAndAfter: boolean;
  /** Llama-3.1's rotary frequency scaling (TL's use_NTK_by_parts_rope and its four parameters). */
  useNTKByPartsRope: boolean;
  ntkByPartsLowFreqFactor: number;
  ntkByPartsHighFreqFactor: number;
  ntkByPartsFactor: number;
  ntkOriginalCtxLen: number;
  /** Token ids the tokenizer uses (null when the model has no tokenizer). */
  bosTokenId: number | null;
  eosTokenId: number | null;
}

/** Fills TL's defaults and derived fields (d_head, d_mlp, attn_scale, d_vocab_out, n_params) and validates; every
 *  field it accepts is implemented by the model (test/model/config-flags.test.ts checks each one). */
export function makeConfig(partial: Partial<HookedTransformerConfig>, source = "config"): HookedTransformerConfig {
  const need = (name: keyof HookedTransformerConfig): number => {
    const v = partial[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      throw new ConfigError(`${source}: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const nLayers = need("nLayers");
  const dModel = need("dModel");
  const nCtx = need("nCtx");
  const nHeads = partial.nHeads === undefined ? -1 : need("nHeads");
  const dHead = partial.dHead !== undefined ? need("dHead") : nHeads > 0 ? dModel / nHeads : -1;
  if (!Number.isInteger(dHead) || dHead <= 0) {
    throw new ConfigError(
      `${source}: d_head must be a positive integer; d_model ${dModel} is not divisible by n_heads ${nHeads}`,
    );
  }
  const heads = nHeads > 0 ? nHeads : dModel / dHead;
  const dVocab = need("dVocab");
  const attnOnly = partial.attnOnly ?? false;
  const dMlp = partial.dMlp !== undefined && partial.dMlp !== null ? need("dMlp") : attnOnly ? 0 : 4 * dModel;
  const eps = partial.eps ?? 1e-5;
  if (!(eps > 0) || !Number.isFinite(eps))
    throw new ConfigError(`${source}: eps must be a positive number, got ${eps}`);
  const nKeyValueHeads = partial.nKeyValueHeads ?? null;
  if (
    nKeyValueHeads !== null &&
    (!Number.isInteger(nKeyValueHeads) || nKeyValueHeads <= 0 || heads % nKeyValueHeads !== 0)
  ) {
    throw new ConfigError(
      `${source}: n_key_value_heads ${nKeyValueHeads} must be a positive divisor of n_heads ${heads}`,
    );
  }
  const gatedMlp = partial.gatedMlp ?? false;
  const cfg: HookedTransformerConfig = {
    nLayers,
    dModel,
    nCtx,
    dHead,
    nHeads: heads,
    dVocab,
    eps,
    attnOnly,
    dMlp,
    nKeyValueHeads,
    gatedMlp,
    modelName: partial.modelName ?? "custom",
    actFn: partial.actFn ?? "gelu_new",
    useAttnResult: partial.useAttnResult ?? false,
    useAttnScale: partial.useAttnScale ?? true,
    attnScale: partial.attnScale ?? Math.sqrt(dHead),
    useSplitQkvInput: partial.useSplitQkvInput ?? false,
    useHookMlpIn: partial.useHookMlpIn ?? false,
    useAttnIn: partial.useAttnIn ?? false,
    useLocalAttn: partial.useLocalAttn ?? false,
    originalArchitecture: partial.originalArchitecture ?? null,
    tokenizerName: partial.tokenizerName ?? null,
    normalizationType: partial.normalizationType === undefined ? "LN" : partial.normalizationType,
    attentionDir: partial.attentionDir ?? "causal",
    seed: partial.seed ?? null,
    initializerRange: partial.initializerRange ?? 0.8 / Math.sqrt(dModel),
    initWeights: partial.initWeights ?? true,
    scaleAttnByInverseLayerIdx: partial.scaleAttnByInverseLayerIdx ?? false,
    positionalEmbeddingType: partial.positionalEmbeddingType ?? "standard",
    finalRms: partial.finalRms ?? false,
    dVocabOut: partial.dVocabOut !== undefined && partial.dVocabOut > 0 ? partial.dVocabOut : dVocab,
    parallelAttnMlp: partial.parallelAttnMlp ?? false,
    rotaryDim: partial.rotaryDim ?? null,
    nParams: 0,
    useHookTokens: partial.useHookTokens ?? false,
    defaultPrependBos: partial.defaultPrependBos ?? true,
    postEmbeddingLn: partial.postEmbeddingLn ?? false,
    rotaryBase: partial.rotaryBase ?? 10000,
    rotaryAdjacentPairs: partial.rotaryAdjacentPairs ?? false,
    tieWordEmbeddings: partial.tieWordEmbeddings ?? false,
    attnScoresSoftCap: partial.attnScoresSoftCap ?? -1,
    outputLogitsSoftCap: partial.outputLogitsSoftCap ?? -1,
    windowSize: partial.windowSize ?? null,
    attnTypes: partial.attnTypes ?? null,
    useNormalizationBeforeAndAfter: partial.useNormalizationBeforeAndAfter ?? false,
    useNTKByPartsRope: partial.useNTKByPartsRope ?? false,
    ntkByPartsLowFreqFactor: partial.ntkByPartsLowFreqFactor ?? 1,
    ntkByPartsHighFreqFactor: partial.ntkByPartsHighFreqFactor ?? 4,
    ntkByPartsFactor: partial.ntkByPartsFactor ?? 8,
    ntkOriginalCtxLen: partial.ntkOriginalCtxLen ?? 8192,
    bosTokenId: partial.bosTokenId ?? null,
    eosTokenId: partial.eosTokenId ?? null,
  };
  if (cfg.normalizationType !== null && !["LN", "LNPre", "RMS", "RMSPre"].includes(cfg.normalizationType)) {
    throw new ConfigError(`${source}: unknown normalization_type "${cfg.normalizationType}"`);
  }
  if (
    cfg.attnTypes !== null &&
    (cfg.attnTypes.length !== nLayers || cfg.attnTypes.some((t) => t !== "global" && t !== "local"))
  ) {
    throw new ConfigError(
      `${source}: attn_types must list "global" or "local" for each of the ${nLayers} layers, got ${JSON.stringify(cfg.attnTypes)}`,
    );
  }
  checkLocalAttn(cfg, source);
  if (
    cfg.useNTKByPartsRope &&
    !(
      cfg.ntkByPartsFactor > 0 &&
      cfg.ntkOriginalCtxLen > 0 &&
      cfg.ntkByPartsHighFreqFactor > cfg.ntkByPartsLowFreqFactor
    )
  ) {
    throw new ConfigError(
      `${source}: NTK-by-parts rotary needs factor > 0, original context > 0 and high_freq_factor > low_freq_factor`,
    );
  }
  if (cfg.tieWordEmbeddings && cfg.dVocabOut !== cfg.dVocab) {
    throw new ConfigError(
      `${source}: tie_word_embeddings needs d_vocab_out (${cfg.dVocabOut}) = d_vocab (${cfg.dVocab})`,
    );
  }
  cfg.nParams = countParams(cfg);
  return cfg;
}

/** TL's rule: use_local_attn needs window_size and one attn_type per layer. */
function checkLocalAttn(cfg: HookedTransformerConfig, source: string): void {
  if (!cfg.useLocalAttn) return;
  const w = cfg.windowSize;
  if (w === null || !Number.isInteger(w) || w <= 0)
    throw new ConfigError(`${source}: use_local_attn needs a positive integer window_size, got ${w}`);
  if (cfg.attnTypes === null)
    throw new ConfigError(
      `${source}: use_local_attn needs attn_types with one "global" or "local" per layer (${cfg.nLayers})`,
    );
}

/**
 * TL's n_params: attention and MLP weight matrices only (no embeddings, biases or norms). As in TL, attention counts
 * four [d_model, n_heads·d_head] matrices even under grouped-query attention.
 */
function countParams(cfg: HookedTransformerConfig): number {
  const attn = 4 * cfg.dModel * cfg.dHead * cfg.nHeads;
  const mlp = cfg.attnOnly ? 0 : cfg.dModel * cfg.dMlp * (cfg.gatedMlp ? 3 : 2);
  return cfg.nLayers * (attn + mlp);
}
