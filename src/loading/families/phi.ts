// Phi-1/1.5/2 (PhiForCausalLM), after TL 2.18's config mapping and convert_phi_weights.
import type { Tensor } from "../../tensor/index.js";
import type { HookedTransformerConfig } from "../config.js";
import { block, type Family } from "./family.js";
import type { HfFields } from "./fields.js";
import { layerNorm, linearMlp, lmHead, separateQkv, sharedLayerNorm } from "./parts.js";
import { headsOut, type HfStateDict, matrix, vector } from "./tensors.js";

function config(f: HfFields): Partial<HookedTransformerConfig> {
  const dHead = f.quotient("hidden_size", "num_attention_heads");
  if (f.bool("qk_layernorm", false))
    f.fail("qk_layernorm", "is true: Phi's q/k LayerNorms are not supported (TL has none)");
  return {
    dModel: f.int("hidden_size"),
    dHead,
    nHeads: f.int("num_attention_heads"),
    dMlp: f.int("intermediate_size"),
    nLayers: f.int("num_hidden_layers"),
    nCtx: f.int("max_position_embeddings"),
    eps: f.num("layer_norm_eps"),
    dVocab: f.int("vocab_size"),
    actFn: f.oneOf("hidden_act", ["gelu_new", "gelu", "gelu_fast", "relu", "silu"]),
    normalizationType: "LN",
    positionalEmbeddingType: "rotary",
    rotaryBase: f.num("rope_theta", 10000),
    useAttnScale: true,
    parallelAttnMlp: true,
    rotaryAdjacentPairs: false,
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
    const h = `model.layers.${l}`,
      b = block(l);
    sharedLayerNorm(sd, out, `${h}.input_layernorm`, b, D);
    separateQkv(sd, out, `${h}.self_attn`, b, cfg, true);
    out.set(`${b}.attn.W_O`, headsOut(sd.take(`${h}.self_attn.dense.weight`, [D, H * Dh]), H, Dh, D));
    out.set(`${b}.attn.b_O`, vector(sd.take(`${h}.self_attn.dense.bias`, [D]), [D]));
    linearMlp(sd, out, `${h}.mlp.fc1`, `${h}.mlp.fc2`, b, D, M);
  }
  layerNorm(sd, out, "model.final_layernorm", "ln_final", D);
  lmHead(sd, out, V, D, true);
  return out;
}

export const phi: Family = { config, convert };
