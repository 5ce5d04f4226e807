// GPT-NeoX / Pythia (GPTNeoXForCausalLM), after TL 2.18's config mapping and convert_neox_weights.
import type { Tensor } from "../../tensor/index.js";
import type { HookedTransformerConfig } from "../config.js";
import { block, type Family } from "./family.js";
import type { HfFields } from "./fields.js";
import { layerNorm, linearMlp } from "./parts.js";
import { headsOut, type HfStateDict, linearT, matrix, vector, zerosF32 } from "./tensors.js";

function config(f: HfFields): Partial<HookedTransformerConfig> {
  const dHead = f.quotient("hidden_size", "num_attention_heads");
  const rotaryPct = f.num("rotary_pct", 1);
  return {
    dModel: f.int("hidden_size"),
    dHead,
    nHeads: f.int("num_attention_heads"),
    dMlp: f.int("intermediate_size"),
    nLayers: f.int("num_hidden_layers"),
    nCtx: f.int("max_position_embeddings"),
    eps: f.num("layer_norm_eps"),
    dVocab: f.int("vocab_size"),
    actFn: f.oneOf("hidden_act", ["gelu", "gelu_new", "gelu_fast", "relu", "silu"]),
    useAttnScale: true,
    scaleAttnByInverseLayerIdx: false,
    parallelAttnMlp: true,
    positionalEmbeddingType: "rotary",
    rotaryAdjacentPairs: false,
    normalizationType: "LN",
    // TL: round(rotary_pct * d_head); it ignores rotary_emb_base (always 10000) and use_parallel_residual
    rotaryDim: Math.round(rotaryPct * dHead),
  };
}

/** query_key_value rows are (head, q|k|v, d_head): TL's "(i qkv h) m -> qkv i m h". */
function splitFusedQkv(w: Float32Array, H: number, Dh: number, D: number, part: number): Float32Array {
  const out = new Float32Array(H * D * Dh);
  for (let i = 0; i < H; i++) {
    for (let h = 0; h < Dh; h++) {
      const src = ((i * 3 + part) * Dh + h) * D;
      for (let m = 0; m < D; m++) out[(i * D + m) * Dh + h] = w[src + m]!;
    }
  }
  return out;
}

function convert(sd: HfStateDict, cfg: HookedTransformerConfig): Map<string, Tensor> {
  const { nLayers: L, dModel: D, nHeads: H, dHead: Dh, dMlp: M, dVocab: V } = cfg;
  const out = new Map<string, Tensor>();
  sd.dropBuffers([".attention.bias", ".attention.masked_bias", ".rotary_emb.inv_freq"]);
  out.set("embed.W_E", matrix(sd.take("gpt_neox.embed_in.weight", [V, D]), [V, D]));
  for (let l = 0; l < L; l++) {
    const h = `gpt_neox.layers.${l}`,
      b = block(l);
    layerNorm(sd, out, `${h}.input_layernorm`, `${b}.ln1`, D);
    layerNorm(sd, out, `${h}.post_attention_layernorm`, `${b}.ln2`, D);
    const qkv = sd.take(`${h}.attention.query_key_value.weight`, [3 * H * Dh, D]);
    // the bias [3·H·Dh] in the same (head, q|k|v, d_head) order: a weight with d_model 1
    const qkvBias = sd.take(`${h}.attention.query_key_value.bias`, [3 * H * Dh]);
    ["Q", "K", "V"].forEach((letter, part) => {
      out.set(`${b}.attn.W_${letter}`, matrix(splitFusedQkv(qkv, H, Dh, D, part), [H, D, Dh]));
      out.set(`${b}.attn.b_${letter}`, vector(splitFusedQkv(qkvBias, H, Dh, 1, part), [H, Dh]));
    });
    out.set(`${b}.attn.W_O`, headsOut(sd.take(`${h}.attention.dense.weight`, [D, H * Dh]), H, Dh, D));
    out.set(`${b}.attn.b_O`, vector(sd.take(`${h}.attention.dense.bias`, [D]), [D]));
    linearMlp(sd, out, `${h}.mlp.dense_h_to_4h`, `${h}.mlp.dense_4h_to_h`, b, D, M);
  }
  layerNorm(sd, out, "gpt_neox.final_layer_norm", "ln_final", D);
  out.set("unembed.W_U", linearT(sd.take("embed_out.weight", [V, D]), V, D));
  out.set("unembed.b_U", zerosF32([V]));
  return out;
}

export const neox: Family = { config, convert };
