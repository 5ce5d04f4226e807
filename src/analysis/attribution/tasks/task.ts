// What an attribution task is: a clean and a corrupted batch of equal shape, the answers, and a scalar metric of
// the logits built from tensor ops only (so it is differentiable once the tensor layer records gradients).
import { Tensor } from "../../../tensor/index.js";
import { AttributionError } from "../errors.js";

export interface AttributionTask {
  name: string;
  /** [batch, pos] (int32) each, the same shape: row b of corrupted is row b of clean with the task's signal removed. */
  clean: Tensor;
  corrupted: Tensor;
  /** The correct token id(s) of each row: [batch] (IOI, greater-than's clean year, pairs) or [batch, k] (induction). */
  answers: Tensor;
  /** Where the metric reads each row's logits ([batch]; induction: its first predicted position). */
  positions: number[];
  /** metric(logits [batch, pos, d_vocab]) → a scalar (0-d float32 tensor), larger = the clean behaviour. */
  metric: (logits: Tensor) => Tensor;
  /** One line of text per row, for reports (the clean prompt, or a description). */
  labels: string[];
}

export function int32(values: readonly number[], shape: number[] = [values.length]): Tensor {
  return Tensor.fromTypedArray(Int32Array.from(values), shape);
}

/** Checks that clean and corrupted are int32 [batch, pos] of the same shape. */
export function checkPair(name: string, clean: Tensor, corrupted: Tensor): void {
  if (clean.ndim !== 2 || corrupted.ndim !== 2)
    throw new AttributionError(
      `${name}: clean and corrupted tokens must be [batch, pos], got [${clean.shape}] and [${corrupted.shape}]`,
    );
  if (clean.shape[0] !== corrupted.shape[0] || clean.shape[1] !== corrupted.shape[1]) {
    throw new AttributionError(
      `${name}: clean [${clean.shape}] and corrupted [${corrupted.shape}] tokens must have the same shape`,
    );
  }
}

/** Checks logits [batch, pos > maxPos, d_vocab] for a metric reading `positions`. */
export function checkLogits(name: string, logits: Tensor, batch: number, maxPos: number): void {
  if (logits.ndim !== 3 || logits.shape[0] !== batch || logits.shape[1]! <= maxPos) {
    throw new AttributionError(
      `${name} metric: expected logits [batch=${batch}, pos>${maxPos}, d_vocab], got [${logits.shape}]`,
    );
  }
}
