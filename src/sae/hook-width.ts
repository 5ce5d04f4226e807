// The width of a model hook's last dim (what an SAE's d_in must be), from the config and the TL hook name.
import type { HookedTransformerConfig } from "../loading/config.js";

/** d_model for residual / output / normalised hooks, d_mlp for mlp.hook_pre / hook_post, n_heads·d_head for
 *  attn.hook_z / hook_q (flattened, as SAELens's hook_z reshaping), n_kv_heads·d_head for hook_k / hook_v; null for
 *  other hooks (attention patterns, scales), whose width the SAE checks when it runs. */
export function hookWidth(cfg: HookedTransformerConfig, hookName: string): number | null {
  const leaf = hookName.replace(/^blocks\.\d+\./, "");
  if (
    /^(hook_resid_(pre|mid|post)|hook_attn_out|hook_mlp_out|hook_attn_in|hook_mlp_in|(ln\d|ln_final|ln\d_post)\.hook_normalized)$/.test(
      leaf,
    )
  )
    return cfg.dModel;
  if (leaf === "hook_embed" || leaf === "hook_pos_embed") return cfg.dModel;
  if (leaf === "mlp.hook_pre" || leaf === "mlp.hook_post" || leaf === "mlp.hook_pre_linear") return cfg.dMlp;
  if (leaf === "attn.hook_z" || leaf === "attn.hook_q" || leaf === "attn.hook_result") return cfg.nHeads * cfg.dHead;
  if (leaf === "attn.hook_k" || leaf === "attn.hook_v") return (cfg.nKeyValueHeads ?? cfg.nHeads) * cfg.dHead;
  return null;
}
