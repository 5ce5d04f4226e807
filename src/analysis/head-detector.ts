// Head detectors: TransformerLens's `head_detector.detect_head` (score every head's attention pattern against a
// detection pattern), its detection-pattern builders, ARENA's average-attention detectors (current / previous /
// first token heads) and the induction score on repeated random tokens.
import { TlensError, ShapeError } from "../errors.js";
import { ActivationCache, getActName, type HookedTransformer, type ModelInput } from "../model/index.js";
import { validateTokens } from "../model/model-input.js";
import { Generator, randint, cat, full, Tensor, tensor } from "../tensor/index.js";
import { fmtShape } from "../tensor/shape.js";

export type HeadName = "previous_token_head" | "duplicate_token_head" | "induction_head";
export const HEAD_NAMES: readonly HeadName[] = ["previous_token_head", "duplicate_token_head", "induction_head"];
export type ErrorMeasure = "mul" | "abs";

export interface DetectHeadOptions {
  /** Heads to score, as [layer, head] pairs or { layer: [heads] }; the others get -1. Default: all. */
  heads?: [number, number][] | Record<number, number[]>;
  /** A cache of the run on these tokens (with or without its batch dim). It is read, never modified. */
  cache?: ActivationCache;
  /** Ignore attention to position 0. */
  excludeBos?: boolean;
  /** Ignore attention to the query's own position. */
  excludeCurrentToken?: boolean;
  /** "mul" (default): Σ(pattern·detection)/Σpattern. "abs": 1 - round(Σ|pattern - detection| / pos, 3). */
  errorMeasure?: ErrorMeasure;
}

// ---------- detection patterns ----------

/** Token ids of one sequence: [pos] or [1, pos]. */
function seqIds(tokens: Tensor | number[], what: string): number[] {
  const t = tokens instanceof Tensor ? tokens : tensor(tokens, undefined, "int32");
  if (!(t.ndim === 1 || (t.ndim === 2 && t.shape[0] === 1))) {
    throw new ShapeError(`${what}: expected the tokens of one sequence, [pos] or [1, pos], got ${fmtShape(t.shape)}`);
  }
  return Array.from(t.reshape(-1).contiguous().dataSync(), Number);
}

function fromRows(n: number, at: (q: number, k: number) => number): Tensor {
  const data = new Float32Array(n * n);
  for (let q = 0; q < n; q++) for (let k = 0; k <= q; k++) data[q * n + k] = at(q, k);
  return Tensor.fromTypedArray(data, [n, n]);
}

/** [pos, pos] float32 with 1 where the query attends to the previous position (TL's previous_token_head). */
export function getPreviousTokenHeadDetectionPattern(tokens: Tensor | number[]): Tensor {
  const n = seqIds(tokens, "getPreviousTokenHeadDetectionPattern").length;
  return fromRows(n, (q, k) => (k === q - 1 ? 1 : 0));
}

/** [pos, pos] with 1 where an earlier position holds the same token as the query (diagonal excluded). */
export function getDuplicateTokenHeadDetectionPattern(tokens: Tensor | number[]): Tensor {
  const ids = seqIds(tokens, "getDuplicateTokenHeadDetectionPattern");
  return fromRows(ids.length, (q, k) => (k < q && ids[k] === ids[q] ? 1 : 0));
}

/**
 * [pos, pos] with 1 at the position just after each earlier occurrence of the query's token (the duplicate
 * pattern shifted one key to the right, first column zero, lower-triangular — TL's induction_head).
 */
export function getInductionHeadDetectionPattern(tokens: Tensor | number[]): Tensor {
  const ids = seqIds(tokens, "getInductionHeadDetectionPattern");
  return fromRows(ids.length, (q, k) => (k >= 1 && k - 1 !== q && ids[k - 1] === ids[q] ? 1 : 0));
}

function namedPattern(name: HeadName, tokens: Tensor): Tensor {
  if (name === "previous_token_head") return getPreviousTokenHeadDetectionPattern(tokens);
  if (name === "duplicate_token_head") return getDuplicateTokenHeadDetectionPattern(tokens);
  return getInductionHeadDetectionPattern(tokens);
}

// ---------- scoring ----------

/** Python's round(x, digits) (round half to even on the exact binary value), which TL's "abs" score uses. */
export function pyRound(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const fixed = x.toFixed(digits); // exact decimal value, ties away from zero
  const exact = x.toFixed(Math.min(100, digits + 30));
  const m = /^(-?\d+)\.?(\d*)$/.exec(exact);
  if (m) {
    const tail = m[2].slice(digits);
    if (/^50*$/.test(tail)) {
      // an exact tie: round half to even
      const scale = 10 ** digits;
      const down = Math.trunc(x * scale) / scale;
      const lastDigit = Math.abs(Math.trunc(x * scale)) % 10;
      return lastDigit % 2 === 0 ? down : Number(fixed);
    }
  }
  return Number(fixed);
}

/**
 * Similarity of one head's attention pattern [q, k] to a detection pattern [q, k] (TL's
 * compute_head_attention_similarity_score), without modifying either tensor.
 * "mul": Σ(p·d)/Σp after zeroing column 0 (excludeBos) and/or the diagonal (excludeCurrentToken) of p.
 * "abs": 1 - round(Σ|p - d| / pos, 3), with the excluded column / diagonal zeroed in |p - d|.
 */
export function computeHeadAttentionSimilarityScore(
  attentionPattern: Tensor, detectionPattern: Tensor,
  opts: { excludeBos?: boolean; excludeCurrentToken?: boolean; errorMeasure?: ErrorMeasure } = {},
): number {
  if (attentionPattern.ndim !== 2 || attentionPattern.shape[0] !== attentionPattern.shape[1]) {
    throw new ShapeError(`computeHeadAttentionSimilarityScore: the attention pattern must be square [pos, pos], got ${fmtShape(attentionPattern.shape)}`);
  }
  if (detectionPattern.ndim !== 2 || detectionPattern.shape[0] !== attentionPattern.shape[0] || detectionPattern.shape[1] !== attentionPattern.shape[1]) {
    throw new ShapeError(`computeHeadAttentionSimilarityScore: the detection pattern ${fmtShape(detectionPattern.shape)} does not match the attention pattern ${fmtShape(attentionPattern.shape)}`);
  }
  const n = attentionPattern.shape[0];
  const p = attentionPattern.to("float64").contiguous().dataSync();
  const d = detectionPattern.to("float64").contiguous().dataSync();
  return scoreArrays(p, 0, d, n, opts.excludeBos ?? false, opts.excludeCurrentToken ?? false, opts.errorMeasure ?? "mul");
}

function scoreArrays(p: ArrayLike<number>, off: number, d: ArrayLike<number>, n: number,
  excludeBos: boolean, excludeCurrent: boolean, measure: ErrorMeasure): number {
  const excluded = (q: number, k: number): boolean => (excludeBos && k === 0) || (excludeCurrent && q === k);
  if (measure === "mul") {
    let num = 0;
    let den = 0;
    for (let q = 0; q < n; q++) {
      for (let k = 0; k < n; k++) {
        if (excluded(q, k)) continue;
        const v = p[off + q * n + k];
        num += v * d[q * n + k];
        den += v;
      }
    }
    return Math.fround(num / den);
  }
  let sum = 0;
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      const diff = Math.abs(p[off + q * n + k] - d[q * n + k]);
      if (k > q && diff !== 0) {
        throw new TlensError("computeHeadAttentionSimilarityScore (abs): the attention and detection patterns must both be lower-triangular");
      }
      if (!excluded(q, k)) sum += diff;
    }
  }
  // TL: abs_diff.mean() * size in float32, then Python's round to 3 decimals
  const mean = Math.fround(sum / (n * n));
  return 1 - pyRound(Math.fround(mean * n), 3);
}

// ---------- detectHead ----------

function isLowerTriangular(d: ArrayLike<number>, n: number): boolean {
  for (let q = 0; q < n; q++) for (let k = q + 1; k < n; k++) if (d[q * n + k] !== 0) return false;
  return true;
}

/** The sequences of `seqs` as int32 [1, pos] token tensors. */
function sequences(model: HookedTransformer, seqs: ModelInput): Tensor[] {
  if (typeof seqs === "string") return [model.toTokens(seqs)];
  if (Array.isArray(seqs) && seqs.length > 0 && typeof seqs[0] === "string") {
    return (seqs as string[]).map((s) => model.toTokens(s));
  }
  const t = seqs instanceof Tensor ? seqs : tensor(seqs as number[][], undefined, "float64");
  const toks = validateTokens(t, model.cfg.dVocab, Infinity);
  return Array.from({ length: toks.shape[0] }, (_, i) => toks.get(`${i}:${i + 1}`));
}

function layerHeads(model: HookedTransformer, heads: DetectHeadOptions["heads"]): Map<number, number[]> {
  const { nLayers, nHeads } = model.cfg;
  const out = new Map<number, number[]>();
  const add = (l: number, h: number): void => {
    if (!Number.isInteger(l) || l < 0 || l >= nLayers || !Number.isInteger(h) || h < 0 || h >= nHeads) {
      throw new TlensError(`detectHead: head (${l}, ${h}) does not exist in a model with ${nLayers} layers of ${nHeads} heads`);
    }
    const list = out.get(l) ?? [];
    list.push(h);
    out.set(l, list);
  };
  if (heads === undefined) for (let l = 0; l < nLayers; l++) for (let h = 0; h < nHeads; h++) add(l, h);
  else if (Array.isArray(heads)) for (const [l, h] of heads) add(l, h);
  else for (const [l, hs] of Object.entries(heads)) for (const h of hs) add(Number(l), h);
  return out;
}

/**
 * Scores every attention head (or the `heads` given) for how well its attention pattern on `seqs` matches a
 * detection pattern (TransformerLens's `head_detector.detect_head`) → [n_layers, n_heads] float32, -1 for heads
 * not scored.
 *
 * `pattern` is a [pos, pos] lower-triangular tensor or one of "previous_token_head", "duplicate_token_head",
 * "induction_head" (built from each sequence's tokens). `seqs` is a string, token ids [pos] / [1, pos], or several
 * sequences (strings, or token rows [batch, pos]); with several, each is scored with the same options and the
 * scores are averaged. (TL's recursion over a list silently drops heads/cache/excludeBos/excludeCurrentToken/
 * errorMeasure; tlens passes them on.) Strings are tokenized with `model.toTokens` (BOS as the model's default).
 * As TL, a sequence must have 1 < pos < n_ctx.
 *
 * A `cache` passed in is only read (TL zeroes its patterns in place for excludeBos/excludeCurrentToken with "mul").
 */
export async function detectHead(model: HookedTransformer, seqs: ModelInput, pattern: Tensor | HeadName, opts: DetectHeadOptions = {}): Promise<Tensor> {
  const { nLayers, nHeads, nCtx } = model.cfg;
  const measure = opts.errorMeasure ?? "mul";
  if (measure !== "mul" && measure !== "abs") throw new TlensError(`detectHead: errorMeasure must be "mul" or "abs", got ${JSON.stringify(measure)}`);
  if (typeof pattern === "string" && !HEAD_NAMES.includes(pattern)) {
    throw new TlensError(`detectHead: the detection pattern must be a Tensor or one of ${HEAD_NAMES.map((h) => `"${h}"`).join(", ")}; got "${pattern}"`);
  }
  const seqList = sequences(model, seqs);
  if (seqList.length === 0) throw new TlensError("detectHead: no sequences given");
  const l2h = layerHeads(model, opts.heads);
  const layers = [...l2h.keys()].sort((a, b) => a - b);

  // detection patterns, validated
  const details = seqList.map((toks, i) => {
    const pos = toks.shape[1];
    if (!(pos > 1 && pos < nCtx)) {
      throw new TlensError(`detectHead: the sequence must be non-empty and must fit within the model's context window (1 < pos < n_ctx = ${nCtx}); sequence ${i} has ${pos} tokens`);
    }
    const det = typeof pattern === "string" ? namedPattern(pattern, toks) : pattern;
    if (det.ndim !== 2 || det.shape[0] !== pos || det.shape[1] !== pos) {
      throw new ShapeError(`detectHead: the detection pattern must be a lower triangular matrix of shape [${pos}, ${pos}] (the sequence length); got ${fmtShape(det.shape)}`);
    }
    const d = det.to("float64").contiguous().dataSync();
    if (!isLowerTriangular(d, pos)) {
      throw new TlensError(`detectHead: the detection pattern must be lower triangular (no attention to later positions)`);
    }
    if (measure === "mul" && Array.from(d).some((v) => v !== 0 && v !== 1)) {
      console.warn("detectHead: using a detection pattern with values other than 0 or 1 with errorMeasure \"mul\"");
    }
    return { toks, pos, d };
  });

  // attention patterns per layer: [n_seqs, n_heads, pos, pos] (or per sequence when lengths differ)
  const patternsFor = await attentionPatterns(model, seqList, layers, opts.cache);

  const out = new Float32Array(nLayers * nHeads).fill(0);
  for (let s = 0; s < details.length; s++) {
    const { pos, d } = details[s];
    const scores = new Float32Array(nLayers * nHeads).fill(-1);
    for (const l of layers) {
      const pat = patternsFor(l, s); // [n_heads, pos, pos] contiguous data
      for (const h of l2h.get(l)!) {
        scores[l * nHeads + h] = scoreArrays(pat, h * pos * pos, d, pos, opts.excludeBos ?? false, opts.excludeCurrentToken ?? false, measure);
      }
    }
    for (let i = 0; i < out.length; i++) out[i] += scores[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= details.length;
  return Tensor.fromTypedArray(out, [nLayers, nHeads]);
}

/** A lookup (layer, sequence) → that sequence's patterns [n_heads, pos, pos] as float64 data. */
async function attentionPatterns(model: HookedTransformer, seqList: Tensor[], layers: number[], cache?: ActivationCache):
  Promise<(layer: number, seq: number) => Float64Array> {
  const pick = (p: Tensor, hasBatch: boolean, s: number, pos: number, layer: number): Float64Array => {
    let t = p;
    if (hasBatch) {
      if (p.ndim !== 4) throw new ShapeError(`detectHead: cached pattern of layer ${layer} has shape ${fmtShape(p.shape)}; expected [batch, head, q, k]`);
      if (p.shape[0] !== seqList.length && !(p.shape[0] === 1 && seqList.length === 1)) {
        throw new ShapeError(`detectHead: the cache holds a batch of ${p.shape[0]} but ${seqList.length} sequences were given`);
      }
      t = p.get(s);
    } else if (seqList.length !== 1) {
      throw new ShapeError(`detectHead: a cache without its batch dim holds one sequence, but ${seqList.length} were given`);
    }
    if (t.ndim !== 3 || t.shape[1] !== pos || t.shape[2] !== pos) {
      throw new ShapeError(`detectHead: cached pattern of layer ${layer} has shape ${fmtShape(p.shape)}, which does not fit a sequence of ${pos} tokens`);
    }
    return t.to("float64").contiguous().dataSync() as Float64Array;
  };
  if (cache) {
    const memo = new Map<string, Float64Array>();
    return (l, s) => {
      const key = `${l}:${s}`;
      let v = memo.get(key);
      if (!v) memo.set(key, (v = pick(cache.get("pattern", l), cache.hasBatchDim, s, seqList[s].shape[1], l)));
      return v;
    };
  }
  const want = new Set(layers.map((l) => getActName("pattern", l)));
  const stopAtLayer = layers.length ? layers[layers.length - 1] + 1 : 0;
  if (stopAtLayer === 0) return () => new Float64Array(0);
  const sameLength = seqList.every((t) => t.shape[1] === seqList[0].shape[1]);
  const runs: { cache: ActivationCache; first: number }[] = [];
  if (sameLength) {
    const [, c] = await model.runWithCache(cat(seqList, 0), { namesFilter: (n) => want.has(n), stopAtLayer });
    runs.push({ cache: c, first: 0 });
  } else {
    for (let s = 0; s < seqList.length; s++) {
      const [, c] = await model.runWithCache(seqList[s], { namesFilter: (n) => want.has(n), stopAtLayer });
      runs.push({ cache: c, first: s });
    }
  }
  return (l, s) => {
    const run = sameLength ? runs[0] : runs[s];
    const row = sameLength ? s : 0;
    return run.cache.get("pattern", l).get(row).to("float64").contiguous().dataSync() as Float64Array;
  };
}

// ---------- ARENA's average-attention detectors ----------

export interface AttnDetectorResult {
  /** heads scoring above the threshold, as ARENA names them: "layer.head" */
  heads: string[];
  /** the score of every head [n_layers, n_heads] */
  scores: Tensor;
}

function cachedLayers(cache: ActivationCache): number {
  let n = 0;
  while (cache.has(getActName("pattern", n))) n++;
  if (n === 0) throw new TlensError("the cache holds no attention patterns (blocks.0.attn.hook_pattern); run runWithCache without a namesFilter that drops them");
  return n;
}

/** Scores from each layer's pattern [batch?, head, q, k], averaged over the batch; `stat` reduces [..., q, k] → [...]. */
function detectorScores(cache: ActivationCache, stat: (p: Tensor) => Tensor, threshold: number): AttnDetectorResult {
  const n = cachedLayers(cache);
  const rows: Tensor[] = [];
  for (let l = 0; l < n; l++) {
    const p = cache.get("pattern", l).to("float64");
    const s = stat(p);                                   // [batch?, head]
    rows.push(s.ndim === 2 ? s.mean(0) : s);
  }
  const data = new Float32Array(rows.reduce((acc: number[], r) => acc.concat(Array.from(r.dataSync(), Number)), []));
  const nHeads = rows[0].shape[0];
  const heads: string[] = [];
  for (let l = 0; l < n; l++) for (let h = 0; h < nHeads; h++) if (data[l * nHeads + h] > threshold) heads.push(`${l}.${h}`);
  return { heads, scores: Tensor.fromTypedArray(data, [n, nHeads]) };
}

/** Heads whose average attention to the current token (the pattern's diagonal) exceeds `threshold` (ARENA: 0.4). */
export function currentAttnDetector(cache: ActivationCache, opts: { threshold?: number } = {}): AttnDetectorResult {
  return detectorScores(cache, (p) => p.diagonal(0, -2, -1).mean(-1), opts.threshold ?? 0.4);
}

/** Heads whose average attention to the previous token (the sub-diagonal) exceeds `threshold`. */
export function prevAttnDetector(cache: ActivationCache, opts: { threshold?: number } = {}): AttnDetectorResult {
  return detectorScores(cache, (p) => p.diagonal(-1, -2, -1).mean(-1), opts.threshold ?? 0.4);
}

/** Heads whose average attention to the first token (key position 0) exceeds `threshold`. */
export function firstAttnDetector(cache: ActivationCache, opts: { threshold?: number } = {}): AttnDetectorResult {
  return detectorScores(cache, (p) => p.narrow(-1, 0, 1).squeeze(-1).mean(-1), opts.threshold ?? 0.4);
}

// ---------- repeated random tokens and the induction score ----------

export interface RepeatedTokensOptions {
  /** sequences in the batch (default 1) */
  batch?: number;
  /** seed of the generator (default 0); ignored when `generator` is given */
  seed?: number;
  generator?: Generator;
  /** prepend the BOS token (default: the model's defaultPrependBos when it has a BOS token) */
  prependBos?: boolean;
}

function bosPolicy(model: HookedTransformer, prependBos: boolean | undefined): number | null {
  const bos = model.cfg.bosTokenId;
  const want = prependBos ?? (model.cfg.defaultPrependBos && bos !== null);
  if (!want) return null;
  if (bos === null) throw new TlensError("prependBos: this model has no BOS token (cfg.bosTokenId is null); pass prependBos: false");
  return bos;
}

/**
 * [BOS] + r + r: `batch` sequences of `seqLen` uniformly random token ids in [0, d_vocab), each repeated once
 * (int32 [batch, (1 if BOS) + 2·seqLen]), from a seeded generator — ARENA's generate_repeated_tokens.
 */
export function generateRepeatedTokens(model: HookedTransformer, seqLen: number, opts: RepeatedTokensOptions = {}): Tensor {
  const batch = opts.batch ?? 1;
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new TlensError(`generateRepeatedTokens: seqLen must be a positive integer, got ${seqLen}`);
  if (!Number.isInteger(batch) || batch < 1) throw new TlensError(`generateRepeatedTokens: batch must be a positive integer, got ${batch}`);
  const bos = bosPolicy(model, opts.prependBos);
  const g = opts.generator ?? new Generator(opts.seed ?? 0);
  const half = randint(0, model.cfg.dVocab, [batch, seqLen], { generator: g });
  const parts = bos === null ? [half, half] : [full([batch, 1], bos, "int32"), half, half];
  return cat(parts, 1);
}

export interface InductionScoreResult {
  /** [n_layers, n_heads]: mean attention from each second-half token to the token after its first occurrence */
  scores: Tensor;
  /** the tokens the model ran on, [batch, (1 if BOS) + 2·seqLen] */
  tokens: Tensor;
}

/**
 * Induction score of every head on repeated random tokens (`generateRepeatedTokens`): for each query in the second
 * half, the attention it pays to the key just after the query token's first occurrence, averaged over those
 * seqLen queries and the batch. (ARENA's stripe `pattern.diagonal(1 - seqLen)` also averages in the two
 * first-half queries on that diagonal; this score uses only the second-half ones, as the definition says.)
 */
export async function inductionScore(model: HookedTransformer, opts: RepeatedTokensOptions & { seqLen?: number } = {}): Promise<InductionScoreResult> {
  const seqLen = opts.seqLen ?? 50;
  const tokens = generateRepeatedTokens(model, seqLen, { batch: opts.batch ?? 10, ...opts });
  const [, cache] = await model.runWithCache(tokens, { namesFilter: (n) => n.endsWith(".attn.hook_pattern") });
  return { scores: inductionScoreFromCache(cache, seqLen), tokens };
}

/** The induction score [n_layers, n_heads] from a cache of a run on [BOS?] + r + r with |r| = seqLen (BOS inferred from the length). */
export function inductionScoreFromCache(cache: ActivationCache, seqLen: number): Tensor {
  const n = cachedLayers(cache);
  const rows: Tensor[] = [];
  for (let l = 0; l < n; l++) {
    const p = cache.get("pattern", l).to("float64");
    const total = p.shape[p.ndim - 1];
    const prefix = total - 2 * seqLen;
    if (prefix !== 0 && prefix !== 1) {
      throw new ShapeError(`inductionScoreFromCache: patterns over ${total} positions do not fit [BOS?] + 2 × ${seqLen} repeated tokens`);
    }
    const stripe = p.diagonal(1 - seqLen, -2, -1);          // [batch?, head, prefix + seqLen + 1]
    const second = stripe.narrow(-1, stripe.shape[stripe.ndim - 1] - seqLen, seqLen).mean(-1); // [batch?, head]
    rows.push(second.ndim === 2 ? second.mean(0) : second);
  }
  const nHeads = rows[0].shape[0];
  const data = new Float32Array(n * nHeads);
  rows.forEach((r, l) => data.set(Array.from(r.dataSync(), Number), l * nHeads));
  return Tensor.fromTypedArray(data, [n, nHeads]);
}
