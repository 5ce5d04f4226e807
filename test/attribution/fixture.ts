// Shared inputs of the edge-attribution tests: two rows of clean / corrupted tokens (vocab 50, 8 positions) and a
// logit difference at the last position summed over the batch.
import { Tensor } from "../../src/index.js";

export const ids = (rows: number[][]): Tensor =>
  Tensor.fromTypedArray(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
export const clean = ids([
  [3, 17, 5, 9, 3, 17, 5, 9],
  [1, 2, 4, 6, 8, 10, 12, 14],
]);
export const corrupted = ids([
  [3, 17, 22, 9, 3, 40, 5, 9],
  [1, 2, 4, 31, 8, 10, 12, 14],
]);
export const metric = (logits: Tensor): Tensor => {
  const last = logits.get(":", -1);
  return last.get(":", 7).sub(last.get(":", 13)).sum();
};
/** A 2-layer model with MLPs and LayerNorm: vocabulary 50, context 16. */
export const SMALL_CFG = {
  dModel: 32,
  dHead: 8,
  nHeads: 4,
  nLayers: 2,
  dMlp: 64,
  nCtx: 16,
  dVocab: 50,
  actFn: "gelu_new" as const,
};
