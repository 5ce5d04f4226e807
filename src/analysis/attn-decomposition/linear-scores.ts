// Attention scores as linear functions of one side, and scores when one side is replaced by given vectors.
import { AnalysisError } from "../../errors.js";
import type { ActivationCache, HookedTransformer } from "../../model/index.js";
import { arange, Tensor } from "../../tensor/index.js";
import { type AttnHeadTarget, type Resolved, atPositions, idx, needS1, resolveTarget } from "./targets.js";
import { type HeadWeights, foldedQK, keyAt, lnNormalize, queryAt, rowDot } from "./head-inputs.js";

export interface LinearScoreFunction {
  /** `[batch, d_model]`: acts on u, the normalised ln1 input (centred, divided by ln1's scale, before any affine) */
  linearMap: Tensor;
  /** [batch] */
  bias: Tensor;
}

export interface LinearFuncOptions extends AttnHeadTarget {
  /** Queries: the map gives score(end→IO) − score(end→S1) (the key is k_IO − k_S1). Keys: the bias is zero, for an
   *  input u_IO − u_S1 (the query is unchanged). */
  subtractS1AttnScores?: boolean;
}

/** The map from a fixed key [batch, d_head] to the linear function of queries. */
export function mapOfKey(w: HeadWeights, k: Tensor): LinearScoreFunction {
  return { linearMap: k.matmul(w.W_Q.mT).div(w.attnScale), bias: k.matmul(w.b_Q).div(w.attnScale) };
}

/** The map from a fixed query [batch, d_head] to the linear function of keys. */
export function mapOfQuery(w: HeadWeights, q: Tensor, zeroBias: boolean): LinearScoreFunction {
  const bias = q.matmul(w.b_K).div(w.attnScale);
  return { linearMap: q.matmul(w.W_K.mT).div(w.attnScale), bias: zeroBias ? bias.mul(0) : bias };
}

/**
 * Keys held fixed (those cached at IO), the score from `end` to `IO` is a linear function of the query-side vector:
 * `score = u_end · linearMap + bias`, `linearMap = W_Q k_IO / attnScale` [batch, d_model], `bias = b_Q · k_IO /
 * attnScale` [batch] (TL's `attn_scores_as_linear_func_of_queries`). With `subtractS1AttnScores`, k_IO − k_S1: the
 * result is score(end→IO) − score(end→S1). The cache needs `hook_k` of the layer.
 */
export function attnScoresAsLinearFuncOfQueries(
  model: HookedTransformer,
  cache: ActivationCache,
  opts: LinearFuncOptions,
): LinearScoreFunction {
  const what = "attnScoresAsLinearFuncOfQueries";
  const r = resolveTarget(model, opts, what);
  let k = keyAt(model, cache, r, r.IO, what);
  if (opts.subtractS1AttnScores) k = k.sub(keyAt(model, cache, r, needS1(r, what), what));
  return mapOfKey(foldedQK(model, r.layer, r.head), k);
}

/**
 * Queries held fixed (those cached at `end`), the score is a linear function of the key-side vector:
 * `score = u_IO · linearMap + bias`, `linearMap = W_K q_end / attnScale`, `bias = b_K · q_end / attnScale` (TL's
 * `attn_scores_as_linear_func_of_keys`). With `subtractS1AttnScores` the bias is 0: feed u_IO − u_S1 to get
 * score(end→IO) − score(end→S1). The cache needs `hook_q` of the layer.
 */
export function attnScoresAsLinearFuncOfKeys(
  model: HookedTransformer,
  cache: ActivationCache,
  opts: LinearFuncOptions,
): LinearScoreFunction {
  const what = "attnScoresAsLinearFuncOfKeys";
  const r = resolveTarget(model, opts, what);
  return mapOfQuery(
    foldedQK(model, r.layer, r.head),
    queryAt(cache, r, r.end, what),
    opts.subtractS1AttnScores ?? false,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// scores (and probabilities) when one side is replaced by given vectors (the notebooks' histograms)

export interface SideVectorScores {
  /** `[batch]`: the new score end→IO (or the IO − S1 difference with subtractS1AttnScores) */
  scores: Tensor;
  /** `[batch]`: the attention probability end→IO after putting the new score among the cached scores of the end row;
   *  null with subtractS1AttnScores (a difference is not a score) */
  probs: Tensor | null;
}

export interface QuerySideVectorsOptions extends LinearFuncOptions {
  /** Named query-side vectors, each [batch, d_model] (or [d_model] for all rows): W_U[IO], a head's output, ... */
  vectors: Record<string, Tensor>;
  /** Normalise each vector as ln1 would (centre, divide by its RMS); default true, as the notebooks do. */
  normalize?: boolean;
}

export interface KeySideVectorsOptions extends LinearFuncOptions {
  /** Named key-side vectors [batch, d_model]; with subtractS1AttnScores give `{ vector, baseline }` (the S1 version). */
  vectors: Record<string, Tensor | { vector: Tensor; baseline: Tensor }>;
  normalize?: boolean;
}

function probsWithNewScore(cache: ActivationCache, r: Resolved, scores: Tensor, what: string): Tensor {
  // [batch, key]: the cached scores of each row's end query
  const row = atPositions(cache.get(`blocks.${r.layer}.attn.hook_attn_scores`).get(":", r.head), r.end, what).clone();
  row.set([arange(r.batch), idx(r.IO)], scores);
  return row.softmax(-1).get(arange(r.batch), idx(r.IO));
}

/**
 * The notebooks' "keys fixed" histograms: the score end→IO when the query-side vector is replaced by each given
 * vector (keys as cached), and the resulting attention probability. `get_attn_scores_as_linear_func_of_queries` for
 * one batch. The cache needs `hook_k` and (for probs) `hook_attn_scores` of the layer.
 */
export function attnScoresForQuerySideVectors(
  model: HookedTransformer,
  cache: ActivationCache,
  opts: QuerySideVectorsOptions,
): Record<string, SideVectorScores> {
  const what = "attnScoresForQuerySideVectors";
  const r = resolveTarget(model, opts, what);
  const f = attnScoresAsLinearFuncOfQueries(model, cache, opts);
  const out: Record<string, SideVectorScores> = {};
  for (const [name, v] of Object.entries(opts.vectors)) {
    const u = (opts.normalize ?? true) ? lnNormalize(model, v) : v;
    const scores = rowDot(u.expand(r.batch, -1), f.linearMap).add(f.bias);
    out[name] = { scores, probs: opts.subtractS1AttnScores ? null : probsWithNewScore(cache, r, scores, what) };
  }
  return out;
}

/** The notebooks' "queries fixed" histograms: the score end→IO when the key-side vector at IO is replaced by each
 *  given vector (queries as cached). With subtractS1AttnScores each entry is `{ vector, baseline }` and the score is
 *  the difference. The cache needs `hook_q` and (for probs) `hook_attn_scores` of the layer. */
export function attnScoresForKeySideVectors(
  model: HookedTransformer,
  cache: ActivationCache,
  opts: KeySideVectorsOptions,
): Record<string, SideVectorScores> {
  const what = "attnScoresForKeySideVectors";
  const r = resolveTarget(model, opts, what);
  const sub = opts.subtractS1AttnScores ?? false;
  const f = attnScoresAsLinearFuncOfKeys(model, cache, opts);
  const norm = (v: Tensor): Tensor => ((opts.normalize ?? true) ? lnNormalize(model, v) : v).expand(r.batch, -1);
  const out: Record<string, SideVectorScores> = {};
  for (const [name, entry] of Object.entries(opts.vectors)) {
    let u: Tensor;
    if (entry instanceof Tensor) {
      if (sub) throw new AnalysisError(`${what}: with subtractS1AttnScores, give "${name}" as { vector, baseline }`);
      u = norm(entry);
    } else {
      u = sub ? norm(entry.vector).sub(norm(entry.baseline)) : norm(entry.vector);
    }
    const scores = rowDot(u, f.linearMap).add(f.bias);
    out[name] = { scores, probs: sub ? null : probsWithNewScore(cache, r, scores, what) };
  }
  return out;
}
