// Head detectors: TransformerLens's `head_detector.detect_head` (score every head's attention pattern against a
// detection pattern). The detection patterns and the score are in head-patterns.ts, ARENA's average-attention
// detectors (current / previous / first token heads) and the induction score in attn-detectors.ts; both are
// re-exported here.
import { AnalysisError, ShapeError } from "../errors.js";
import { ActivationCache, getActName, type HookedTransformer, type ModelInput } from "../model/index.js";
import { validateTokens } from "../model/model-input.js";
import { cat, Tensor, tensor } from "../tensor/index.js";
import { fmtShape } from "../tensor/shape.js";
import { HEAD_NAMES, namedPattern, scoreArrays, type ErrorMeasure, type HeadName } from "./head-patterns.js";

export {
  HEAD_NAMES,
  type HeadName,
  type ErrorMeasure,
  getPreviousTokenHeadDetectionPattern,
  getDuplicateTokenHeadDetectionPattern,
  getInductionHeadDetectionPattern,
  pyRound,
  computeHeadAttentionSimilarityScore,
} from "./head-patterns.js";
export {
  currentAttnDetector,
  prevAttnDetector,
  firstAttnDetector,
  generateRepeatedTokens,
  inductionScore,
  inductionScoreFromCache,
  type AttnDetectorResult,
  type RepeatedTokensOptions,
  type InductionScoreResult,
} from "./attn-detectors.js";

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
  return Array.from({ length: toks.shape[0]! }, (_, i) => toks.get(`${i}:${i + 1}`));
}

function layerHeads(model: HookedTransformer, heads: DetectHeadOptions["heads"]): Map<number, number[]> {
  const { nLayers, nHeads } = model.cfg;
  const out = new Map<number, number[]>();
  const add = (l: number, h: number): void => {
    if (!Number.isInteger(l) || l < 0 || l >= nLayers || !Number.isInteger(h) || h < 0 || h >= nHeads) {
      throw new AnalysisError(
        `detectHead: head (${l}, ${h}) does not exist in a model with ${nLayers} layers of ${nHeads} heads`,
      );
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
export async function detectHead(
  model: HookedTransformer,
  seqs: ModelInput,
  pattern: Tensor | HeadName,
  opts: DetectHeadOptions = {},
): Promise<Tensor> {
  const { nLayers, nHeads, nCtx } = model.cfg;
  const measure = opts.errorMeasure ?? "mul";
  if (measure !== "mul" && measure !== "abs")
    throw new AnalysisError(`detectHead: errorMeasure must be "mul" or "abs", got ${JSON.stringify(measure)}`);
  if (typeof pattern === "string" && !HEAD_NAMES.includes(pattern)) {
    throw new AnalysisError(
      `detectHead: the detection pattern must be a Tensor or one of ${HEAD_NAMES.map((h) => `"${h}"`).join(", ")}; got "${pattern}"`,
    );
  }
  const seqList = sequences(model, seqs);
  if (seqList.length === 0) throw new AnalysisError("detectHead: no sequences given");
  const l2h = layerHeads(model, opts.heads);
  const layers = [...l2h.keys()].sort((a, b) => a - b);

  // detection patterns, validated
  const details = seqList.map((toks, i) => {
    const pos = toks.shape[1]!;
    if (!(pos > 1 && pos < nCtx)) {
      throw new AnalysisError(
        `detectHead: the sequence must be non-empty and must fit within the model's context window (1 < pos < n_ctx = ${nCtx}); sequence ${i} has ${pos} tokens`,
      );
    }
    const det = typeof pattern === "string" ? namedPattern(pattern, toks) : pattern;
    if (det.ndim !== 2 || det.shape[0] !== pos || det.shape[1] !== pos) {
      throw new ShapeError(
        `detectHead: the detection pattern must be a lower triangular matrix of shape [${pos}, ${pos}] (the sequence length); got ${fmtShape(det.shape)}`,
      );
    }
    const d = det.to("float64").contiguous().dataSync();
    if (!isLowerTriangular(d, pos)) {
      throw new AnalysisError(
        `detectHead: the detection pattern must be lower triangular (no attention to later positions)`,
      );
    }
    if (measure === "mul" && Array.from(d).some((v) => v !== 0 && v !== 1)) {
      console.warn('detectHead: using a detection pattern with values other than 0 or 1 with errorMeasure "mul"');
    }
    return { toks, pos, d };
  });

  // attention patterns per layer: [n_seqs, n_heads, pos, pos] (or per sequence when lengths differ)
  const patternsFor = await attentionPatterns(model, seqList, layers, opts.cache);

  const out = new Float32Array(nLayers * nHeads).fill(0);
  for (let s = 0; s < details.length; s++) {
    const { pos, d } = details[s]!;
    const scores = new Float32Array(nLayers * nHeads).fill(-1);
    for (const l of layers) {
      const pat = patternsFor(l, s); // [n_heads, pos, pos] contiguous data
      for (const h of l2h.get(l)!) {
        scores[l * nHeads + h] = scoreArrays(
          pat,
          h * pos * pos,
          d,
          pos,
          opts.excludeBos ?? false,
          opts.excludeCurrentToken ?? false,
          measure,
        );
      }
    }
    for (let i = 0; i < out.length; i++) out[i]! += scores[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= details.length;
  return Tensor.fromTypedArray(out, [nLayers, nHeads]);
}

/** A lookup (layer, sequence) → that sequence's patterns [n_heads, pos, pos] as float64 data. */
async function attentionPatterns(
  model: HookedTransformer,
  seqList: Tensor[],
  layers: number[],
  cache?: ActivationCache,
): Promise<(layer: number, seq: number) => Float64Array> {
  const pick = (p: Tensor, hasBatch: boolean, s: number, pos: number, layer: number): Float64Array => {
    let t = p;
    if (hasBatch) {
      if (p.ndim !== 4)
        throw new ShapeError(
          `detectHead: cached pattern of layer ${layer} has shape ${fmtShape(p.shape)}; expected [batch, head, q, k]`,
        );
      if (p.shape[0] !== seqList.length && !(p.shape[0] === 1 && seqList.length === 1)) {
        throw new ShapeError(
          `detectHead: the cache holds a batch of ${p.shape[0]} but ${seqList.length} sequences were given`,
        );
      }
      t = p.get(s);
    } else if (seqList.length !== 1) {
      throw new ShapeError(
        `detectHead: a cache without its batch dim holds one sequence, but ${seqList.length} were given`,
      );
    }
    if (t.ndim !== 3 || t.shape[1] !== pos || t.shape[2] !== pos) {
      throw new ShapeError(
        `detectHead: cached pattern of layer ${layer} has shape ${fmtShape(p.shape)}, which does not fit a sequence of ${pos} tokens`,
      );
    }
    return t.to("float64").contiguous().dataSync() as Float64Array;
  };
  if (cache) {
    const memo = new Map<string, Float64Array>();
    return (l, s) => {
      const key = `${l}:${s}`;
      let v = memo.get(key);
      if (!v) memo.set(key, (v = pick(cache.get("pattern", l), cache.hasBatchDim, s, seqList[s]!.shape[1]!, l)));
      return v;
    };
  }
  const want = new Set(layers.map((l) => getActName("pattern", l)));
  const stopAtLayer = layers.length ? layers[layers.length - 1]! + 1 : 0;
  if (stopAtLayer === 0) return () => new Float64Array(0);
  const sameLength = seqList.every((t) => t.shape[1] === seqList[0]!.shape[1]);
  const runs: { cache: ActivationCache; first: number }[] = [];
  if (sameLength) {
    const [, c] = await model.runWithCache(cat(seqList, 0), { namesFilter: (n) => want.has(n), stopAtLayer });
    runs.push({ cache: c, first: 0 });
  } else {
    for (let s = 0; s < seqList.length; s++) {
      const [, c] = await model.runWithCache(seqList[s]!, { namesFilter: (n) => want.has(n), stopAtLayer });
      runs.push({ cache: c, first: s });
    }
  }
  return (l, s) => {
    const run = sameLength ? runs[0]! : runs[s]!;
    const row = sameLength ? s : 0;
    return run.cache.get("pattern", l).get(row).to("float64").contiguous().dataSync() as Float64Array;
  };
}
