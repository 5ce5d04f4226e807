// Phi-1/1.5/2 (PhiForCausalLM), after TL 2.18's config mapping and convert_phi_weights.
import type { Tensor } from "../../tensor/index.js";
import type { HookedTransformerConfig } from "../config.js";
import { block, type Family } from "./family.js";
import type { HfFields } from "./fields.js";
import { headsIn, headsOut, type HfStateDict, linearT, matrix, vector } from "./tensors.js";

function config(f: HfFields): Partial<HookedTransformerConfig> {
  const dHead = f.quotient("hidden_size", "num_attention_heads");
  if (f.bool("qk_layernorm", false)) f.fail("qk_layernorm", "is true: Phi's q/k LayerNorms are not supported (TL has none)");
  return {
    dModel: f.int("hidden_size"), dHead, nHeads: f.int("num_attention_heads"), dMlp: f.int("intermediate_size"),
    nLayers: f.int("num_hidden_layers"), nCtx: f.int("max_position_embeddings"), eps: f.num("layer_norm_eps"),
    dVocab: f.int("vocab_size"), actFn: f.oneOf("hidden_act", ["gelu_new", "gelu", "gelu_fast", "relu", "silu"]),
    normalizationType: "LN", positionalEmbeddingType: "rotary", rotaryBase: f.num("rope_theta", 10000),
    useAttnScale: true, parallelAttnMlp: true, rotaryAdjacentPairs: false,
    // TL: int(partial_rotary_factor * d_head); one LayerNorm shared by attention and MLP
    rotaryDim: Math.trunc(f.num("partial_rotary_factor", 0.5) * dHead),
  };
}

function convert(sd: HfStateDict, cfg: HookedTransformerConfig): Map<string, Tensor> {
  const { nLayers: L, dModel: D, nHeads: H, dHead: Dh, dMlp: M, dVocab: V } = cfg;
  const out = new Map<string, Tensor>();
  sd.dropBuffers([".rotary_emb.inv_freq"]);
  out.set("embed.W_E", matrix(sd.take("model.embed_tokens.weight", [V, D]), [V, D]));
  for (let l = 0; l < L; l++) {
    const h = `model.layers.${l}`, b = block(l);
    const lnW = sd.take(`${h}.input_layernorm.weight`, [D]), lnB = sd.take(`${h}.input_layernorm.bias`, [D]);
    out.set(`${b}.ln1.w`, vector(lnW, [D]));
    out.set(`${b}.ln1.b`, vector(lnB, [D]));
    out.set(`${b}.ln2.w`, vector(lnW.slice(), [D]));
    out.set(`${b}.ln2.b`, vector(lnB.slice(), [D]));
    for (const [letter, proj] of [["Q", "q_proj"], ["K", "k_proj"], ["V", "v_proj"]]) {
      out.set(`${b}.attn.W_${letter}`, headsIn(sd.take(`${h}.self_attn.${proj}.weight`, [H * Dh, D]), H, Dh, D));
      out.set(`${b}.attn.b_${letter}`, vector(sd.take(`${h}.self_attn.${proj}.bias`, [H * Dh]), [H, Dh]));
    }
    out.set(`${b}.attn.W_O`, headsOut(sd.take(`${h}.self_attn.dense.weight`, [D, H * Dh]), H, Dh, D));
    out.set(`${b}.attn.b_O`, vector(sd.take(`${h}.self_attn.dense.bias`, [D]), [D]));
    out.set(`${b}.mlp.W_in`, linearT(sd.take(`${h}.mlp.fc1.weight`, [M, D]), M, D));
    out.set(`${b}.mlp.b_in`, vector(sd.take(`${h}.mlp.fc1.bias`, [M]), [M]));
    out.set(`${b}.mlp.W_out`, linearT(sd.take(`${h}.mlp.fc2.weight`, [D, M]), D, M));
    out.set(`${b}.mlp.b_out`, vector(sd.take(`${h}.mlp.fc2.bias`, [D]), [D]));
  }
  out.set("ln_final.w", vector(sd.take("model.final_layernorm.weight", [D]), [D]));
  out.set("ln_final.b", vector(sd.take("model.final_layernorm.bias", [D]), [D]));
  out.set("unembed.W_U", linearT(sd.take("lm_head.weight", [V, D]), V, D));
  out.set("unembed.b_U", vector(sd.take("lm_head.bias", [V]), [V]));
  return out;
}

export const phi: Family = { config, convert };
