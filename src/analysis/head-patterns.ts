// TransformerLens's head-detection patterns (previous / duplicate / induction token heads, [pos, pos] float32) and
// the similarity score of an attention pattern against one (its "mul" and "abs" error measures).
import { AnalysisError, ShapeError } from "../errors.js";
import { Tensor, tensor } from "../tensor/index.js";
import { fmtShape } from "../tensor/shape.js";

export type HeadName = "previous_token_head" | "duplicate_token_head" | "induction_head";
export const HEAD_NAMES: readonly HeadName[] = ["previous_token_head", "duplicate_token_head", "induction_head"];
export type ErrorMeasure = "mul" | "abs";

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

export function namedPattern(name: HeadName, tokens: Tensor): Tensor {
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
    const tail = m[2]!.slice(digits);
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
  attentionPattern: Tensor,
  detectionPattern: Tensor,
  opts: { excludeBos?: boolean; excludeCurrentToken?: boolean; errorMeasure?: ErrorMeasure } = {},
): number {
  if (attentionPattern.ndim !== 2 || attentionPattern.shape[0] !== attentionPattern.shape[1]) {
    throw new ShapeError(
      `computeHeadAttentionSimilarityScore: the attention pattern must be square [pos, pos], got ${fmtShape(attentionPattern.shape)}`,
    );
  }
  if (
    detectionPattern.ndim !== 2 ||
    detectionPattern.shape[0] !== attentionPattern.shape[0] ||
    detectionPattern.shape[1] !== attentionPattern.shape[1]
  ) {
    throw new ShapeError(
      `computeHeadAttentionSimilarityScore: the detection pattern ${fmtShape(detectionPattern.shape)} does not match the attention pattern ${fmtShape(attentionPattern.shape)}`,
    );
  }
  const n = attentionPattern.shape[0]!;
  const p = attentionPattern.to("float64").contiguous().dataSync();
  const d = detectionPattern.to("float64").contiguous().dataSync();
  return scoreArrays(
    p,
    0,
    d,
    n,
    opts.excludeBos ?? false,
    opts.excludeCurrentToken ?? false,
    opts.errorMeasure ?? "mul",
  );
}

export function scoreArrays(
  p: ArrayLike<number>,
  off: number,
  d: ArrayLike<number>,
  n: number,
  excludeBos: boolean,
  excludeCurrent: boolean,
  measure: ErrorMeasure,
): number {
  const excluded = (q: number, k: number): boolean => (excludeBos && k === 0) || (excludeCurrent && q === k);
  if (measure === "mul") {
    let num = 0;
    let den = 0;
    for (let q = 0; q < n; q++) {
      for (let k = 0; k < n; k++) {
        if (excluded(q, k)) continue;
        const v = p[off + q * n + k]!;
        num += v * d[q * n + k]!;
        den += v;
      }
    }
    return Math.fround(num / den);
  }
  let sum = 0;
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      const diff = Math.abs(p[off + q * n + k]! - d[q * n + k]!);
      if (k > q && diff !== 0) {
        throw new AnalysisError(
          "computeHeadAttentionSimilarityScore (abs): the attention and detection patterns must both be lower-triangular",
        );
      }
      if (!excluded(q, k)) sum += diff;
    }
  }
  // TL: abs_diff.mean() * size in float32, then Python's round to 3 decimals
  const mean = Math.fround(sum / (n * n));
  return 1 - pyRound(Math.fround(mean * n), 3);
}
