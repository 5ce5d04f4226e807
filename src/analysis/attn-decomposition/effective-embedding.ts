// The effective embedding: W_E through block 0 as if each token attended only to itself.
import { AnalysisError } from "../../errors.js";
import type { HookedTransformer } from "../../model/index.js";
import { cat, Tensor } from "../../tensor/index.js";
import { ln1, mlpOutput } from "../../model/run/index.js";
import { idx } from "./targets.js";

export interface EffectiveEmbedding {
  /** `[n, d_model]`: W_E rows ("W_E (no MLPs)") */
  W_E: Tensor;
  /** `[n, d_model]`: the stream after block 0 for a token attending only to itself: resid_mid + MLP0 ("W_E (including MLPs)") */
  W_EE: Tensor;
  /** `[n, d_model]`: MLP0's output alone ("W_E (only MLPs)") */
  W_EE_subE: Tensor;
  /** `[n, d_model]`: W_Uᵀ rows ("W_U") */
  W_U: Tensor;
}

export interface EffectiveEmbeddingOptions {
  /** Include layer 0's attention as a token attending to itself (default true; callum2's
   *  `use_codys_without_attention_changes=False`): resid_mid = W_E + Σ_h ln1(W_E) W_V W_O. */
  withAttention?: boolean;
  /** Add the attention biases (b_V W_O summed over heads, and b_O) to the self-attention term. The original omits
   *  them (default false). */
  attnBias?: boolean;
  /** Only these token ids (rows in this order); default every token. */
  tokens?: readonly number[];
  /** Rows per chunk (bounds memory on a 50k vocabulary; default 4096). */
  chunkSize?: number;
}

/**
 * The effective embedding (callum2's `get_effective_embedding`): W_E through block 0 as if each token attended only
 * to itself. ln1, ln2 and MLP0 run as component calls (no hook fires).
 */
export async function getEffectiveEmbedding(
  model: HookedTransformer,
  opts: EffectiveEmbeddingOptions = {},
): Promise<EffectiveEmbedding> {
  if (model.cfg.attnOnly) throw new AnalysisError("getEffectiveEmbedding: an attention-only model has no MLP0");
  const ids = opts.tokens ? idx(opts.tokens) : null;
  const W_E = ids ? model.W_E.get(ids) : model.W_E;
  const W_U = ids ? model.W_U.mT.get(ids) : model.W_U.mT.contiguous();
  const withAttention = opts.withAttention ?? true;
  const n = W_E.shape[0]!;
  const chunk = opts.chunkSize ?? 4096;
  const mids: Tensor[] = [];
  const mlps: Tensor[] = [];
  const attn = model.blocks[0]!.attn;
  // Σ_h W_V[h] W_O[h]: [d_model, d_model]; the value biases' share b_V W_O summed over heads (+ b_O)
  const ov = withAttention ? attn.W_V.matmul(attn.W_O).sum(0) : null;
  const ovBias =
    withAttention && opts.attnBias ? attn.b_V.unsqueeze(1).matmul(attn.W_O).squeeze(1).sum(0).add(attn.b_O) : null;
  for (let s = 0; s < n; s += chunk) {
    const x = W_E.narrow(0, s, Math.min(chunk, n - s)).unsqueeze(0); // [1, rows, d_model]
    let mid = x;
    if (ov) {
      let attnOut = (await ln1(model, 0, x)).matmul(ov);
      if (ovBias) attnOut = attnOut.add(ovBias);
      mid = x.add(attnOut);
    }
    const out = await mlpOutput(model, 0, mid);
    mids.push(mid.squeeze(0));
    mlps.push(out.squeeze(0));
  }
  const resid = mids.length === 1 ? mids[0]! : cat(mids, 0);
  const mlp = mlps.length === 1 ? mlps[0]! : cat(mlps, 0);
  return { W_E, W_EE: resid.add(mlp), W_EE_subE: mlp, W_U };
}
