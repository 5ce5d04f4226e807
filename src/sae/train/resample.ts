// Dead-feature tracking and resampling (Anthropic's "Towards Monosemanticity" recipe, as SAELens's
// feature_sampling): a feature that has not fired for a window of tokens is dead; resampling points its decoder
// row at an input the SAE reconstructs badly (drawn with probability ∝ loss²), its encoder column at the same
// direction scaled to 0.2 × the mean alive encoder norm, zeroes its encoder bias and its Adam moments.
import type { Generator } from "../../tensor/index.js";
import type { Adam } from "./adam.js";
import type { SaeParams } from "./params.js";

/** Counts, per SAE feature, the tokens since it last fired, and says which are dead (silent for the window). */
export class DeadFeatureTracker {
  /** tokens since each feature last fired [d_sae] */
  readonly sinceFired: Float64Array;

  constructor(dSae: number) {
    this.sinceFired = new Float64Array(dSae);
  }

  /** After a step over `tokens` tokens in which feature j fired fired[j] times. */
  record(fired: Float64Array, tokens: number): void {
    for (let j = 0; j < fired.length; j++) this.sinceFired[j] = fired[j]! > 0 ? 0 : this.sinceFired[j]! + tokens;
  }

  /** Features silent for at least `window` tokens. */
  dead(window: number): number[] {
    const out: number[] = [];
    for (let j = 0; j < this.sinceFired.length; j++) if (this.sinceFired[j]! >= window) out.push(j);
    return out;
  }
}

/** Resamples the `dead` features from inputs x [batch, d_in] whose reconstruction errors are exampleLoss [batch]. */
export function resampleFeatures(
  p: SaeParams,
  dead: readonly number[],
  x: Float32Array,
  exampleLoss: Float32Array,
  adam: Adam,
  rng: Generator,
): void {
  if (dead.length === 0) return;
  const { dIn, dSae, W_enc, W_dec, b_enc } = p;
  const deadSet = new Set(dead);
  const encNorm = meanAliveEncoderNorm(p, deadSet);
  const cumulative = new Float64Array(exampleLoss.length);
  let total = 0;
  for (let b = 0; b < exampleLoss.length; b++) cumulative[b] = total += exampleLoss[b]! ** 2;
  for (const j of dead) {
    const b = pick(cumulative, total * rng.uniform());
    let norm = 0;
    for (let i = 0; i < dIn; i++) norm += x[b * dIn + i]! ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < dIn; i++) {
      const u = x[b * dIn + i]! / norm;
      W_dec[j * dIn + i] = u;
      W_enc[i * dSae + j] = u * 0.2 * encNorm;
    }
    b_enc[j] = 0;
    adam.resetElements(W_dec, j * dIn, dIn);
    adam.resetElements(W_enc, j, dIn, dSae);
    adam.resetElements(b_enc, j, 1);
  }
}

/** Mean norm of the alive features' encoder columns (1 when all are dead). */
function meanAliveEncoderNorm(p: SaeParams, dead: ReadonlySet<number>): number {
  let sum = 0,
    n = 0;
  for (let j = 0; j < p.dSae; j++) {
    if (dead.has(j)) continue;
    let s = 0;
    for (let i = 0; i < p.dIn; i++) s += p.W_enc[i * p.dSae + j]! ** 2;
    sum += Math.sqrt(s);
    n++;
  }
  return n > 0 ? sum / n : 1;
}

/** The first index whose cumulative weight exceeds r (binary search). */
function pick(cumulative: Float64Array, r: number): number {
  let lo = 0,
    hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! > r) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
