// Mistral (MistralForCausalLM): the Llama layout with a sliding window on every layer, after TL 2.18's Mistral branch.
import type { HookedTransformerConfig } from "../config.js";
import type { Family } from "./family.js";
import type { HfFields } from "./fields.js";
import { convertLlamaLayout, llamaCommon } from "./llama.js";

function config(f: HfFields): Partial<HookedTransformerConfig> {
  const common = llamaCommon(f);
  const window = f.intOrNull("sliding_window");
  return {
    ...common,
    // TL: head_dim when config.json gives one, n_ctx 2048 whatever max_position_embeddings says, rotary_base = rope_theta
    dHead: f.int("head_dim", common.dHead),
    rotaryDim: f.int("head_dim", common.dHead),
    nCtx: 2048,
    rotaryBase: f.num("rope_theta", 10000),
    nKeyValueHeads: f.int("num_key_value_heads", common.nHeads),
    // sliding_window null (Mistral v0.2+) means global attention everywhere, as in HF
    ...(window === null
      ? {}
      : { useLocalAttn: true, windowSize: window, attnTypes: Array(common.nLayers!).fill("local") }),
  };
}

export const mistral: Family = {
  config,
  convert: (sd, cfg, hf) => convertLlamaLayout(sd, cfg, hf, { gemma: false, postNorms: false }),
};
