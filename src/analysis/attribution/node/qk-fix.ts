// AtP*'s query/key fix (Kramár et al. 2024): queries and keys reach the metric only through the attention
// pattern, where the linear estimate misses softmax saturation. Instead the pattern of the patched run is computed
// exactly (the scores are bilinear in q and k, so a patch of q at s, or of k at t, changes them by Δq·k / scale
// or q·Δk / scale) and its change is dotted with ∂metric/∂pattern at the base run.
import { where, type Tensor } from "../../../tensor/index.js";
import type { HookedTransformer } from "../../../model/hooked-transformer.js";
import type { ActivationCache } from "../../../model/activation-cache.js";
import { AttributionError } from "../errors.js";
import type { GradRun } from "./grad-run.js";

/** exp(δ) is capped here: beyond it the patched entry takes the whole row to float32 precision anyway. */
const MAX_LOGIT_SHIFT = 80;

/** The hooks the fix reads at layer l (activations of both runs, the pattern's gradient at the base run). */
export function qkFixHooks(model: HookedTransformer, l: number): string[] {
  const { cfg } = model;
  if (cfg.positionalEmbeddingType === "rotary")
    throw new AttributionError(
      "attribution: qkFix does not support rotary attention (hook_q/hook_k are before the rotation)",
    );
  if (cfg.nKeyValueHeads !== null && cfg.nKeyValueHeads !== cfg.nHeads)
    throw new AttributionError("attribution: qkFix does not support grouped key/value heads");
  if (cfg.attnScoresSoftCap > 0)
    throw new AttributionError("attribution: qkFix does not support soft-capped attention scores");
  return ["q", "k", "attn_scores", "pattern"].map((a) => `blocks.${l}.attn.hook_${a}`);
}

/** Which patches: one query ("q") or one key ("k") position at a time, or all keys at once ("kAllPos"; the
 *  contributions of all queries at once are the sum of the single ones, as rows do not interact). */
export type QkPatch = "q" | "k" | "kAllPos";

/** The fix's contribution of each patch at layer l: [batch, pos, head, 1] (for "kAllPos", pos is the query row),
 *  the shape of the linear estimate's product summed over d_head, so the kind's reduction applies unchanged. */
export function qkFixEstimate(
  model: HookedTransformer,
  l: number,
  which: QkPatch,
  run: GradRun,
  other: ActivationCache,
): Tensor {
  const name = (a: string): string => `blocks.${l}.attn.hook_${a}`;
  const scale = model.blocks[l]!.attn.attnScale;
  const q = run.acts.get(name("q"))!.permute(0, 2, 1, 3); // [batch, head, q, d_head]
  const k = run.acts.get(name("k"))!.permute(0, 2, 1, 3); // [batch, head, k, d_head]
  const scores = run.acts.get(name("attn_scores"))!; // [batch, head, q, k], −inf where masked
  const p = run.acts.get(name("pattern"))!;
  const g = run.grads.get(name("pattern"))!;
  const delta = (a: "q" | "k"): Tensor =>
    other
      .get(name(a))
      .permute(0, 2, 1, 3)
      .sub(a === "q" ? q : k); // other − base
  let contrib: Tensor; // [batch, head, pos]
  if (which !== "k") {
    // a patched query changes its whole row, and so does patching every key at once: softmax again
    const shift = (
      which === "q" ? delta("q").matmul(k.permute(0, 1, 3, 2)) : q.matmul(delta("k").permute(0, 1, 3, 2))
    ).div(scale);
    contrib = scores.add(shift).softmax(-1).sub(p).mul(g).sum(-1);
  } else {
    // a patched key t changes one entry per row: p'_t = a / Z', p'_j = p_j / Z' with a = p_t e^δ, Z' = 1 − p_t + a
    const shift = q
      .matmul(delta("k").permute(0, 1, 3, 2))
      .div(scale)
      .clamp(null, MAX_LOGIT_SHIFT);
    const G = p.mul(g).sum(-1, true); // [batch, head, q, 1]
    const a = p.mul(shift.exp());
    const changed = G.sub(p.mul(g)).add(a.mul(g)).div(p.neg().add(1).add(a)).sub(G);
    contrib = where(scores.eq(-Infinity), 0, changed).sum(2);
  }
  return contrib.permute(0, 2, 1).unsqueeze(-1);
}
