// The copy-suppression toolkit (seeds 000, 001, 003; McDougall et al. 2023): attention scores of one head as linear
// functions of its queries or of its keys, the decomposition of a score by the residual-stream components on the
// key side or the query side (W_E, W_pos, every head, every MLP, biases), the ∥/⟂ splits along W_U[IO] (queries)
// and MLP0's output (keys), the effective embedding, and the position-flip patching experiment.
//
// Notation (IOI): per batch row, the query sits at `end`, the key at `IO`, the baseline key at `S1`; the head is
// (layer L, head h). Everything reads an ActivationCache of the run; no extra forward passes except in
// `positionFlipPatching` and `getEffectiveEmbedding`.
//
// The score of query position i on key position j is
//   S = (u_i W_Q + b_Q) · (u_j W_K + b_K) / attnScale,
// u = the ln1 input before any affine: centred (LN/LNPre) and divided by ln1's cached scale. Norm weights and biases
// of unfolded models are folded into W_Q/b_Q and W_K/b_K here, so every identity below holds for any GPT-2-style
// model, folded or not. u is linear in the residual stream's components (each centred and divided by the same
// scale), so S splits exactly into one term per component plus the bias term.
import { TlensError, ShapeError } from "../errors.js";
import type { ActivationCache, HookedTransformer, HookFn } from "../model/index.js";
import { arange, cat, stack, Tensor, zeros } from "../tensor/index.js";
import type { IOIDataset } from "../datasets/index.js";
import { project } from "./projection.js";

// ---------------------------------------------------------------------------------------------------------------
// targets: which head, which positions, which tokens

/** Per-row positions (IOI's word_idx): the query position `end`, the key `IO` and the baseline key `S1`. */
export interface IOIPositions {
  end: readonly number[];
  IO: readonly number[];
  S1: readonly number[];
}

/** Per-row token ids whose unembeddings / embeddings the analysis uses (IOI's io_tokenIDs and s_tokenIDs). */
export interface IOITokens {
  IO: readonly number[];
  S1: readonly number[];
}

export interface AttnHeadTarget {
  /** [layer, head] of the head whose scores are studied (e.g. [10, 7], the negative name mover of GPT-2 small). */
  head: readonly [number, number];
  /** Positions and tokens from an IOI dataset (its wordIdx, ioTokenIDs and sTokenIDs); the cache must be of its toks. */
  dataset?: IOIDataset;
  /** Explicit positions (override the dataset's). */
  positions?: Partial<IOIPositions>;
  /** Explicit tokens (override the dataset's). */
  tokens?: Partial<IOITokens>;
}

interface Resolved {
  layer: number;
  head: number;
  batch: number;
  rows: Tensor;
  end: number[];
  IO: number[];
  S1: number[] | null;
  ioTokens: number[] | null;
  s1Tokens: number[] | null;
}

function resolveTarget(model: HookedTransformer, target: AttnHeadTarget, what: string): Resolved {
  const cfg = model.cfg;
  if (cfg.positionalEmbeddingType !== "standard") {
    throw new TlensError(`${what}: only models with standard (additive) positional embeddings are supported; this one is "${cfg.positionalEmbeddingType}" (the score is no longer a sum over residual components)`);
  }
  const [layer, head] = target.head;
  if (!Number.isInteger(layer) || layer < 0 || layer >= cfg.nLayers) throw new TlensError(`${what}: layer ${layer} is out of range (0..${cfg.nLayers - 1})`);
  if (!Number.isInteger(head) || head < 0 || head >= cfg.nHeads) throw new TlensError(`${what}: head ${head} is out of range (0..${cfg.nHeads - 1})`);
  const ds = target.dataset;
  const pick = (key: keyof IOIPositions): number[] | null => {
    const given = target.positions?.[key] ?? ds?.wordIdx[key];
    return given ? [...given] : null;
  };
  const end = pick("end");
  const IO = pick("IO");
  if (!end || !IO) throw new TlensError(`${what}: give the positions (a dataset, or positions.end and positions.IO)`);
  const S1 = pick("S1");
  const batch = end.length;
  for (const [name, p] of [["IO", IO], ["S1", S1]] as const) {
    if (p && p.length !== batch) throw new ShapeError(`${what}: positions.${name} has ${p.length} rows, positions.end ${batch}`);
  }
  const ioTokens = target.tokens?.IO ?? ds?.ioTokenIDs ?? null;
  const s1Tokens = target.tokens?.S1 ?? ds?.sTokenIDs ?? null;
  for (const [name, t] of [["IO", ioTokens], ["S1", s1Tokens]] as const) {
    if (t && t.length !== batch) throw new ShapeError(`${what}: tokens.${name} has ${t.length} rows, the positions ${batch}`);
  }
  return {
    layer, head, batch, rows: arange(batch), end, IO, S1,
    ioTokens: ioTokens ? [...ioTokens] : null, s1Tokens: s1Tokens ? [...s1Tokens] : null,
  };
}

const idx = (xs: readonly number[]): Tensor => Tensor.fromTypedArray(Int32Array.from(xs), [xs.length]);

/** t [batch, pos, ...rest] → [batch, ...rest]: row b at position pos[b]. */
function atPositions(t: Tensor, pos: readonly number[], what: string): Tensor {
  if (t.shape[0] !== pos.length) {
    throw new ShapeError(`${what}: the cached activation has batch ${t.shape[0]}, but ${pos.length} positions were given (one per row)`);
  }
  return t.get(arange(pos.length), idx(pos));
}

function needS1(r: Resolved, what: string): number[] {
  if (!r.S1) throw new TlensError(`${what}: needs the baseline positions (a dataset, or positions.S1)`);
  return r.S1;
}

function needTokens(tokens: number[] | null, which: string, what: string): number[] {
  if (!tokens) throw new TlensError(`${what}: needs the ${which} token ids (a dataset, or tokens.${which})`);
  return tokens;
}

// ---------------------------------------------------------------------------------------------------------------
// the head's weights with ln1's affine folded in, and the normalised inputs

interface HeadWeights {
  /** [d_model, d_head] */
  W_Q: Tensor; W_K: Tensor;
  /** [d_head] */
  b_Q: Tensor; b_K: Tensor;
  attnScale: number;
}

/** W_Q, W_K [d_model, d_head] and b_Q, b_K [d_head] of one head with ln1's weight and bias folded in (diag(w) W,
 *  b + b_ln W), so that q = u W_Q + b_Q for u = the normalised input before the affine. */
export function foldedQK(model: HookedTransformer, layer: number, head: number): HeadWeights {
  const block = model.blocks[layer];
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
  return { W_Q: W_Q.contiguous(), W_K: W_K.contiguous(), b_Q: b_Q.contiguous(), b_K: b_K.contiguous(), attnScale: attn.attnScale };
}

function centres(model: HookedTransformer): boolean {
  const t = model.cfg.normalizationType;
  return t === "LN" || t === "LNPre";
}

/** Subtracts the mean over the last dim when ln1 is a LayerNorm (centring is linear, so it applies per component). */
function centre(model: HookedTransformer, x: Tensor): Tensor {
  return centres(model) ? x.sub(x.mean(-1, true)) : x;
}

/** [batch, 1]: ln1's cached scale of layer L at the positions (per head when the run split q/k/v inputs). Computed
 *  from resid_pre when the cache lacks it; 1 for models without normalisation. */
function lnScaleAt(model: HookedTransformer, cache: ActivationCache, layer: number, head: number, pos: readonly number[], what: string): Tensor {
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
function lnNormalize(model: HookedTransformer, x: Tensor): Tensor {
  if (!model.cfg.normalizationType) return x;
  const c = centre(model, x);
  return c.div(c.mul(c).mean(-1, true).add(model.cfg.eps).sqrt());
}

/** [batch, d_model]: u at the positions — the stream into layer L, centred and divided by the cached ln1 scale. */
function normalizedInputAt(model: HookedTransformer, cache: ActivationCache, layer: number, head: number, pos: readonly number[], what: string): Tensor {
  const resid = atPositions(cache.get(`blocks.${layer}.hook_resid_pre`), pos, what);
  return centre(model, resid).div(lnScaleAt(model, cache, layer, head, pos, what));
}

function queryAt(cache: ActivationCache, r: Resolved, pos: readonly number[], what: string): Tensor {
  return atPositions(cache.get(`blocks.${r.layer}.attn.hook_q`), pos, what).get(":", r.head); // [batch, d_head]
}

function keyAt(model: HookedTransformer, cache: ActivationCache, r: Resolved, pos: readonly number[], what: string): Tensor {
  const kvHead = Math.floor(r.head / model.blocks[r.layer].attn.repeatKvHeads);
  return atPositions(cache.get(`blocks.${r.layer}.attn.hook_k`), pos, what).get(":", kvHead);
}

/** Σ_e a[b, e] · w[b, e] → [batch] */
function rowDot(a: Tensor, w: Tensor): Tensor {
  return a.mul(w).sum(-1);
}

// ---------------------------------------------------------------------------------------------------------------
// attention scores as linear functions

export interface LinearScoreFunction {
  /** [batch, d_model]: acts on u, the normalised ln1 input (centred, divided by ln1's scale, before any affine) */
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
function mapOfKey(w: HeadWeights, k: Tensor): LinearScoreFunction {
  return { linearMap: k.matmul(w.W_Q.mT).div(w.attnScale), bias: k.matmul(w.b_Q).div(w.attnScale) };
}

/** The map from a fixed query [batch, d_head] to the linear function of keys. */
function mapOfQuery(w: HeadWeights, q: Tensor, zeroBias: boolean): LinearScoreFunction {
  const bias = q.matmul(w.b_K).div(w.attnScale);
  return { linearMap: q.matmul(w.W_K.mT).div(w.attnScale), bias: zeroBias ? bias.mul(0) : bias };
}

/**
 * Keys held fixed (those cached at IO), the score from `end` to `IO` is a linear function of the query-side vector:
 * `score = u_end · linearMap + bias`, `linearMap = W_Q k_IO / attnScale` [batch, d_model], `bias = b_Q · k_IO /
 * attnScale` [batch] (TL's `attn_scores_as_linear_func_of_queries`). With `subtractS1AttnScores`, k_IO − k_S1: the
 * result is score(end→IO) − score(end→S1). The cache needs `hook_k` of the layer.
 */
export function attnScoresAsLinearFuncOfQueries(model: HookedTransformer, cache: ActivationCache, opts: LinearFuncOptions): LinearScoreFunction {
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
export function attnScoresAsLinearFuncOfKeys(model: HookedTransformer, cache: ActivationCache, opts: LinearFuncOptions): LinearScoreFunction {
  const what = "attnScoresAsLinearFuncOfKeys";
  const r = resolveTarget(model, opts, what);
  return mapOfQuery(foldedQK(model, r.layer, r.head), queryAt(cache, r, r.end, what), opts.subtractS1AttnScores ?? false);
}

// ---------------------------------------------------------------------------------------------------------------
// scores (and probabilities) when one side is replaced by given vectors (the notebooks' histograms)

export interface SideVectorScores {
  /** [batch]: the new score end→IO (or the IO − S1 difference with subtractS1AttnScores) */
  scores: Tensor;
  /** [batch]: the attention probability end→IO after putting the new score among the cached scores of the end row;
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
export function attnScoresForQuerySideVectors(model: HookedTransformer, cache: ActivationCache, opts: QuerySideVectorsOptions): Record<string, SideVectorScores> {
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
export function attnScoresForKeySideVectors(model: HookedTransformer, cache: ActivationCache, opts: KeySideVectorsOptions): Record<string, SideVectorScores> {
  const what = "attnScoresForKeySideVectors";
  const r = resolveTarget(model, opts, what);
  const sub = opts.subtractS1AttnScores ?? false;
  const f = attnScoresAsLinearFuncOfKeys(model, cache, opts);
  const norm = (v: Tensor): Tensor => ((opts.normalize ?? true) ? lnNormalize(model, v) : v).expand(r.batch, -1);
  const out: Record<string, SideVectorScores> = {};
  for (const [name, entry] of Object.entries(opts.vectors)) {
    let u: Tensor;
    if (entry instanceof Tensor) {
      if (sub) throw new TlensError(`${what}: with subtractS1AttnScores, give "${name}" as { vector, baseline }`);
      u = norm(entry);
    } else {
      u = sub ? norm(entry.vector).sub(norm(entry.baseline)) : norm(entry.vector);
    }
    const scores = rowDot(u, f.linearMap).add(f.bias);
    out[name] = { scores, probs: sub ? null : probsWithNewScore(cache, r, scores, what) };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// residual-stream components at positions

/** Component labels of a decomposition of the stream into layer L: W_E, W_pos, the bias of the decomposed side
 *  (b_K or b_Q), the summed b_O of the layers before L, then for each layer l < L its heads `L{l}H{h}` and `MLP{l}`. */
export function attnDecompositionLabels(model: HookedTransformer, layer: number, side: "keys" | "queries"): string[] {
  const labels = ["W_E", "W_pos", side === "keys" ? "b_K" : "b_Q", "b_O"];
  for (let l = 0; l < layer; l++) {
    for (let h = 0; h < model.cfg.nHeads; h++) labels.push(`L${l}H${h}`);
    if (!model.cfg.attnOnly) labels.push(`MLP${l}`);
  }
  return labels;
}

/** Index of the bias term (b_K / b_Q) among the labels. */
const BIAS = 2;

/** [batch, n_heads, d_model]: each head's output z·W_O (without b_O) at the positions; hook_result when cached. */
export function headResultsAt(model: HookedTransformer, cache: ActivationCache, layer: number, pos: readonly number[]): Tensor {
  const what = "headResultsAt";
  const resultName = `blocks.${layer}.attn.hook_result`;
  if (cache.has(resultName)) return atPositions(cache.get(resultName), pos, what);
  const z = atPositions(cache.get(`blocks.${layer}.attn.hook_z`), pos, what); // [batch, heads, d_head]
  return z.permute(1, 0, 2).matmul(model.blocks[layer].attn.W_O).permute(1, 0, 2).contiguous();
}

/** [C, batch, d_model] raw stream components at the positions, in label order (the bias slot is zero). */
function componentsAt(model: HookedTransformer, cache: ActivationCache, layer: number, pos: readonly number[], what: string): Tensor {
  const batch = pos.length;
  const d = model.cfg.dModel;
  const parts: Tensor[] = [
    atPositions(cache.get("hook_embed"), pos, what),
    atPositions(cache.get("hook_pos_embed"), pos, what),
    zeros([batch, d]),
  ];
  let bO = zeros([d]);
  for (let l = 0; l < layer; l++) bO = bO.add(model.blocks[l].attn.b_O);
  parts.push(bO.unsqueeze(0).expand(batch, d));
  for (let l = 0; l < layer; l++) {
    const heads = headResultsAt(model, cache, l, pos);
    for (let h = 0; h < model.cfg.nHeads; h++) parts.push(heads.get(":", h));
    if (!model.cfg.attnOnly) parts.push(atPositions(cache.get(`blocks.${l}.hook_mlp_out`), pos, what));
  }
  return stack(parts);
}

/** [C, batch, d_model]: the components centred and divided by ln1's scale at the positions (they sum to u). */
function normalizedComponentsAt(model: HookedTransformer, cache: ActivationCache, r: Resolved, pos: readonly number[], what: string): Tensor {
  const comps = componentsAt(model, cache, r.layer, pos, what);
  return centre(model, comps).div(lnScaleAt(model, cache, r.layer, r.head, pos, what).unsqueeze(0));
}

// ---------------------------------------------------------------------------------------------------------------
// the effective embedding

export interface EffectiveEmbedding {
  /** [n, d_model]: W_E rows ("W_E (no MLPs)") */
  W_E: Tensor;
  /** [n, d_model]: the stream after block 0 for a token attending only to itself: resid_mid + MLP0 ("W_E (including MLPs)") */
  W_EE: Tensor;
  /** [n, d_model]: MLP0's output alone ("W_E (only MLPs)") */
  W_EE_subE: Tensor;
  /** [n, d_model]: W_Uᵀ rows ("W_U") */
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
 * to itself. Runs ln1/ln2 and MLP0's modules, so their hooks fire, as in TL.
 */
export async function getEffectiveEmbedding(model: HookedTransformer, opts: EffectiveEmbeddingOptions = {}): Promise<EffectiveEmbedding> {
  const block = model.blocks[0];
  if (!block.mlp) throw new TlensError("getEffectiveEmbedding: an attention-only model has no MLP0");
  const ids = opts.tokens ? idx(opts.tokens) : null;
  const W_E = ids ? model.W_E.get(ids) : model.W_E;
  const W_U = ids ? model.W_U.mT.get(ids) : model.W_U.mT.contiguous();
  const withAttention = opts.withAttention ?? true;
  const n = W_E.shape[0];
  const chunk = opts.chunkSize ?? 4096;
  const mids: Tensor[] = [];
  const mlps: Tensor[] = [];
  const attn = block.attn;
  // Σ_h W_V[h] W_O[h]: [d_model, d_model]; the value biases' share b_V W_O summed over heads (+ b_O)
  const ov = withAttention ? attn.W_V.matmul(attn.W_O).sum(0) : null;
  const ovBias = withAttention && opts.attnBias ? attn.b_V.unsqueeze(1).matmul(attn.W_O).squeeze(1).sum(0).add(attn.b_O) : null;
  for (let s = 0; s < n; s += chunk) {
    const x = W_E.narrow(0, s, Math.min(chunk, n - s)).unsqueeze(0); // [1, rows, d_model]
    let mid = x;
    if (ov) {
      const pre = block.ln1 ? await block.ln1.forward(x) : x;
      let attnOut = pre.matmul(ov);
      if (ovBias) attnOut = attnOut.add(ovBias);
      mid = x.add(attnOut);
    }
    const normed = block.ln2 ? await block.ln2.forward(mid) : mid;
    const out = await block.mlp.forward(normed);
    mids.push(mid.squeeze(0));
    mlps.push(out.squeeze(0));
  }
  const resid = mids.length === 1 ? mids[0] : cat(mids, 0);
  const mlp = mlps.length === 1 ? mlps[0] : cat(mlps, 0);
  return { W_E, W_EE: resid.add(mlp), W_EE_subE: mlp, W_U };
}

// ---------------------------------------------------------------------------------------------------------------
// decomposeAttnScores

export type QueryIntervention = "sub_W_U_IO" | "project_to_W_U_IO" | null;
export type KeyIntervention = "sub_MLP0" | "project_to_MLP0" | null;

export interface DecomposeAttnScoresOptions extends AttnHeadTarget {
  /** Which side is decomposed into components; the other side is held fixed (a linear map). */
  decomposeBy: "keys" | "queries";
  /** Keys: replace the fixed query by normalised W_U[IO] ("sub_W_U_IO"), or split it into its parts ∥ and ⟂ W_U[IO]
   *  ("project_to_W_U_IO": two linear maps, b_Q in the ⟂ one). Queries: "project_to_W_U_IO" splits every query-side
   *  component ∥/⟂ W_U[IO]. */
  interveneOnQuery?: QueryIntervention;
  /** Queries: replace the fixed key by normalised MLP0 output at IO ("sub_MLP0"), or split it ∥/⟂ MLP0's output
   *  ("project_to_MLP0", b_K in ⟂). Keys: "project_to_MLP0" splits every key-side component ∥/⟂ MLP0's output at
   *  its position (IO, and S1 for the baseline). */
  interveneOnKey?: KeyIntervention;
  /** Keys: each component at IO minus the same at S1 (the bias term cancels). Queries: the fixed key is k_IO − k_S1.
   *  Either way the contributions sum to score(end→IO) − score(end→S1). */
  subtractS1AttnScores?: boolean;
  /** The MLP0 direction is the effective embedding of the IO (S1) token instead of MLP0's actual output. */
  useEffectiveEmbedding?: boolean;
  /** The MLP0 direction also includes layer 0's attention (attn_out of layer 0, or W_EE − W_E). */
  useLayer0Heads?: boolean;
  /** Project queries onto the plane of W_U[IO] and W_U[S1] instead of W_U[IO] alone. */
  includeS1InUnembedProjection?: boolean;
}

export interface AttnScoreDecomposition {
  decomposeBy: "keys" | "queries";
  /** Component labels (length C): W_E, W_pos, b_K|b_Q, b_O, L0H0.., MLP0, ... */
  labels: string[];
  /** Facets of the fixed side's linear map: ["unchanged"], ["IO_sub"], ["IO_dir", "IO_perp"] (keys) or ["MLP0_sub"],
   *  ["MLP0_dir", "MLP0_perp"] (queries) */
  fixedFacets: string[];
  /** Facets of the decomposed components: ["unchanged"], or ["MLP0_dir", "MLP0_perp"] (keys) / ["IO_dir", "IO_perp"] (queries) */
  decomposedFacets: string[];
  /** [fixedFacet, decomposedFacet, C, batch]: each component's contribution to each row's score */
  contributions: Tensor;
  /** [fixedFacet, decomposedFacet, C]: mean over the batch (the notebooks' heatmap values) */
  mean: Tensor;
  /** [fixedFacet, decomposedFacet, 1 + layer, max(n_heads + 1, 4)]: the notebooks' heatmap layout — row 0 holds W_E,
   *  W_pos, the bias, b_O; row 1 + l holds layer l's heads then MLP l */
  grid: Tensor;
  /** [batch]: Σ of every contribution. Without a "sub_" intervention this is the head's actual score end→IO (or the
   *  IO − S1 difference), up to float rounding */
  total: Tensor;
  /** [batch]: the cached score end→IO (− end→S1 with subtractS1AttnScores), when the cache holds hook_attn_scores */
  actual: Tensor | null;
  /** Look up the facet pair, e.g. `get("IO_dir", "MLP0_dir")` → [C] means (either order). */
  get(facetA: string, facetB?: string): Tensor;
}

/** The MLP0 direction(s) for the key-side projections: [batch, d_model] at IO and at S1. */
async function mlp0Directions(model: HookedTransformer, cache: ActivationCache, r: Resolved, opts: { useEffectiveEmbedding?: boolean; useLayer0Heads?: boolean }, what: string): Promise<{ IO: Tensor; S1: Tensor | null }> {
  if (opts.useEffectiveEmbedding) {
    const io = needTokens(r.ioTokens, "IO", what);
    const s1 = r.s1Tokens;
    const ee = await getEffectiveEmbedding(model, { tokens: s1 ? [...io, ...s1] : io });
    const dirs = opts.useLayer0Heads ? ee.W_EE.sub(ee.W_E) : ee.W_EE_subE;
    return { IO: dirs.narrow(0, 0, r.batch), S1: s1 ? dirs.narrow(0, r.batch, r.batch) : null };
  }
  const at = (pos: readonly number[]): Tensor => {
    let v = atPositions(cache.get("blocks.0.hook_mlp_out"), pos, what);
    if (opts.useLayer0Heads) v = v.add(atPositions(cache.get("blocks.0.hook_attn_out"), pos, what));
    return v;
  };
  return { IO: at(r.IO), S1: r.S1 ? at(r.S1) : null };
}

function unembedDirections(model: HookedTransformer, r: Resolved, withS1: boolean, what: string): Tensor[] {
  const WU = model.W_U.mT; // [d_vocab, d_model]
  const dirs = [WU.get(idx(needTokens(r.ioTokens, "IO", what)))];
  if (withS1) dirs.push(WU.get(idx(needTokens(r.s1Tokens, "S1", what))));
  return dirs;
}

function splitAlong(v: Tensor, dirs: Tensor | Tensor[]): [Tensor, Tensor] {
  const p = project(v, Array.isArray(dirs) ? dirs : [dirs]);
  return [p.parallel, p.perp];
}

/**
 * Decomposes the head's score end→IO (TL's `decompose_attn_scores` of seed 000 / 001) into one term per residual
 * component on one side, the other side held fixed, optionally split ∥/⟂ a direction on either side (the four-way
 * split: q ∥/⟂ W_U[IO] × k ∥/⟂ MLP0). Contributions are exact: they sum to the score (see `total`, `actual`).
 *
 * The cache must hold, for the head's layer L: `hook_embed`, `hook_pos_embed`, `hook_z` (or `hook_result`) and
 * `hook_mlp_out` of the layers before L, `blocks.L.hook_resid_pre`, `blocks.L.ln1.hook_scale`, `hook_q`/`hook_k` of
 * L (and `blocks.0.hook_attn_out` with useLayer0Heads); `copySuppressionHookNames(model, L)` lists them.
 *
 * Deliberate differences from the original: components are centred and divided by ln1's cached scale (the original
 * divides by an unbiased std), so ∥ + ⟂ and the components add up exactly; the summed b_O of earlier layers is its
 * own component (the original drops it); "sub_MLP0" replaces the key at IO (the original wrote it at `end`, where
 * it had no effect) and works with subtractS1AttnScores.
 */
export async function decomposeAttnScores(model: HookedTransformer, cache: ActivationCache, opts: DecomposeAttnScoresOptions): Promise<AttnScoreDecomposition> {
  const what = "decomposeAttnScores";
  const r = resolveTarget(model, opts, what);
  const by = opts.decomposeBy;
  if (by !== "keys" && by !== "queries") throw new TlensError(`${what}: decomposeBy must be "keys" or "queries", got ${String(by)}`);
  const sub = opts.subtractS1AttnScores ?? false;
  const qInt = opts.interveneOnQuery ?? null;
  const kInt = opts.interveneOnKey ?? null;
  if (by === "keys" && kInt === "sub_MLP0") throw new TlensError(`${what}: decomposing by keys, interveneOnKey can only be "project_to_MLP0" (the keys are the decomposed side)`);
  if (by === "queries" && qInt === "sub_W_U_IO") throw new TlensError(`${what}: decomposing by queries, interveneOnQuery can only be "project_to_W_U_IO" (the queries are the decomposed side)`);
  const S1 = sub ? needS1(r, what) : r.S1;
  const w = foldedQK(model, r.layer, r.head);
  const withS1Unembed = opts.includeS1InUnembedProjection ?? false;
  const needMlp0 = kInt !== null;
  const mlp0 = needMlp0 ? await mlp0Directions(model, cache, r, opts, what) : null;
  if (needMlp0 && sub && !mlp0!.S1) throw new TlensError(`${what}: needs the S1 positions/tokens for the baseline's MLP0 direction`);

  // ---- the fixed side: one linear map per facet
  const maps: LinearScoreFunction[] = [];
  let fixedFacets: string[];
  if (by === "keys") {
    let qs: Tensor[];
    if (qInt === "sub_W_U_IO") {
      const u = lnNormalize(model, unembedDirections(model, r, false, what)[0]);
      qs = [u.matmul(w.W_Q).add(w.b_Q)];
      fixedFacets = ["IO_sub"];
    } else if (qInt === "project_to_W_U_IO") {
      const u = normalizedInputAt(model, cache, r.layer, r.head, r.end, what);
      const [par, perp] = splitAlong(u, unembedDirections(model, r, withS1Unembed, what));
      qs = [par.matmul(w.W_Q), perp.matmul(w.W_Q).add(w.b_Q)];
      fixedFacets = ["IO_dir", "IO_perp"];
    } else {
      qs = [queryAt(cache, r, r.end, what)];
      fixedFacets = ["unchanged"];
    }
    for (const q of qs) maps.push(mapOfQuery(w, q, sub));
  } else {
    let ks: Tensor[];
    const keyFrom = (u: Tensor, withBias: boolean): Tensor => (withBias ? u.matmul(w.W_K).add(w.b_K) : u.matmul(w.W_K));
    if (kInt === "sub_MLP0") {
      ks = [keyFrom(lnNormalize(model, mlp0!.IO), true)];
      if (sub) ks = [ks[0].sub(keyFrom(lnNormalize(model, mlp0!.S1!), true))];
      fixedFacets = ["MLP0_sub"];
    } else if (kInt === "project_to_MLP0") {
      const [par, perp] = splitAlong(normalizedInputAt(model, cache, r.layer, r.head, r.IO, what), mlp0!.IO);
      ks = [keyFrom(par, false), keyFrom(perp, true)];
      if (sub) {
        const [parS, perpS] = splitAlong(normalizedInputAt(model, cache, r.layer, r.head, S1!, what), mlp0!.S1!);
        ks = [ks[0].sub(keyFrom(parS, false)), ks[1].sub(keyFrom(perpS, true))];
      }
      fixedFacets = ["MLP0_dir", "MLP0_perp"];
    } else {
      let k = keyAt(model, cache, r, r.IO, what);
      if (sub) k = k.sub(keyAt(model, cache, r, S1!, what));
      ks = [k];
      fixedFacets = ["unchanged"];
    }
    for (const k of ks) maps.push(mapOfKey(w, k));
  }

  // ---- the decomposed side: normalised components [G][C, batch, d_model]
  let decomposed: Tensor[];
  let decomposedFacets: string[];
  if (by === "keys") {
    const vIO = normalizedComponentsAt(model, cache, r, r.IO, what);
    const vS1 = sub ? normalizedComponentsAt(model, cache, r, S1!, what) : null;
    if (kInt === "project_to_MLP0") {
      const [par, perp] = splitAlong(vIO, mlp0!.IO);
      decomposed = [par, perp];
      if (vS1) {
        const [parS, perpS] = splitAlong(vS1, mlp0!.S1!);
        decomposed = [par.sub(parS), perp.sub(perpS)];
      }
      decomposedFacets = ["MLP0_dir", "MLP0_perp"];
    } else {
      decomposed = [vS1 ? vIO.sub(vS1) : vIO];
      decomposedFacets = ["unchanged"];
    }
  } else {
    const vEnd = normalizedComponentsAt(model, cache, r, r.end, what);
    if (qInt === "project_to_W_U_IO") {
      decomposed = splitAlong(vEnd, unembedDirections(model, r, withS1Unembed, what));
      decomposedFacets = ["IO_dir", "IO_perp"];
    } else {
      decomposed = [vEnd];
      decomposedFacets = ["unchanged"];
    }
  }

  // ---- contributions [F, G, C, batch]
  const F = maps.length;
  const G = decomposed.length;
  const perFacet: Tensor[] = [];
  for (const m of maps) {
    for (let g = 0; g < G; g++) {
      const c = decomposed[g].mul(m.linearMap.unsqueeze(0)).sum(-1); // [C, batch]
      if (g === G - 1) c.set([BIAS], m.bias); // the bias term always goes with the ⟂ (or only) part
      perFacet.push(c);
    }
  }
  const C = perFacet[0].shape[0];
  const contributions = stack(perFacet).reshape(F, G, C, r.batch);
  const labels = attnDecompositionLabels(model, r.layer, by);
  const mean = contributions.mean(-1);
  const total = contributions.sum([0, 1, 2]);
  let actual: Tensor | null = null;
  const scoresName = `blocks.${r.layer}.attn.hook_attn_scores`;
  if (cache.has(scoresName)) {
    const rows = atPositions(cache.get(scoresName).get(":", r.head), r.end, what); // [batch, key]
    actual = rows.get(arange(r.batch), idx(r.IO));
    if (sub) actual = actual.sub(rows.get(arange(r.batch), idx(S1!)));
  }
  return {
    decomposeBy: by, labels, fixedFacets, decomposedFacets, contributions, mean,
    grid: toGrid(model, r.layer, mean), total, actual,
    get(a: string, b?: string): Tensor {
      for (let f = 0; f < F; f++) {
        for (let g = 0; g < G; g++) {
          const pair = [fixedFacets[f], decomposedFacets[g]];
          if (b === undefined ? (F === 1 && pair[1] === a) || (G === 1 && pair[0] === a) : (pair[0] === a && pair[1] === b) || (pair[0] === b && pair[1] === a)) {
            return mean.get(f, g);
          }
        }
      }
      throw new TlensError(`decomposeAttnScores: no facet pair (${a}${b ? `, ${b}` : ""}); the facets are ${fixedFacets.join("/")} × ${decomposedFacets.join("/")}`);
    },
  };
}

/** [..., C] in label order → [..., 1 + layer, max(n_heads + 1, 4)] (the notebooks' heatmap). */
function toGrid(model: HookedTransformer, layer: number, flat: Tensor): Tensor {
  const H = model.cfg.nHeads;
  const width = Math.max(H + 1, 4);
  const lead = flat.shape.slice(0, -1);
  const grid = zeros([...lead, 1 + layer, width]);
  const src = (c: number): Tensor => flat.get("...", c);
  for (let c = 0; c < 4; c++) grid.set(["...", 0, c], src(c));
  let c = 4;
  for (let l = 0; l < layer; l++) {
    for (let h = 0; h < H; h++) grid.set(["...", 1 + l, h], src(c++));
    if (!model.cfg.attnOnly) grid.set(["...", 1 + l, H], src(c++));
  }
  return grid;
}

/** The hook names decomposeAttnScores / decomposeAttnScoresFull read for a head in `layer` (a namesFilter). */
export function copySuppressionHookNames(model: HookedTransformer, layer: number): string[] {
  const names = ["hook_embed", "hook_pos_embed"];
  for (let l = 0; l < layer; l++) {
    names.push(`blocks.${l}.attn.hook_z`);
    if (model.cfg.useAttnResult) names.push(`blocks.${l}.attn.hook_result`);
    if (!model.cfg.attnOnly) names.push(`blocks.${l}.hook_mlp_out`);
  }
  names.push("blocks.0.hook_attn_out", `blocks.${layer}.hook_resid_pre`, `blocks.${layer}.attn.hook_q`, `blocks.${layer}.attn.hook_k`, `blocks.${layer}.attn.hook_attn_scores`);
  if (model.cfg.normalizationType) names.push(`blocks.${layer}.ln1.hook_scale`);
  return names;
}

// ---------------------------------------------------------------------------------------------------------------
// the full bilinear decomposition: query component × key component

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
  /** [4, C (query component), C (key component)]: mean over the batch */
  mean: Tensor;
  /** [batch]: Σ over facets and both component axes = the score end→IO (− end→S1) */
  total: Tensor;
  actual: Tensor | null;
}

/**
 * Every (query component, key component) pair's contribution to the score, each side split ∥/⟂ (queries along
 * W_U[IO], keys along MLP0's output) — callum2's `decompose_attn_scores_full`. Biases sit in the ⟂ parts.
 */
export async function decomposeAttnScoresFull(model: HookedTransformer, cache: ActivationCache, opts: FullDecompositionOptions): Promise<FullAttnScoreDecomposition> {
  const what = "decomposeAttnScoresFull";
  const r = resolveTarget(model, opts, what);
  const sub = opts.subtractS1AttnScores ?? false;
  const S1 = sub ? needS1(r, what) : r.S1;
  const w = foldedQK(model, r.layer, r.head);
  const mlp0 = await mlp0Directions(model, cache, r, opts, what);
  // queries: [2, C, batch, d_head]
  const [qPar, qPerp] = splitAlong(normalizedComponentsAt(model, cache, r, r.end, what), unembedDirections(model, r, opts.includeS1InUnembedProjection ?? false, what));
  const qPerpW = qPerp.matmul(w.W_Q);
  qPerpW.set([BIAS], w.b_Q);
  const Q = stack([qPar.matmul(w.W_Q), qPerpW]);
  // keys
  let [kPar, kPerp] = splitAlong(normalizedComponentsAt(model, cache, r, r.IO, what), mlp0.IO);
  if (sub) {
    if (!mlp0.S1) throw new TlensError(`${what}: needs the S1 positions/tokens for the baseline's MLP0 direction`);
    const [parS, perpS] = splitAlong(normalizedComponentsAt(model, cache, r, S1!, what), mlp0.S1);
    kPar = kPar.sub(parS);
    kPerp = kPerp.sub(perpS);
  }
  const kPerpW = kPerp.matmul(w.W_K);
  if (!sub) kPerpW.set([BIAS], w.b_K);
  const K = stack([kPar.matmul(w.W_K), kPerpW]);
  const C = Q.shape[1];
  const dh = Q.shape[3];
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
    mean, total, actual,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// position-flip patching (seed 003)

export interface PositionFlipOptions {
  /** [layer, head], e.g. [10, 7] */
  head: readonly [number, number];
  /** The flip whose residual stream is patched into the head's query input (default "ABB -> BAB, BAB -> ABB":
   *  IO and S1 swap places, the rest of the sentence stays). */
  flip?: string;
  /** Hold ln1's scale of the layer at its clean value in the patched runs (default true, as the seed). */
  freezeScale?: boolean;
}

export interface PositionFlipResult {
  /** Mean over the batch of score(end→IO) − score(end→S1) in the head. */
  clean: number;
  /** The head's query input replaced (every position) by the flipped prompt's resid_pre of the layer. */
  patched: number;
  /** The query input at `end` replaced by its projection onto the span of W_U[IO] and W_U[S1]. */
  projected: number;
  /** [batch] per-row differences of each run */
  perRow: { clean: Tensor; patched: Tensor; projected: Tensor };
  flippedDataset: IOIDataset;
}

/**
 * Seed 003's experiment on head (L, h): does the head find IO by position as well as by token? Three runs of the
 * dataset, each measuring score(end→IO) − score(end→S1) of the head:
 *  clean; "patched" — the head's query input (`hook_q_input`) takes the flipped dataset's resid_pre of layer L, so
 *  the query "looks for IO where S1 was"; "projected" — the query input at `end` is projected onto
 *  span(W_U[IO], W_U[S1]). Patched runs freeze ln1's scale at the clean run's value. Turns on split q/k/v inputs for
 *  the runs (restored afterwards).
 */
export async function positionFlipPatching(model: HookedTransformer, dataset: IOIDataset, opts: PositionFlipOptions): Promise<PositionFlipResult> {
  const what = "positionFlipPatching";
  const r = resolveTarget(model, { head: opts.head, dataset }, what);
  const L = r.layer;
  const H = r.head;
  const S1 = needS1(r, what);
  const flip = opts.flip ?? "ABB -> BAB, BAB -> ABB";
  const freeze = opts.freezeScale ?? true;
  const scoresName = `blocks.${L}.attn.hook_attn_scores`;
  const scaleName = `blocks.${L}.ln1.hook_scale`;
  const residName = `blocks.${L}.hook_resid_pre`;
  const qInputName = `blocks.${L}.hook_q_input`;
  const toks = dataset.toks;
  const diff = (scores: Tensor): Tensor => {
    const rows = atPositions(scores.get(":", H), r.end, what); // [batch, key]
    return rows.get(arange(r.batch), idx(r.IO)).sub(rows.get(arange(r.batch), idx(S1)));
  };
  const flipped = dataset.genFlippedPrompts(flip);
  if (flipped.toks.shape[1] !== toks.shape[1]) {
    throw new ShapeError(`${what}: the flipped prompts have ${flipped.toks.shape[1]} positions, the clean ones ${toks.shape[1]}`);
  }
  const prevSplit = model.cfg.useSplitQkvInput;
  model.setUseSplitQkvInput(true);
  try {
    // every run stops after block L: nothing later (least of all the unembedding) is needed
    const stop = { returnType: null, stopAtLayer: L + 1 } as const;
    const [, clean] = await model.runWithCache(toks, { ...stop, namesFilter: [scoresName, ...(model.cfg.normalizationType ? [scaleName] : [])] });
    const [, flippedCache] = await model.runWithCache(flipped.toks, { ...stop, namesFilter: [residName] });
    const flippedResid = flippedCache.get(residName); // [batch, pos, d_model]
    const cleanScale = model.cfg.normalizationType ? clean.get(scaleName) : null;
    const freezeHook: HookFn = (scale) => (cleanScale!.shape.length === scale.shape.length ? cleanScale! : cleanScale!.expand(scale.shape));
    const patchHook: HookFn = (qIn) => {
      const out = qIn.clone();
      out.set([":", ":", H], flippedResid);
      return out;
    };
    const W_U_IO = model.W_U.mT.get(idx(needTokens(r.ioTokens, "IO", what)));
    const W_U_S1 = model.W_U.mT.get(idx(needTokens(r.s1Tokens, "S1", what)));
    const projectHook: HookFn = (qIn) => {
      const out = qIn.clone();
      const rows = [arange(r.batch), idx(r.end), Tensor.fromTypedArray(new Int32Array(r.batch).fill(H), [r.batch])];
      out.set(rows, project(qIn.get(...rows), [W_U_IO, W_U_S1]).parallel);
      return out;
    };
    const run = async (qHook: HookFn): Promise<Tensor> => {
      const hooks: [string, HookFn][] = [[qInputName, qHook]];
      if (freeze && cleanScale) hooks.push([scaleName, freezeHook]);
      let scores: Tensor | null = null;
      hooks.push([scoresName, (s) => { scores = s; }]);
      await model.runWithHooks(toks, { ...stop, fwdHooks: hooks });
      return diff(scores!);
    };
    const cleanDiff = diff(clean.get(scoresName));
    const patched = await run(patchHook);
    const projected = await run(projectHook);
    const meanOf = (t: Tensor): number => t.mean().item();
    return {
      clean: meanOf(cleanDiff), patched: meanOf(patched), projected: meanOf(projected),
      perRow: { clean: cleanDiff, patched, projected }, flippedDataset: flipped,
    };
  } finally {
    model.setUseSplitQkvInput(prevSplit);
  }
}

