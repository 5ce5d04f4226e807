// GPT-J (GPTJForCausalLM), after TL 2.18's config mapping and convert_gptj_weights.
import type { Tensor } from "../../tensor/index.js";
import type { HookedTransformerConfig } from "../config.js";
import { block, type Family } from "./family.js";
import type { HfFields } from "./fields.js";
import { headsIn, headsOut, type HfStateDict, linearT, matrix, vector, zerosF32 } from "./tensors.js";

function config(f: HfFields): Partial<HookedTransformerConfig> {
  const dModel = f.int("n_embd");
  return {
    dModel, dHead: f.quotient("n_embd", "n_head"), nHeads: f.int("n_head"),
    // TL hard-codes d_mlp = 4·n_embd and eps 1e-5 (config.json's n_inner and layer_norm_epsilon are not read)
    dMlp: 4 * dModel, eps: 1e-5,
    nLayers: f.int("n_layer"), nCtx: f.int("n_positions"), dVocab: f.int("vocab_size"),
    actFn: f.oneOf("activation_function", ["gelu_new", "gelu", "relu", "silu", "gelu_fast"]),
    useAttnScale: true, scaleAttnByInverseLayerIdx: false, parallelAttnMlp: true, positionalEmbeddingType: "rotary",
    rotaryDim: f.int("rotary_dim"), rotaryAdjacentPairs: true, normalizationType: "LN",
  };
}

function convert(sd: HfStateDict, cfg: HookedTransformerConfig): Map<string, Tensor> {
  const { nLayers: L, dModel: D, nHeads: H, dHead: Dh, dMlp: M, dVocab: V } = cfg;
  const out = new Map<string, Tensor>();
  sd.dropBuffers([".attn.bias", ".attn.masked_bias", ".attn.embed_positions"]);
  out.set("embed.W_E", matrix(sd.take("transformer.wte.weight", [V, D]), [V, D]));
  for (let l = 0; l < L; l++) {
    const h = `transformer.h.${l}`, b = block(l);
    const lnW = sd.take(`${h}.ln_1.weight`, [D]), lnB = sd.take(`${h}.ln_1.bias`, [D]);
    out.set(`${b}.ln1.w`, vector(lnW, [D]));
    out.set(`${b}.ln1.b`, vector(lnB, [D]));
    // one LayerNorm feeds both attention and MLP: TL copies ln_1 into ln2
    out.set(`${b}.ln2.w`, vector(lnW.slice(), [D]));
    out.set(`${b}.ln2.b`, vector(lnB.slice(), [D]));
    for (const [letter, proj] of [["Q", "q_proj"], ["K", "k_proj"], ["V", "v_proj"]]) {
      out.set(`${b}.attn.W_${letter}`, headsIn(sd.take(`${h}.attn.${proj}.weight`, [H * Dh, D]), H, Dh, D));
      out.set(`${b}.attn.b_${letter}`, zerosF32([H, Dh]));
    }
    out.set(`${b}.attn.W_O`, headsOut(sd.take(`${h}.attn.out_proj.weight`, [D, H * Dh]), H, Dh, D));
    out.set(`${b}.attn.b_O`, zerosF32([D]));
    out.set(`${b}.mlp.W_in`, linearT(sd.take(`${h}.mlp.fc_in.weight`, [M, D]), M, D));
    out.set(`${b}.mlp.b_in`, vector(sd.take(`${h}.mlp.fc_in.bias`, [M]), [M]));
    out.set(`${b}.mlp.W_out`, linearT(sd.take(`${h}.mlp.fc_out.weight`, [D, M]), D, M));
    out.set(`${b}.mlp.b_out`, vector(sd.take(`${h}.mlp.fc_out.bias`, [D]), [D]));
  }
  out.set("ln_final.w", vector(sd.take("transformer.ln_f.weight", [D]), [D]));
  out.set("ln_final.b", vector(sd.take("transformer.ln_f.bias", [D]), [D]));
  out.set("unembed.W_U", linearT(sd.take("lm_head.weight", [V, D]), V, D));
  out.set("unembed.b_U", vector(sd.take("lm_head.bias", [V]), [V]));
  return out;
}

export const gptj: Family = { config, convert };
