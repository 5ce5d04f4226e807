// The trainable parameters of an SAE, in SAELens's layout, as Float32Arrays, and their initialisation.
import { Generator } from "../../tensor/index.js";

/** W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc [d_sae], b_dec [d_in] (row-major). */
export interface SaeParams {
  dIn: number;
  dSae: number;
  W_enc: Float32Array;
  W_dec: Float32Array;
  b_enc: Float32Array;
  b_dec: Float32Array;
}

/** SAELens's standard initialisation: W_dec rows uniform (Kaiming) rescaled to norm `decoderInitNorm`, W_enc = W_decᵀ,
 *  biases zero. */
export function initSaeParams(dIn: number, dSae: number, seed: number, decoderInitNorm = 0.1): SaeParams {
  const rng = new Generator(seed);
  const W_dec = new Float32Array(dSae * dIn);
  for (let i = 0; i < W_dec.length; i++) W_dec[i] = 2 * rng.uniform() - 1;
  for (let j = 0; j < dSae; j++) scaleRow(W_dec, j, dIn, decoderInitNorm / rowNorm(W_dec, j, dIn));
  const W_enc = new Float32Array(dIn * dSae);
  for (let j = 0; j < dSae; j++) for (let i = 0; i < dIn; i++) W_enc[i * dSae + j] = W_dec[j * dIn + i]!;
  return { dIn, dSae, W_enc, W_dec, b_enc: new Float32Array(dSae), b_dec: new Float32Array(dIn) };
}

/** ‖row j‖ of a row-major [rows, cols] matrix. */
export function rowNorm(m: Float32Array, j: number, cols: number): number {
  let s = 0;
  for (let i = j * cols, end = i + cols; i < end; i++) s += m[i]! * m[i]!;
  return Math.sqrt(s);
}

export function scaleRow(m: Float32Array, j: number, cols: number, by: number): void {
  for (let i = j * cols, end = i + cols; i < end; i++) m[i]! *= by;
}
