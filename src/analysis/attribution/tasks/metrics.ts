// The tasks' metrics, from tensor ops only (get with index tensors, softmax / logSoftmax, gather, mul, sum, mean), so
// they stay differentiable: each maps logits [batch, pos, d_vocab] to a 0-d tensor.
import { arange, Tensor } from "../../../tensor/index.js";
import { AttributionError } from "../errors.js";
import { checkLogits, int32 } from "./task.js";

/** Mean over rows of logit[b, pos_b, correct_b] − logit[b, pos_b, wrong_b] (the logit alone where wrong is null). */
export function logitDiffMetric(
  name: string,
  positions: readonly number[],
  correct: readonly number[],
  wrong: readonly number[] | null,
): (logits: Tensor) => Tensor {
  const n = positions.length;
  if (correct.length !== n || (wrong && wrong.length !== n))
    throw new AttributionError(
      `${name}: ${n} positions, ${correct.length} answers${wrong ? `, ${wrong.length} wrong answers` : ""}`,
    );
  const rows = arange(0, n, 1, "int32");
  const pos = int32(positions);
  const right = int32(correct);
  const other = wrong ? int32(wrong) : null;
  const maxPos = Math.max(...positions);
  return (logits) => {
    checkLogits(name, logits, n, maxPos);
    const r = logits.get(rows, pos, right); // [batch]
    return (other ? r.sub(logits.get(rows, pos, other)) : r).mean();
  };
}

/**
 * Hanna et al.'s greater-than probability difference: with p the next-token distribution at `position`, restricted to
 * the two-digit tokens `yearIds` ("00" … "99"), Σ p[yy > YY_b] − Σ p[yy ≤ YY_b], the mean over rows.
 */
export function yearProbDiffMetric(
  name: string,
  position: number,
  yearIds: readonly number[],
  yy: readonly number[],
): (logits: Tensor) => Tensor {
  if (yearIds.length !== 100)
    throw new AttributionError(`${name}: expected the 100 ids of "00" … "99", got ${yearIds.length}`);
  const n = yy.length;
  const sign = Tensor.fromTypedArray(
    Float32Array.from({ length: n * 100 }, (_, i) => (i % 100 > yy[Math.floor(i / 100)]! ? 1 : -1)),
    [n, 100],
  );
  const years = int32(yearIds);
  return (logits) => {
    checkLogits(name, logits, n, position);
    const probs = logits.get(":", position).softmax(-1).get(":", years); // [batch, 100]
    return probs.mul(sign).sum(-1).mean();
  };
}

/** Mean log-probability of `targets` [batch, k] at positions first … first + k − 1 (each predicts the next token). */
export function nextTokenLogProbMetric(name: string, first: number, targets: Tensor): (logits: Tensor) => Tensor {
  const [n, k] = targets.shape as [number, number];
  const at = arange(first, first + k, 1, "int32");
  const index = targets.unsqueeze(-1); // [batch, k, 1]
  return (logits) => {
    checkLogits(name, logits, n, first + k - 1);
    return logits.get(":", at).logSoftmax(-1).gather(-1, index).mean(); // [batch, k, d_vocab] → [batch, k, 1] → []
  };
}
