// The Llama layout (LlamaForCausalLM) and its relatives that share HF's parameter names: Mistral, Qwen2, Gemma,
// Gemma-2 (their configs live in their own modules). After TL 2.18's convert_llama_weights / convert_qwen2_weights /
// convert_mistral_weights / convert_gemma_weights.
import type { Tensor } from "../../tensor/index.js";
import type { HookedTransformerConfig } from "../config.js";
import { block, type Family } from "./family.js";
import { HfFields } from "./fields.js";
import { headsIn, headsOut, type HfStateDict, linearT, matrix, transpose2d, vector, zerosF32 } from "./tensors.js";

export interface LlamaLayout {
  /** Gemma: RMSNorm weights stored as 1 + w, W_E multiplied by sqrt(d_model) (float32). */
  gemma: boolean;
  /** Gemma-2: post_attention_layernorm is ln1_post, pre/post_feedforward_layernorm are ln2/ln2_post. */
  postNorms: boolean;
}

/** HF's rotary fields → TL's: rope_theta, and Llama-3.1's rope_scaling {rope_type "llama3"} as NTK-by-parts. */
export function ropeFields(f: HfFields): Partial<HookedTransformerConfig> {
  const fields: Partial<HookedTransformerConfig> = { rotaryBase: f.num("rope_theta", 10000) };
  const scaling = f.objectOrNull("rope_scaling");
  if (scaling === null) return fields;
  const kind = scaling.rope_type ?? scaling.type;
  if (kind === "default") return fields;
  if (kind !== "llama3")
    f.fail("rope_scaling", `type ${JSON.stringify(kind)} is not supported (TL supports "llama3" only)`);
  const s = new HfFields(scaling, `${f.source} rope_scaling`);
  return {
    ...fields,
    useNTKByPartsRope: true,
    ntkByPartsFactor: s.num("factor"),
    ntkByPartsLowFreqFactor: s.num("low_freq_factor"),
    ntkByPartsHighFreqFactor: s.num("high_freq_factor"),
    ntkOriginalCtxLen: s.int("original_max_position_embeddings"),
  };
}

/** The fields every Llama-layout config shares (TL's Llama branch). */
export function llamaCommon(f: HfFields): Partial<HookedTransformerConfig> {
  const dHead = f.quotient("hidden_size", "num_attention_heads");
  return {
    dModel: f.int("hidden_size"),
    dHead,
    nHeads: f.int("num_attention_heads"),
    dMlp: f.int("intermediate_size"),
    nLayers: f.int("num_hidden_layers"),
    nCtx: f.int("max_position_embeddings"),
    eps: f.num("rms_norm_eps"),
    dVocab: f.int("vocab_size"),
    actFn: f.oneOf("hidden_act", ["silu", "gelu", "gelu_new", "relu"]),
    normalizationType: "RMS",
    positionalEmbeddingType: "rotary",
    rotaryAdjacentPairs: false,
    rotaryDim: dHead,
    finalRms: true,
    gatedMlp: true,
  };
}

function config(f: HfFields): Partial<HookedTransformerConfig> {
  const common = llamaCommon(f);
  const kv = f.int("num_key_value_heads", common.nHeads);
  // TL's Llama branch: n_key_value_heads only when it differs from n_heads. tlens reads rope_theta and rope_scaling
  // (TL's generic branch ignores them; its by-name Llama-3 entries hard-code the same values).
  return { ...common, ...ropeFields(f), nKeyValueHeads: kv !== common.nHeads ? kv : null };
}

/** Converts the Llama-layout state dict (keys under `model.`, `lm_head.weight` unless tied). */
export function convertLlamaLayout(
  sd: HfStateDict,
  cfg: HookedTransformerConfig,
  hf: HfFields,
  layout: LlamaLayout,
): Map<string, Tensor> {
  const { nLayers: L, dModel: D, nHeads: H, dHead: Dh, dMlp: M, dVocab: V } = cfg;
  const Hkv = cfg.nKeyValueHeads ?? H;
  const kv = Hkv !== H ? "_" : ""; // tlens's attention stores TL's _W_K/_W_V when the kv heads differ
  const out = new Map<string, Tensor>();
  sd.dropBuffers([".rotary_emb.inv_freq"]);
  const norm = (name: string): Tensor => {
    const w = sd.take(name, [D]);
    if (layout.gemma) for (let i = 0; i < D; i++) w[i] = Math.fround(w[i]! + 1);
    return vector(w, [D]);
  };
  const bias = (name: string, heads: number): Tensor => {
    const b = sd.takeOptional(name, [heads * Dh]);
    return b ? vector(b, [heads, Dh]) : zerosF32([heads, Dh]);
  };
  const embed = sd.take("model.embed_tokens.weight", [V, D]);
  const tied = !sd.has("lm_head.weight");
  if (tied && !hf.bool("tie_word_embeddings", true))
    hf.fail("tie_word_embeddings", "is false but the weights have no lm_head.weight");
  // W_U reads the unscaled embedding, so transpose it before Gemma's scaling
  out.set(
    "unembed.W_U",
    tied ? matrix(transpose2d(embed, V, D), [D, V]) : linearT(sd.take("lm_head.weight", [V, D]), V, D),
  );
  if (layout.gemma) {
    const scale = Math.fround(Math.sqrt(D));
    for (let i = 0; i < embed.length; i++) embed[i] = Math.fround(embed[i]! * scale);
  }
  out.set("embed.W_E", matrix(embed, [V, D]));
  for (let l = 0; l < L; l++) {
    const h = `model.layers.${l}`,
      b = block(l);
    out.set(`${b}.ln1.w`, norm(`${h}.input_layernorm.weight`));
    if (layout.postNorms) {
      out.set(`${b}.ln1_post.w`, norm(`${h}.post_attention_layernorm.weight`));
      out.set(`${b}.ln2.w`, norm(`${h}.pre_feedforward_layernorm.weight`));
      out.set(`${b}.ln2_post.w`, norm(`${h}.post_feedforward_layernorm.weight`));
    } else {
      out.set(`${b}.ln2.w`, norm(`${h}.post_attention_layernorm.weight`));
    }
    const a = `${h}.self_attn`;
    out.set(`${b}.attn.W_Q`, headsIn(sd.take(`${a}.q_proj.weight`, [H * Dh, D]), H, Dh, D));
    out.set(`${b}.attn.${kv}W_K`, headsIn(sd.take(`${a}.k_proj.weight`, [Hkv * Dh, D]), Hkv, Dh, D));
    out.set(`${b}.attn.${kv}W_V`, headsIn(sd.take(`${a}.v_proj.weight`, [Hkv * Dh, D]), Hkv, Dh, D));
    out.set(`${b}.attn.b_Q`, bias(`${a}.q_proj.bias`, H));
    out.set(`${b}.attn.${kv}b_K`, bias(`${a}.k_proj.bias`, Hkv));
    out.set(`${b}.attn.${kv}b_V`, bias(`${a}.v_proj.bias`, Hkv));
    out.set(`${b}.attn.W_O`, headsOut(sd.take(`${a}.o_proj.weight`, [D, H * Dh]), H, Dh, D));
    out.set(`${b}.attn.b_O`, vector(sd.takeOptional(`${a}.o_proj.bias`, [D]) ?? new Float32Array(D), [D]));
    out.set(`${b}.mlp.W_gate`, linearT(sd.take(`${h}.mlp.gate_proj.weight`, [M, D]), M, D));
    out.set(`${b}.mlp.W_in`, linearT(sd.take(`${h}.mlp.up_proj.weight`, [M, D]), M, D));
    out.set(`${b}.mlp.W_out`, linearT(sd.take(`${h}.mlp.down_proj.weight`, [D, M]), D, M));
    out.set(`${b}.mlp.b_in`, zerosF32([M]));
    out.set(`${b}.mlp.b_out`, zerosF32([D]));
  }
  out.set("ln_final.w", norm("model.norm.weight"));
  out.set("unembed.b_U", zerosF32([V]));
  return out;
}

export const llama: Family = {
  config,
  convert: (sd, cfg, hf) => convertLlamaLayout(sd, cfg, hf, { gemma: false, postNorms: false }),
};
