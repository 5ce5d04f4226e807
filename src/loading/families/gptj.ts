// GPT-J (GPTJForCausalLM), after TL 2.18's config mapping and convert_gptj_weights.
import type { Tensor } from "../../tensor/index.js";
import type { HookedTransformerConfig } from "../config.js";
import { block, type Family } from "./family.js";
import type { HfFields } from "./fields.js";
import { layerNorm, linearMlp, lmHead, separateQkv, sharedLayerNorm } from "./parts.js";
import { headsOut, type HfStateDict, matrix, zerosF32 } from "./tensors.js";

function config(f: HfFields): Partial<HookedTransformerConfig> {
  const dModel = f.int("n_embd");
  return {
    dModel,
    dHead: f.quotient("n_embd", "n_head"),
    nHeads: f.int("n_head"),
    // TL hard-codes d_mlp = 4·n_embd and eps 1e-5 (config.json's n_inner and layer_norm_epsilon are not read)
    dMlp: 4 * dModel,
    eps: 1e-5,
    nLayers: f.int("n_layer"),
    nCtx: f.int("n_positions"),
    dVocab: f.int("vocab_size"),
    actFn: f.oneOf("activation_function", ["gelu_new", "gelu", "relu", "silu", "gelu_fast"]),
    useAttnScale: true,
    scaleAttnByInverseLayerIdx: false,
    parallelAttnMlp: true,
    positionalEmbeddingType: "rotary",
    rotaryDim: f.int("rotary_dim"),
    rotaryAdjacentPairs: true,
    normalizationType: "LN",
  };
}

function convert(sd: HfStateDict, cfg: HookedTransformerConfig): Map<string, Tensor> {
  const { nLayers: L, dModel: D, nHeads: H, dHead: Dh, dMlp: M, dVocab: V } = cfg;
  const out = new Map<string, Tensor>();
  sd.dropBuffers([".attn.bias", ".attn.masked_bias", ".attn.embed_positions"]);
  out.set("embed.W_E", matrix(sd.take("transformer.wte.weight", [V, D]), [V, D]));
  for (let l = 0; l < L; l++) {
    const h = `transformer.h.${l}`,
      b = block(l);
    sharedLayerNorm(sd, out, `${h}.ln_1`, b, D);
    separateQkv(sd, out, `${h}.attn`, b, cfg, false);
    out.set(`${b}.attn.W_O`, headsOut(sd.take(`${h}.attn.out_proj.weight`, [D, H * Dh]), H, Dh, D));
    out.set(`${b}.attn.b_O`, zerosF32([D]));
    linearMlp(sd, out, `${h}.mlp.fc_in`, `${h}.mlp.fc_out`, b, D, M);
  }
  layerNorm(sd, out, "transformer.ln_f", "ln_final", D);
  lmHead(sd, out, V, D, true);
  return out;
}

export const gptj: Family = { config, convert };
