// Hugging Face config.json → HookedTransformerConfig, as TransformerLens's `convert_hf_model_config` builds it.
// Pure (no Node built-ins). Every field is checked; a problem is a ConfigError (a LoadError) naming the field.
import { ConfigError } from "../errors.js";
import { makeConfig, type HookedTransformerConfig } from "./config.js";
import { FAMILIES, familyConfigToTL } from "./families/index.js";

/** HF architectures tlens can convert (the `architectures` entry of config.json). */
export const SUPPORTED_HF_ARCHITECTURES: readonly string[] = ["GPT2LMHeadModel", ...Object.keys(FAMILIES)];

/** config.json `model_type` → architecture, for configs without `architectures`. */
const MODEL_TYPES: Readonly<Record<string, string>> = Object.fromEntries([
  ["gpt2", "GPT2LMHeadModel"],
  ...Object.entries(FAMILIES).map(([arch, { modelType }]) => [modelType, arch]),
]);

/** HF activation names accepted for GPT-2, mapped to TL's act_fn. `gelu_pytorch_tanh` is the same tanh formula as gelu_new. */
const GPT2_ACTIVATIONS: Readonly<Record<string, string>> = {
  gelu_new: "gelu_new",
  gelu: "gelu",
  relu: "relu",
  silu: "silu",
  swish: "silu",
  gelu_fast: "gelu_fast",
  gelu_pytorch_tanh: "gelu_new",
};

export interface HfConfigOptions {
  /** TL's model_name (default: `_name_or_path` from the config, else the folder name in `source`). */
  modelName?: string;
}

/** What the HF config says beyond the TL config (needed by the weight conversion). */
export interface HfConfigExtras {
  /** HF `tie_word_embeddings` (default true for GPT-2): the unembedding is `wte` when `lm_head.weight` is absent. */
  tieWordEmbeddings: boolean;
  architecture: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

/** Which supported architecture a config describes, or a ConfigError listing the supported ones. */
export function hfArchitecture(json: unknown, source: string): string {
  if (!isObject(json)) throw new ConfigError(`${source}: config.json must be a JSON object, got ${show(json)}`);
  const archs = json.architectures;
  const modelType = json.model_type;
  if (archs !== undefined && archs !== null) {
    if (!Array.isArray(archs) || archs.some((a) => typeof a !== "string")) {
      throw new ConfigError(`${source}: "architectures" must be an array of strings, got ${show(archs)}`);
    }
    const hit = (archs as string[]).find((a) => SUPPORTED_HF_ARCHITECTURES.includes(a));
    if (hit) return hit;
    if (archs.length > 0) {
      throw new ConfigError(
        `${source}: unsupported architecture ${(archs as string[]).join(", ")} (model_type ${show(modelType)}); ` +
          `supported: ${SUPPORTED_HF_ARCHITECTURES.join(", ")}`,
      );
    }
  }
  if (typeof modelType === "string" && Object.hasOwn(MODEL_TYPES, modelType)) return MODEL_TYPES[modelType]!;
  throw new ConfigError(
    `${source}: cannot tell the architecture (architectures ${show(archs)}, model_type ${show(modelType)}); ` +
      `supported: ${SUPPORTED_HF_ARCHITECTURES.join(", ")} (model_type ${Object.keys(MODEL_TYPES).join(", ")})`,
  );
}

/** Reads the HF extras (tied embeddings, architecture) with the same validation as `hfConfigToTL`. */
export function hfConfigExtras(json: unknown, source: string): HfConfigExtras {
  const architecture = hfArchitecture(json, source);
  const tie = (json as Record<string, unknown>).tie_word_embeddings;
  if (tie !== undefined && tie !== null && typeof tie !== "boolean") {
    throw new ConfigError(`${source}: field "tie_word_embeddings" must be true or false, got ${show(tie)}`);
  }
  return { architecture, tieWordEmbeddings: tie ?? true };
}

/**
 * HF GPT-2 `config.json` (parsed) → TL config: n_layer, n_embd, n_head, n_inner (null → 4·n_embd),
 * n_positions / n_ctx, vocab_size, activation_function, layer_norm_epsilon, scale_attn_weights,
 * scale_attn_by_inverse_layer_idx, bos/eos token ids. Normalization "LN", standard positions, defaultPrependBos,
 * initWeights false (loaded weights), as TL's `get_pretrained_model_config`.
 *
 * TL's own `tie_word_embeddings` stays false for GPT-2 (TL copies wte into a separate W_U); HF's flag is returned
 * by `hfConfigExtras` and used by the weight conversion.
 */
export function hfConfigToTL(json: unknown, source: string, options: HfConfigOptions = {}): HookedTransformerConfig {
  const architecture = hfArchitecture(json, source);
  const c = json as Record<string, unknown>;
  if (architecture !== "GPT2LMHeadModel")
    return familyConfigToTL(c, architecture, source, hfModelName(c, source, options));
  const err = (field: string, problem: string): never => {
    throw new ConfigError(`${source}: field "${field}" ${problem}`);
  };
  const posInt = (field: string, required: boolean): number | undefined => {
    const v = c[field];
    if (v === undefined || v === null)
      return required ? err(field, "is missing (a positive integer is required)") : undefined;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0)
      return err(field, `must be a positive integer, got ${show(v)}`);
    return v;
  };
  const bool = (field: string, dflt: boolean): boolean => {
    const v = c[field];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== "boolean") return err(field, `must be true or false, got ${show(v)}`);
    return v;
  };

  const nLayers = posInt("n_layer", true)!;
  const dModel = posInt("n_embd", true)!;
  const nHeads = posInt("n_head", true)!;
  const dVocab = posInt("vocab_size", true)!;
  if (dModel % nHeads !== 0) err("n_embd", `(${dModel}) must be divisible by n_head (${nHeads})`);
  const nPositions = posInt("n_positions", false);
  const nCtxField = posInt("n_ctx", false);
  if (nPositions === undefined && nCtxField === undefined)
    err("n_positions", "is missing (a positive integer is required)");
  if (nPositions !== undefined && nCtxField !== undefined && nPositions !== nCtxField) {
    err("n_ctx", `(${nCtxField}) disagrees with n_positions (${nPositions})`);
  }
  const nCtx = (nPositions ?? nCtxField)!;
  const dMlp = posInt("n_inner", false) ?? 4 * dModel;

  const act = c.activation_function ?? "gelu_new";
  if (typeof act !== "string" || !Object.hasOwn(GPT2_ACTIVATIONS, act)) {
    err(
      "activation_function",
      `${show(act)} is not supported (supported: ${Object.keys(GPT2_ACTIVATIONS).join(", ")})`,
    );
  }
  const eps = c.layer_norm_epsilon ?? 1e-5;
  if (typeof eps !== "number" || !Number.isFinite(eps) || eps <= 0)
    err("layer_norm_epsilon", `must be a positive number, got ${show(eps)}`);

  const tokenId = (field: string): number | null => {
    const v = c[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
      return err(field, `must be a non-negative integer, got ${show(v)}`);
    if (v >= dVocab) return err(field, `(${v}) must be less than vocab_size (${dVocab})`);
    return v;
  };
  const bosTokenId = tokenId("bos_token_id");
  const eosTokenId = tokenId("eos_token_id");

  if (bool("add_cross_attention", false)) err("add_cross_attention", "is true: encoder-decoder GPT-2 is not supported");
  hfConfigExtras(json, source); // validates tie_word_embeddings
  const useAttnScale = bool("scale_attn_weights", true);
  const scaleAttnByInverseLayerIdx = bool("scale_attn_by_inverse_layer_idx", false);
  bool("reorder_and_upcast_attn", false); // numerics only (fp16 training); float32 compute makes it moot

  return makeConfig(
    {
      modelName: hfModelName(c, source, options),
      nLayers,
      dModel,
      nHeads,
      dHead: dModel / nHeads,
      dMlp,
      nCtx,
      dVocab,
      dVocabOut: dVocab,
      actFn: GPT2_ACTIVATIONS[act as string],
      eps: eps as number,
      useAttnScale,
      useLocalAttn: false,
      scaleAttnByInverseLayerIdx,
      normalizationType: "LN",
      positionalEmbeddingType: "standard",
      originalArchitecture: architecture,
      defaultPrependBos: true,
      initWeights: false,
      tieWordEmbeddings: false,
      bosTokenId,
      eosTokenId,
    },
    source,
  );
}

/** TL's model_name: the option, else `_name_or_path`, else the folder name in `source`. */
function hfModelName(c: Record<string, unknown>, source: string, options: HfConfigOptions): string {
  if (options.modelName !== undefined) return options.modelName;
  const named = c._name_or_path;
  if (typeof named === "string" && named.length > 0) return named;
  const parts = source.split(/[\\/]/).filter((p) => p.length > 0);
  if (parts.length > 0 && /\.json$/i.test(parts[parts.length - 1]!)) parts.pop();
  return parts.length > 0 ? parts[parts.length - 1]! : "custom";
}
