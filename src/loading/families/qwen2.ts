// Qwen2 (Qwen2ForCausalLM): the Llama layout with q/k/v biases, after TL 2.18's Qwen2 branch.
import type { HookedTransformerConfig } from "../config.js";
import type { Family } from "./family.js";
import type { HfFields } from "./fields.js";
import { convertLlamaLayout, llamaCommon } from "./llama.js";

function config(f: HfFields): Partial<HookedTransformerConfig> {
  if (f.bool("use_sliding_window", false))
    f.fail("use_sliding_window", "is true: Qwen2's sliding window is not supported (TL ignores it)");
  return {
    ...llamaCommon(f),
    // TL: n_ctx 2048 whatever max_position_embeddings says, rotary_base int(rope_theta), n_key_value_heads always
    // set, no BOS by default
    nCtx: 2048,
    rotaryBase: Math.trunc(f.num("rope_theta", 10000)),
    nKeyValueHeads: f.int("num_key_value_heads", f.int("num_attention_heads")),
    defaultPrependBos: false,
  };
}

export const qwen2: Family = {
  config,
  convert: (sd, cfg, hf) => convertLlamaLayout(sd, cfg, hf, { gemma: false, postNorms: false }),
};
