// Gemma (GemmaForCausalLM) and Gemma-2 (Gemma2ForCausalLM). TL 2.18 hard-codes these configs by model name; tlens
// builds the same config from config.json (the numbers from the file, the flags from TL's templates).
import type { AttnType, HookedTransformerConfig } from "../config.js";
import type { Family } from "./family.js";
import type { HfFields } from "./fields.js";
import { convertLlamaLayout } from "./llama.js";

const GEMMA_ACTS = ["gelu_pytorch_tanh", "gelu", "gelu_new"] as const;

function gemmaCommon(f: HfFields): Partial<HookedTransformerConfig> {
  const dHead = f.int("head_dim", f.quotient("hidden_size", "num_attention_heads"));
  const nHeads = f.int("num_attention_heads");
  return {
    dModel: f.int("hidden_size"),
    dHead,
    nHeads,
    dMlp: f.int("intermediate_size"),
    nLayers: f.int("num_hidden_layers"),
    nCtx: f.int("max_position_embeddings"),
    eps: f.num("rms_norm_eps"),
    dVocab: f.int("vocab_size"),
    nKeyValueHeads: f.int("num_key_value_heads", nHeads),
    rotaryBase: f.num("rope_theta", 10000),
    rotaryDim: dHead,
    normalizationType: "RMS",
    positionalEmbeddingType: "rotary",
    rotaryAdjacentPairs: false,
    useAttnScale: true,
    gatedMlp: true,
    finalRms: true,
  };
}

function gemmaConfig(f: HfFields): Partial<HookedTransformerConfig> {
  // Gemma's MLP is the tanh GELU whatever hidden_act says (HF's hidden_activation); TL's templates say gelu_new
  f.oneOf("hidden_activation", GEMMA_ACTS, "gelu_pytorch_tanh");
  return { ...gemmaCommon(f), actFn: "gelu_new" };
}

/**
 * Gemma-2's local/global order from `layer_types` (HF's, the trained model's), else HF's default (even layers
 * sliding). TL 2.18's template has the reverse order (TransformerLens issue #778); tlens follows HF on purpose.
 */
function gemma2AttnTypes(f: HfFields, nLayers: number): AttnType[] {
  const types = f.stringsOrNull("layer_types");
  if (types === null) return Array.from({ length: nLayers }, (_, l) => (l % 2 === 0 ? "local" : "global"));
  if (types.length !== nLayers) f.fail("layer_types", `lists ${types.length} layers, num_hidden_layers is ${nLayers}`);
  return types.map((t) => {
    if (t === "sliding_attention") return "local";
    if (t === "full_attention") return "global";
    return f.fail("layer_types", `entry ${JSON.stringify(t)} is not "sliding_attention" or "full_attention"`);
  });
}

function gemma2Config(f: HfFields): Partial<HookedTransformerConfig> {
  const common = gemmaCommon(f);
  return {
    ...common,
    actFn: f.oneOf("hidden_activation", GEMMA_ACTS, "gelu_pytorch_tanh"),
    // TL's 27b rule: attn_scale = sqrt(query_pre_attn_scalar) (for 2b/9b it equals TL's default sqrt(d_head))
    attnScale: Math.sqrt(f.num("query_pre_attn_scalar", common.dHead)),
    attnScoresSoftCap: f.num("attn_logit_softcapping", 50),
    outputLogitsSoftCap: f.num("final_logit_softcapping", 30),
    useNormalizationBeforeAndAfter: true,
    useLocalAttn: true,
    windowSize: f.int("sliding_window", 4096),
    attnTypes: gemma2AttnTypes(f, common.nLayers!),
  };
}

export const gemma: Family = {
  config: gemmaConfig,
  convert: (sd, cfg, hf) => convertLlamaLayout(sd, cfg, hf, { gemma: true, postNorms: false }),
};

export const gemma2: Family = {
  config: gemma2Config,
  convert: (sd, cfg, hf) => convertLlamaLayout(sd, cfg, hf, { gemma: true, postNorms: true }),
};
