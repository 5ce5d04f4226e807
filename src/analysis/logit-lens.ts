// Logit lens and direct logit attribution (DLA) on a cached run, built on ActivationCache's TL methods.
//
// Shapes: `batchPos` is the cache's [batch, pos] after the posSlice: [batch, pos] by default, [batch] for an integer
// posSlice (e.g. -1, the usual choice), and without batch for a cache after removeBatchDim. Components come first:
// every result tensor is [component, ...batchPos] (or [component, ...batchPos, d_vocab] for full logits).
//
// Targets: a token's logit ({ tokens }), a logit difference ({ tokens, incorrectTokens }), or any residual
// direction ({ direction }). Tokens are one id or single-token string for every row, one per batch row [batch] (used
// at every position), or one per position [batch, pos] (matching the posSlice).
import { AnalysisError, ShapeError } from "../errors.js";
import {
  attributeAlong,
  Slice,
  type ActivationCache,
  type SliceInput,
  type TokensInput,
} from "../model/activation-cache.js";
import type { HookedTransformer } from "../model/index.js";
import { stack, Tensor } from "../tensor/index.js";
import { fmtShape } from "../tensor/shape.js";

/** What to attribute to: a token's logit, a logit difference, or a residual direction [d_model] / per row
 *  [batch, d_model] / per position [batch, pos, d_model]. */
export type LogitTarget = { tokens: TokensInput; incorrectTokens?: TokensInput } | { direction: Tensor };

/** Token ids as an int32 tensor ([] for one token). */
export function toTokenIds(model: HookedTransformer, tokens: TokensInput): Tensor {
  if (typeof tokens === "number") return Tensor.fromTypedArray(new Int32Array([tokens]), []);
  if (typeof tokens === "string") return Tensor.fromTypedArray(new Int32Array([model.toSingleToken(tokens)]), []);
  if (tokens instanceof Tensor) {
    if (tokens.dtype === "float32" || tokens.dtype === "float64" || tokens.dtype === "bool") {
      throw new AnalysisError(`token ids must be an int32 tensor, got ${tokens.dtype}`);
    }
    return tokens.to("int32");
  }
  if (Array.isArray(tokens)) {
    const ids = (tokens as readonly (number | string)[]).map((t) =>
      typeof t === "string" ? model.toSingleToken(t) : t,
    );
    return Tensor.fromTypedArray(Int32Array.from(ids), [ids.length]);
  }
  throw new AnalysisError("tokens must be a token id, a single-token string, an array of them, or an int32 tensor");
}

/** Per-row values [batch, ...trailing] used at every position of a [batch, pos] batchPos: insert the pos dim. */
function alignRows(t: Tensor, batchPos: readonly number[], trailing: number): Tensor {
  const lead = t.ndim - trailing;
  if (lead === 1 && batchPos.length === 2 && t.shape[0] === batchPos[0]) return t.unsqueeze(1);
  return t;
}

/** Broadcasts t [...batchPos-like] to batchPos exactly, with a clear error. */
function broadcastTo(t: Tensor, batchPos: readonly number[], what: string): Tensor {
  try {
    return t.expand([...batchPos]);
  } catch {
    throw new ShapeError(
      `${what} of shape ${fmtShape(t.shape)} does not fit the positions read (${fmtShape(batchPos)}); give one per batch row [batch] or per position [batch, pos]`,
    );
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** The residual direction(s) of a target [..., d_model] and its unembedding-bias term (b_U of the token, or the
 *  difference; null for a raw direction). */
export function residualDirections(
  model: HookedTransformer,
  target: LogitTarget,
): { directions: Tensor; unembedBias: Tensor | null } {
  if ("direction" in target) {
    const d = target.direction;
    if (d.shape[d.ndim - 1] !== model.cfg.dModel)
      throw new ShapeError(
        `direction has shape ${fmtShape(d.shape)}; its last dim must be d_model = ${model.cfg.dModel}`,
      );
    return { directions: d, unembedBias: null };
  }
  const ids = toTokenIds(model, target.tokens);
  let directions = model.W_U.transpose(0, 1).get(ids); // [..., d_model]
  let unembedBias = model.b_U.get(ids);
  if (target.incorrectTokens !== undefined) {
    const wrong = toTokenIds(model, target.incorrectTokens);
    if (!sameShape(ids.shape, wrong.shape)) {
      throw new ShapeError(
        `tokens and incorrectTokens must have the same shape (tokens ${fmtShape(ids.shape)}, incorrectTokens ${fmtShape(wrong.shape)})`,
      );
    }
    directions = directions.sub(model.W_U.transpose(0, 1).get(wrong));
    unembedBias = unembedBias.sub(model.b_U.get(wrong));
  }
  return { directions, unembedBias };
}

// ---------------------------------------------------------------------------------------------------------------
// logit lens

export interface LogitLensOptions {
  /** Residual streams up to the input of this layer (accumulatedResid's layer); default all, ending with the final
   *  resid_post. */
  layer?: number | null;
  /** Also each layer's resid_mid (after attention, before the MLP). */
  inclMid?: boolean;
  /** Also resid_mid of `layer`. */
  mlpInput?: boolean;
  /** Positions to read (TL Slice: -1, "3:7", [2, 5], ...); default all. */
  posSlice?: SliceInput;
  /** Targets: report their logits, log-probs and ranks per layer. */
  tokens?: TokensInput;
  /** With tokens: also the logit difference tokens − incorrectTokens per layer. */
  incorrectTokens?: TokensInput;
  /** Keep the full logits [component, ...batchPos, d_vocab] (default: only when no tokens are given). */
  returnLogits?: boolean;
  /** The k most likely tokens per layer and position. */
  topK?: number;
  /** Add b_U (default true), so that the final component reproduces the model's logits. */
  includeBias?: boolean;
}

export interface LogitLensResult {
  /** Component labels: `0_pre, [0_mid,] 1_pre, ..., final_post`. */
  labels: string[];
  /** The residual streams through the final norm (statistics recomputed per stream) [component, ...batchPos, d_model]. */
  normalized: Tensor;
  /** [component, ...batchPos, d_vocab] */
  logits?: Tensor;
  /** The targets' logits [component, ...batchPos]. */
  tokenLogits?: Tensor;
  /** The targets' log-probabilities [component, ...batchPos]. */
  tokenLogProbs?: Tensor;
  /** The targets' ranks, 0 = most likely (int32) [component, ...batchPos]. */
  tokenRanks?: Tensor;
  /** logit(tokens) − logit(incorrectTokens) [component, ...batchPos]. */
  logitDiff?: Tensor;
  /** The k largest logits and their token ids [component, ...batchPos, k]. */
  topK?: { values: Tensor; indices: Tensor };
}

/**
 * The logit lens: each residual stream (accumulatedResid) through the final norm — recomputed from that stream, as
 * TL's accumulated_resid(apply_ln=True) — and the unembedding. The last component ("final_post") is the model's
 * own logits. Full logits are [component, ...batchPos, d_vocab]: on a large vocabulary give a posSlice, or ask only
 * for tokens (computed one component at a time, the full logits are then not kept).
 */
export function logitLens(
  model: HookedTransformer,
  cache: ActivationCache,
  opts: LogitLensOptions = {},
): LogitLensResult {
  const [resid, labels] = cache.accumulatedResid({
    layer: opts.layer,
    inclMid: opts.inclMid,
    mlpInput: opts.mlpInput,
    posSlice: opts.posSlice,
    returnLabels: true,
  });
  const normalized = cache.applyLnToStack(resid, { layer: null, posSlice: opts.posSlice, recomputeLn: true });
  const batchPos = normalized.shape.slice(1, -1);
  const includeBias = opts.includeBias ?? true;
  const keepLogits = opts.returnLogits ?? opts.tokens === undefined;
  if (opts.incorrectTokens !== undefined && opts.tokens === undefined)
    throw new AnalysisError("logitLens: incorrectTokens needs tokens");
  const target = (t: TokensInput, what: string): Tensor =>
    broadcastTo(alignRows(toTokenIds(model, t), batchPos, 0), batchPos, what).unsqueeze(-1);
  const right = opts.tokens !== undefined ? target(opts.tokens, "tokens") : null;
  const wrong = opts.incorrectTokens !== undefined ? target(opts.incorrectTokens, "incorrectTokens") : null;
  if (opts.topK !== undefined && (!Number.isInteger(opts.topK) || opts.topK < 1 || opts.topK > model.cfg.dVocabOut)) {
    throw new AnalysisError(`logitLens: topK must be an integer in 1..${model.cfg.dVocabOut}, got ${opts.topK}`);
  }

  const logitsOut: Tensor[] = [];
  const tokLogits: Tensor[] = [];
  const tokLogProbs: Tensor[] = [];
  const tokRanks: Tensor[] = [];
  const diffs: Tensor[] = [];
  const topValues: Tensor[] = [];
  const topIndices: Tensor[] = [];
  for (let c = 0; c < normalized.shape[0]!; c++) {
    let logits = normalized.get(c).matmul(model.W_U); // [...batchPos, d_vocab]
    if (includeBias) logits = logits.add(model.b_U);
    if (keepLogits) logitsOut.push(logits);
    if (right) {
      const l = logits.gather(-1, right); // [...batchPos, 1]
      tokLogits.push(l.squeeze(-1));
      tokLogProbs.push(l.sub(logits.logsumexp(-1, true)).squeeze(-1));
      tokRanks.push(logits.gt(l).sum(-1).to("int32"));
      if (wrong) diffs.push(l.sub(logits.gather(-1, wrong)).squeeze(-1));
    }
    if (opts.topK !== undefined) {
      const { values, indices } = logits.topk(opts.topK, -1);
      topValues.push(values);
      topIndices.push(indices);
    }
  }
  const result: LogitLensResult = { labels, normalized };
  if (keepLogits) result.logits = stack(logitsOut, 0);
  if (right) {
    result.tokenLogits = stack(tokLogits, 0);
    result.tokenLogProbs = stack(tokLogProbs, 0);
    result.tokenRanks = stack(tokRanks, 0);
  }
  if (wrong) result.logitDiff = stack(diffs, 0);
  if (opts.topK !== undefined) result.topK = { values: stack(topValues, 0), indices: stack(topIndices, 0) };
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// direct logit attribution

export interface DlaOptions {
  target: LogitTarget;
  /** Positions (TL Slice; -1 = the last, the usual choice); default all. */
  posSlice?: SliceInput;
  /** Batch rows (TL Slice); targets must already match the rows chosen. */
  batchSlice?: SliceInput;
}

export interface DlaResult {
  /** Component labels (TL's). */
  labels: string[];
  /** Each component's direct contribution to the target [component, ...batchPos]: the component centred and divided
   *  by the cached final norm scale (TL's apply_ln_to_stack), dotted with the target direction. */
  attrs: Tensor;
  /** The b_U term of a token target, broadcast to batchPos (null for a direction). On a folded model the
   *  components of a full decomposition plus this give the logit (or logit difference) exactly. */
  unembedBias: Tensor | null;
}

/** Attribution of a stack from the cache to a target: [component, ...batchPos]. */
function attribute(
  model: HookedTransformer,
  cache: ActivationCache,
  stackIn: Tensor,
  labels: string[],
  opts: DlaOptions,
): DlaResult {
  const { directions, unembedBias } = residualDirections(model, opts.target);
  const hasBatch = cache.hasBatchDim;
  const scaled = cache.applyLnToStack(stackIn, {
    layer: null,
    posSlice: opts.posSlice,
    batchSlice: opts.batchSlice,
    hasBatchDim: hasBatch,
  });
  const attrs = attributeAlong(scaled, directions, hasBatch && Slice.unwrap(opts.batchSlice).mode !== "int");
  const batchPos = attrs.shape.slice(1);
  const bias = unembedBias ? broadcastTo(alignRows(unembedBias, batchPos, 0), batchPos, "tokens") : null;
  return { labels, attrs, unembedBias: bias };
}

export interface DlaByLayerOptions extends DlaOptions {
  /** "all" (default): attention and MLP outputs; "attn" or "mlp" alone. */
  mode?: "all" | "attn" | "mlp";
  /** hook_embed and hook_pos_embed first (default true). */
  inclEmbeds?: boolean;
  /** Attribute the accumulated residual stream at each layer instead of each layer's output (labels `0_pre ...
   *  final_post`; TL's logit_attrs(accumulated_resid()), with the cached final scale — unlike the logit lens). */
  accumulated?: boolean;
  /** With accumulated: include resid_mid of each layer. */
  inclMid?: boolean;
}

/**
 * Direct logit attribution per layer: the embeddings and each attention and MLP output (TL's decompose_resid →
 * logit_attrs) [component, ...batchPos], labels `embed, pos_embed, 0_attn_out, 0_mlp_out, ...`. On a folded model
 * `attrs.sum(0) + unembedBias` is the target's logit.
 */
export function dlaByLayer(model: HookedTransformer, cache: ActivationCache, opts: DlaByLayerOptions): DlaResult {
  const [st, labels] = opts.accumulated
    ? cache.accumulatedResid({ inclMid: opts.inclMid, posSlice: opts.posSlice, returnLabels: true })
    : cache.decomposeResid({
        mode: opts.mode,
        inclEmbeds: opts.inclEmbeds,
        posSlice: opts.posSlice,
        returnLabels: true,
      });
  return attribute(model, cache, st, labels, opts);
}

export interface DlaByHeadOptions extends DlaOptions {
  /** Add the rest of the residual stream (embeddings, MLPs, biases) as "remainder". */
  inclRemainder?: boolean;
}

/**
 * Direct logit attribution per head (TL's stack_head_results → logit_attrs; head outputs without b_O):
 * attrs [layer * head (+ remainder), ...batchPos], labels `L{l}H{h}`, and `perHead` [layer, head, ...batchPos].
 */
export function dlaByHead(
  model: HookedTransformer,
  cache: ActivationCache,
  opts: DlaByHeadOptions,
): DlaResult & { perHead: Tensor } {
  const [st, labels] = cache.stackHeadResults({
    posSlice: opts.posSlice,
    inclRemainder: opts.inclRemainder,
    returnLabels: true,
  });
  const res = attribute(model, cache, st, labels, opts);
  const { nLayers, nHeads } = model.cfg;
  const perHead = res.attrs.narrow(0, 0, nLayers * nHeads).reshape([nLayers, nHeads, ...res.attrs.shape.slice(1)]);
  return { ...res, perHead };
}

export interface DlaByNeuronOptions extends DlaOptions {
  /** Which neurons of each layer (TL Slice); default all. */
  neuronSlice?: SliceInput;
  /** Neurons of the layers before this one; default all layers. */
  layer?: number | null;
}

/**
 * Direct logit attribution per MLP neuron: attrs [layer * neuron, ...batchPos], labels `L{l}N{n}`, and `perNeuron`
 * [layer, neuron, ...batchPos]. The same numbers as TL's logit_attrs(stack_neuron_results()), computed without the
 * [neuron, ..., d_model] stack: post · (centred W_out[n] · direction) / cached final scale.
 */
export function dlaByNeuron(
  model: HookedTransformer,
  cache: ActivationCache,
  opts: DlaByNeuronOptions,
): DlaResult & { perNeuron: Tensor } {
  const { nLayers, normalizationType } = model.cfg;
  if (model.cfg.attnOnly) throw new AnalysisError("dlaByNeuron: the model is attention-only (no MLP neurons)");
  const top = opts.layer === undefined || opts.layer === null || opts.layer === -1 ? nLayers : opts.layer;
  if (!Number.isInteger(top) || top < 0 || top > nLayers)
    throw new AnalysisError(`dlaByNeuron: layer ${opts.layer} is out of range 0..${nLayers}`);
  let neurons = Slice.unwrap(opts.neuronSlice);
  if (neurons.mode === "int") neurons = new Slice([neurons.slice as number]);
  const ids = neurons.indices(model.cfg.dMlp);
  const pos = Slice.unwrap(opts.posSlice);
  const batch = Slice.unwrap(opts.batchSlice);
  const hasBatch = cache.hasBatchDim;
  const { directions, unembedBias } = residualDirections(model, opts.target);
  const centre = normalizationType === "LN" || normalizationType === "LNPre";
  const norm = normalizationType !== null;
  const sliceRows = (t: Tensor): Tensor => (hasBatch ? batch.apply(t, 0) : t);
  const scale = norm ? sliceRows(pos.apply(cache.get("ln_final.hook_scale"), -2)) : null; // [...batchPos, 1]

  const labels: string[] = [];
  const perLayer: Tensor[] = [];
  let batchPos: number[] | null = null;
  const params = model.stateDict();
  for (let l = 0; l < top; l++) {
    const post = neurons.apply(sliceRows(pos.apply(cache.get(`blocks.${l}.mlp.hook_post`), -2)), -1); // [...batchPos, n]
    batchPos ??= post.shape.slice(0, -1);
    let W = neurons.apply(params.get(`blocks.${l}.mlp.W_out`)!, 0); // [n, d_model]
    if (centre) W = W.sub(W.mean(-1, true));
    const dirs = alignRows(directions, batchPos, 1); // [...batchPos-like, d_model]
    let a = post.mul(dirs.matmul(W.mT)); // [...batchPos, n]
    if (scale) a = a.div(scale);
    perLayer.push(a.movedim(-1, 0)); // [n, ...batchPos]
    for (const i of ids) labels.push(`L${l}N${i}`);
  }
  if (!batchPos) {
    const ref = sliceRows(pos.apply(cache.get("blocks.0.hook_resid_pre"), -2));
    batchPos = ref.shape.slice(0, -1);
  }
  const perNeuron = perLayer.length ? stack(perLayer, 0) : Tensor.empty([0, ids.length, ...batchPos]);
  const attrs = perNeuron.reshape([top * ids.length, ...batchPos]);
  const bias = unembedBias ? broadcastTo(alignRows(unembedBias, batchPos, 0), batchPos, "tokens") : null;
  return { labels, attrs, unembedBias: bias, perNeuron };
}

export interface DlaFullOptions extends DlaOptions {
  /** One component per neuron (default true) or per MLP layer. */
  expandNeurons?: boolean;
}

/**
 * Direct logit attribution of the full decomposition (TL's get_full_resid_decomposition → logit_attrs): every head,
 * every neuron (or MLP layer), embed, pos_embed and "bias" (the summed b_O/b_out). On a folded model
 * `attrs.sum(0) + unembedBias` is exactly the target's logit.
 */
export function dlaFull(model: HookedTransformer, cache: ActivationCache, opts: DlaFullOptions): DlaResult {
  const [st, labels] = cache.getFullResidDecomposition({
    expandNeurons: opts.expandNeurons,
    posSlice: opts.posSlice,
    returnLabels: true,
  });
  return attribute(model, cache, st, labels, opts);
}
