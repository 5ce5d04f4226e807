// The full bilinear decomposition of a head's score: query component × key component.
import { AnalysisError } from "../../errors.js";
import type { ActivationCache, HookedTransformer } from "../../model/index.js";
import { arange, stack, Tensor } from "../../tensor/index.js";
import { type AttnHeadTarget, atPositions, idx, needS1, resolveTarget } from "./targets.js";
import { foldedQK } from "./head-inputs.js";
import { BIAS, attnDecompositionLabels, normalizedComponentsAt } from "./components.js";
import { mlp0Directions, splitAlong, unembedDirections } from "./decompose.js";

export interface FullDecompositionOptions extends AttnHeadTarget {
  subtractS1AttnScores?: boolean;
  useEffectiveEmbedding?: boolean;
  useLayer0Heads?: boolean;
  includeS1InUnembedProjection?: boolean;
}

export interface FullAttnScoreDecomposition {
  /** Labels of both axes (the bias slot is "bias": b_Q on the query axis, b_K on the key axis). */
  labels: string[];
  /** The four splits, in order: q ∥ W_U[IO] & k ∥ MLP0, q ∥ & k ⟂, q ⟂ & k ∥, q ⟂ & k ⟂. */
  facets: string[];
  /** `[4, C (query component), C (key component)]`: mean over the batch */
  mean: Tensor;
  /** `[batch]`: Σ over facets and both component axes = the score end→IO (− end→S1) */
  total: Tensor;
  actual: Tensor | null;
}

/**
 * Every (query component, key component) pair's contribution to the score, each side split ∥/⟂ (queries along
 * W_U[IO], keys along MLP0's output) — callum2's `decompose_attn_scores_full`. Biases sit in the ⟂ parts.
 */
export async function decomposeAttnScoresFull(
  model: HookedTransformer,
  cache: ActivationCache,
  opts: FullDecompositionOptions,
): Promise<FullAttnScoreDecomposition> {
  const what = "decomposeAttnScoresFull";
  const r = resolveTarget(model, opts, what);
  const sub = opts.subtractS1AttnScores ?? false;
  const S1 = sub ? needS1(r, what) : r.S1;
  const w = foldedQK(model, r.layer, r.head);
  const mlp0 = await mlp0Directions(model, cache, r, opts, what);
  // queries: [2, C, batch, d_head]
  const [qPar, qPerp] = splitAlong(
    normalizedComponentsAt(model, cache, r, r.end, what),
    unembedDirections(model, r, opts.includeS1InUnembedProjection ?? false, what),
  );
  const qPerpW = qPerp.matmul(w.W_Q);
  qPerpW.set([BIAS], w.b_Q);
  const Q = stack([qPar.matmul(w.W_Q), qPerpW]);
  // keys
  let [kPar, kPerp] = splitAlong(normalizedComponentsAt(model, cache, r, r.IO, what), mlp0.IO);
  if (sub) {
    if (!mlp0.S1) throw new AnalysisError(`${what}: needs the S1 positions/tokens for the baseline's MLP0 direction`);
    const [parS, perpS] = splitAlong(normalizedComponentsAt(model, cache, r, S1!, what), mlp0.S1);
    kPar = kPar.sub(parS);
    kPerp = kPerp.sub(perpS);
  }
  const kPerpW = kPerp.matmul(w.W_K);
  if (!sub) kPerpW.set([BIAS], w.b_K);
  const K = stack([kPar.matmul(w.W_K), kPerpW]);
  const C = Q.shape[1]!;
  const dh = Q.shape[3]!;
  // [batch, 2C, d_head] @ [batch, d_head, 2C] → [batch, 2C (q), 2C (k)]
  const Qb = Q.permute(2, 0, 1, 3).reshape(r.batch, 2 * C, dh);
  const Kb = K.permute(2, 0, 1, 3).reshape(r.batch, 2 * C, dh);
  const prod = Qb.matmul(Kb.mT).div(w.attnScale);
  const mean = prod.mean(0).reshape(2, C, 2, C).permute(0, 2, 1, 3).reshape(4, C, C);
  const total = prod.sum([1, 2]);
  let actual: Tensor | null = null;
  const scoresName = `blocks.${r.layer}.attn.hook_attn_scores`;
  if (cache.has(scoresName)) {
    const rows = atPositions(cache.get(scoresName).get(":", r.head), r.end, what);
    actual = rows.get(arange(r.batch), idx(r.IO));
    if (sub) actual = actual.sub(rows.get(arange(r.batch), idx(S1!)));
  }
  const labels = attnDecompositionLabels(model, r.layer, "keys");
  labels[BIAS] = "bias";
  return {
    labels,
    facets: ["q ∥ W_U[IO], k ∥ MLP0", "q ∥ W_U[IO], k ⟂ MLP0", "q ⟂ W_U[IO], k ∥ MLP0", "q ⟂ W_U[IO], k ⟂ MLP0"],
    mean,
    total,
    actual,
  };
}
