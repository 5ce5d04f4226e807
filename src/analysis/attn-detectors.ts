// ARENA's average-attention head detectors (current / previous / first token heads) and the induction score on
// repeated random tokens (generate_repeated_tokens).
import { AnalysisError, ShapeError } from "../errors.js";
import { ActivationCache, getActName, type HookedTransformer } from "../model/index.js";
import { Generator, randint, cat, full, Tensor } from "../tensor/index.js";

export interface AttnDetectorResult {
  /** heads scoring above the threshold, as ARENA names them: "layer.head" */
  heads: string[];
  /** the score of every head [n_layers, n_heads] */
  scores: Tensor;
}

function cachedLayers(cache: ActivationCache): number {
  let n = 0;
  while (cache.has(getActName("pattern", n))) n++;
  if (n === 0)
    throw new AnalysisError(
      "the cache holds no attention patterns (blocks.0.attn.hook_pattern); run runWithCache without a namesFilter that drops them",
    );
  return n;
}

/** Scores from each layer's pattern [batch?, head, q, k], averaged over the batch; `stat` reduces [..., q, k] → [...]. */
function detectorScores(cache: ActivationCache, stat: (p: Tensor) => Tensor, threshold: number): AttnDetectorResult {
  const n = cachedLayers(cache);
  const rows: Tensor[] = [];
  for (let l = 0; l < n; l++) {
    const p = cache.get("pattern", l).to("float64");
    const s = stat(p); // [batch?, head]
    rows.push(s.ndim === 2 ? s.mean(0) : s);
  }
  const data = new Float32Array(rows.reduce((acc: number[], r) => acc.concat(Array.from(r.dataSync(), Number)), []));
  const nHeads = rows[0]!.shape[0]!;
  const heads: string[] = [];
  for (let l = 0; l < n; l++)
    for (let h = 0; h < nHeads; h++) if (data[l * nHeads + h]! > threshold) heads.push(`${l}.${h}`);
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
  if (bos === null)
    throw new AnalysisError("prependBos: this model has no BOS token (cfg.bosTokenId is null); pass prependBos: false");
  return bos;
}

/**
 * [BOS] + r + r: `batch` sequences of `seqLen` uniformly random token ids in [0, d_vocab), each repeated once
 * (int32 [batch, (1 if BOS) + 2·seqLen]), from a seeded generator — ARENA's generate_repeated_tokens.
 */
export function generateRepeatedTokens(
  model: HookedTransformer,
  seqLen: number,
  opts: RepeatedTokensOptions = {},
): Tensor {
  const batch = opts.batch ?? 1;
  if (!Number.isInteger(seqLen) || seqLen < 1)
    throw new AnalysisError(`generateRepeatedTokens: seqLen must be a positive integer, got ${seqLen}`);
  if (!Number.isInteger(batch) || batch < 1)
    throw new AnalysisError(`generateRepeatedTokens: batch must be a positive integer, got ${batch}`);
  const bos = bosPolicy(model, opts.prependBos);
  const g = opts.generator ?? new Generator(opts.seed ?? 0);
  const half = randint(0, model.cfg.dVocab, [batch, seqLen], { generator: g });
  const parts = bos === null ? [half, half] : [full([batch, 1], bos, "int32"), half, half];
  return cat(parts, 1);
}

export interface InductionScoreResult {
  /** `[n_layers, n_heads]`: mean attention from each second-half token to the token after its first occurrence */
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
export async function inductionScore(
  model: HookedTransformer,
  opts: RepeatedTokensOptions & { seqLen?: number } = {},
): Promise<InductionScoreResult> {
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
    const total = p.shape[p.ndim - 1]!;
    const prefix = total - 2 * seqLen;
    if (prefix !== 0 && prefix !== 1) {
      throw new ShapeError(
        `inductionScoreFromCache: patterns over ${total} positions do not fit [BOS?] + 2 × ${seqLen} repeated tokens`,
      );
    }
    const stripe = p.diagonal(1 - seqLen, -2, -1); // [batch?, head, prefix + seqLen + 1]
    const second = stripe.narrow(-1, stripe.shape[stripe.ndim - 1]! - seqLen, seqLen).mean(-1); // [batch?, head]
    rows.push(second.ndim === 2 ? second.mean(0) : second);
  }
  const nHeads = rows[0]!.shape[0]!;
  const data = new Float32Array(n * nHeads);
  rows.forEach((r, l) => data.set(Array.from(r.dataSync(), Number), l * nHeads));
  return Tensor.fromTypedArray(data, [n, nHeads]);
}
