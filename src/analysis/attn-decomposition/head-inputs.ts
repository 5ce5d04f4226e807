// The head's weights with ln1's affine folded in, and the normalised inputs u (the ln1 input centred and divided by
// ln1's cached scale) the decompositions are linear in:
//   S = (u_i W_Q + b_Q) · (u_j W_K + b_K) / attnScale.
import type { ActivationCache, HookedTransformer } from "../../model/index.js";
import { Tensor, zeros } from "../../tensor/index.js";
import { type Resolved, atPositions } from "./targets.js";

export interface HeadWeights {
  /** [d_model, d_head] */
  W_Q: Tensor;
  W_K: Tensor;
  /** [d_head] */
  b_Q: Tensor;
  b_K: Tensor;
  attnScale: number;
}

/** W_Q, W_K [d_model, d_head] and b_Q, b_K [d_head] of one head with ln1's weight and bias folded in (diag(w) W,
 *  b + b_ln W), so that q = u W_Q + b_Q for u = the normalised input before the affine. */
export function foldedQK(model: HookedTransformer, layer: number, head: number): HeadWeights {
  const block = model.blocks[layer]!;
  const attn = block.attn;
  let W_Q = attn.W_Q.get(head);
  let W_K = attn.W_K.get(head);
  let b_Q = attn.b_Q.get(head);
  let b_K = attn.b_K.get(head);
  const ln = block.ln1;
  if (ln?.b) {
    b_Q = b_Q.add(ln.b.unsqueeze(0).matmul(W_Q).squeeze(0));
    b_K = b_K.add(ln.b.unsqueeze(0).matmul(W_K).squeeze(0));
  }
  if (ln?.w) {
    W_Q = W_Q.mul(ln.w.unsqueeze(1));
    W_K = W_K.mul(ln.w.unsqueeze(1));
  }
  return {
    W_Q: W_Q.contiguous(),
    W_K: W_K.contiguous(),
    b_Q: b_Q.contiguous(),
    b_K: b_K.contiguous(),
    attnScale: attn.attnScale,
  };
}

function centres(model: HookedTransformer): boolean {
  const t = model.cfg.normalizationType;
  return t === "LN" || t === "LNPre";
}

/** Subtracts the mean over the last dim when ln1 is a LayerNorm (centring is linear, so it applies per component). */
export function centre(model: HookedTransformer, x: Tensor): Tensor {
  return centres(model) ? x.sub(x.mean(-1, true)) : x;
}

/** [batch, 1]: ln1's cached scale of layer L at the positions (per head when the run split q/k/v inputs). Computed
 *  from resid_pre when the cache lacks it; 1 for models without normalisation. */
export function lnScaleAt(
  model: HookedTransformer,
  cache: ActivationCache,
  layer: number,
  head: number,
  pos: readonly number[],
  what: string,
): Tensor {
  if (!model.cfg.normalizationType) return zeros([pos.length, 1]).add(1);
  const name = `blocks.${layer}.ln1.hook_scale`;
  if (cache.has(name)) {
    const s = cache.get(name);
    const rows = atPositions(s, pos, what); // [batch, 1] or [batch, heads, 1]
    return rows.ndim === 3 ? rows.get(":", head) : rows;
  }
  const resid = atPositions(cache.get(`blocks.${layer}.hook_resid_pre`), pos, what);
  const c = centre(model, resid);
  return c.mul(c).mean(-1, true).add(model.cfg.eps).sqrt();
}

/** [batch, d_model]: the vectors normalised as ln1 would normalise a stream holding only them (centred, divided by
 *  sqrt(mean square + eps)); unchanged for a model without normalisation. */
export function lnNormalize(model: HookedTransformer, x: Tensor): Tensor {
  if (!model.cfg.normalizationType) return x;
  const c = centre(model, x);
  return c.div(c.mul(c).mean(-1, true).add(model.cfg.eps).sqrt());
}

/** [batch, d_model]: u at the positions — the stream into layer L, centred and divided by the cached ln1 scale. */
export function normalizedInputAt(
  model: HookedTransformer,
  cache: ActivationCache,
  layer: number,
  head: number,
  pos: readonly number[],
  what: string,
): Tensor {
  const resid = atPositions(cache.get(`blocks.${layer}.hook_resid_pre`), pos, what);
  return centre(model, resid).div(lnScaleAt(model, cache, layer, head, pos, what));
}

export function queryAt(cache: ActivationCache, r: Resolved, pos: readonly number[], what: string): Tensor {
  return atPositions(cache.get(`blocks.${r.layer}.attn.hook_q`), pos, what).get(":", r.head); // [batch, d_head]
}

export function keyAt(
  model: HookedTransformer,
  cache: ActivationCache,
  r: Resolved,
  pos: readonly number[],
  what: string,
): Tensor {
  const kvHead = Math.floor(r.head / model.blocks[r.layer]!.attn.repeatKvHeads);
  return atPositions(cache.get(`blocks.${r.layer}.attn.hook_k`), pos, what).get(":", kvHead);
}

/** Σ_e a[b, e] · w[b, e] → [batch] */
export function rowDot(a: Tensor, w: Tensor): Tensor {
  return a.mul(w).sum(-1);
}
