// OPT (OPTForCausalLM), after TL 2.18's config mapping and convert_opt_weights. TL assumes pre-LN without the
// 350m model's projections; tlens refuses those files instead of computing a different model.
import type { Tensor } from "../../tensor/index.js";
import type { HookedTransformerConfig } from "../config.js";
import { block, type Family } from "./family.js";
import type { HfFields } from "./fields.js";
import { layerNorm, linearMlp, separateQkv } from "./parts.js";
import { headsOut, type HfStateDict, linearT, matrix, transpose2d, vector, zerosF32 } from "./tensors.js";

/** HF's OPTLearnedPositionalEmbedding reads row pos + 2 (fairseq's padding offset). */
const OPT_POSITION_OFFSET = 2;

function config(f: HfFields): Partial<HookedTransformerConfig> {
  if (!f.bool("do_layer_norm_before", true))
    f.fail("do_layer_norm_before", "is false (post-LN OPT, e.g. opt-350m) is not supported");
  const dModel = f.int("hidden_size");
  if (f.int("word_embed_proj_dim", dModel) !== dModel) {
    f.fail(
      "word_embed_proj_dim",
      `(${f.int("word_embed_proj_dim")}) differs from hidden_size: OPT's project_in/project_out are not supported`,
    );
  }
  if (!f.bool("enable_bias", true)) f.fail("enable_bias", "is false: OPT without biases is not supported");
  return {
    dModel,
    dHead: f.quotient("hidden_size", "num_attention_heads"),
    nHeads: f.int("num_attention_heads"),
    dMlp: f.int("ffn_dim"),
    nLayers: f.int("num_hidden_layers"),
    nCtx: f.int("max_position_embeddings"),
    eps: 1e-5,
    dVocab: f.int("vocab_size"),
    actFn: f.oneOf("activation_function", ["relu", "gelu", "gelu_new", "silu"]),
    useAttnScale: true,
    scaleAttnByInverseLayerIdx: false,
    parallelAttnMlp: false,
    positionalEmbeddingType: "standard",
    normalizationType: "LN",
  };
}

function convert(sd: HfStateDict, cfg: HookedTransformerConfig, hf: HfFields): Map<string, Tensor> {
  const { nLayers: L, dModel: D, nHeads: H, dHead: Dh, dMlp: M, dVocab: V, nCtx: C } = cfg;
  const out = new Map<string, Tensor>();
  const embed = sd.take("model.decoder.embed_tokens.weight", [V, D]);
  const tied = !sd.has("lm_head.weight");
  if (tied && !hf.bool("tie_word_embeddings", true))
    hf.fail("tie_word_embeddings", "is false but the weights have no lm_head.weight");
  out.set(
    "unembed.W_U",
    tied ? matrix(transpose2d(embed, V, D), [D, V]) : linearT(sd.take("lm_head.weight", [V, D]), V, D),
  );
  out.set("unembed.b_U", zerosF32([V]));
  out.set("embed.W_E", matrix(embed, [V, D]));
  const pos = sd.take("model.decoder.embed_positions.weight", [C + OPT_POSITION_OFFSET, D]);
  out.set("pos_embed.W_pos", matrix(pos.slice(OPT_POSITION_OFFSET * D), [C, D]));
  for (let l = 0; l < L; l++) {
    const h = `model.decoder.layers.${l}`,
      b = block(l);
    layerNorm(sd, out, `${h}.self_attn_layer_norm`, `${b}.ln1`, D);
    separateQkv(sd, out, `${h}.self_attn`, b, cfg, true);
    out.set(`${b}.attn.W_O`, headsOut(sd.take(`${h}.self_attn.out_proj.weight`, [D, H * Dh]), H, Dh, D));
    out.set(`${b}.attn.b_O`, vector(sd.take(`${h}.self_attn.out_proj.bias`, [D]), [D]));
    layerNorm(sd, out, `${h}.final_layer_norm`, `${b}.ln2`, D);
    linearMlp(sd, out, `${h}.fc1`, `${h}.fc2`, b, D, M);
  }
  layerNorm(sd, out, "model.decoder.final_layer_norm", "ln_final", D);
  return out;
}

export const opt: Family = { config, convert };
