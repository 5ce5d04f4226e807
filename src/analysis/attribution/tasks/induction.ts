// Induction on repeated random tokens: clean = [BOS] r r (generateRepeatedTokens), corrupted = [BOS] r r' with r'
// fresh random tokens, so the second half can no longer be copied. The metric is the mean log-probability of the
// repeated tokens: at each position q of the second half but its last, of the token at q + 1 (the first token of the
// second half cannot be predicted by induction, so prediction starts from it).
import type { HookedTransformer } from "../../../model/hooked-transformer.js";
import { cat, Generator, randint } from "../../../tensor/index.js";
import { generateRepeatedTokens } from "../../attn-detectors.js";
import { AttributionError } from "../errors.js";
import { nextTokenLogProbMetric } from "./metrics.js";
import { checkPair, type AttributionTask } from "./task.js";

export interface InductionOptions {
  /** Length of the random half (default 20; ≥ 2). */
  seqLen?: number;
  /** Rows (default 8). */
  batch?: number;
  /** Seed of the clean tokens (default 0); the corrupted second halves use seed + 1. */
  seed?: number;
  prependBos?: boolean;
}

/** The induction task: repeated random tokens (clean) against fresh random tokens (corrupted), metric the mean log-probability of the repeated tokens. */
export function inductionTask(model: HookedTransformer, opts: InductionOptions = {}): AttributionTask {
  const seqLen = opts.seqLen ?? 20;
  const batch = opts.batch ?? 8;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seqLen) || seqLen < 2)
    throw new AttributionError(`inductionTask: seqLen must be an integer ≥ 2, got ${seqLen}`);
  const clean = generateRepeatedTokens(model, seqLen, { batch, seed, prependBos: opts.prependBos }); // [batch, off + 2·seqLen]
  const off = clean.shape[1]! - 2 * seqLen; // 1 with BOS
  if (clean.shape[1]! > model.cfg.nCtx)
    throw new AttributionError(`inductionTask: ${clean.shape[1]} tokens but the model's context is ${model.cfg.nCtx}`);
  const fresh = randint(0, model.cfg.dVocab, [batch, seqLen], { generator: new Generator(seed + 1) });
  const corrupted = cat([clean.get(":", `:${off + seqLen}`), fresh], 1);
  checkPair("inductionTask", clean, corrupted);
  const first = off + seqLen; // predicts the token at first + 1, the second copy of r[1]
  const answers = clean.get(":", `${first + 1}:`).contiguous(); // [batch, seqLen − 1]
  return {
    name: "induction",
    clean,
    corrupted,
    answers,
    positions: new Array<number>(batch).fill(first),
    metric: nextTokenLogProbMetric("inductionTask", first, answers),
    labels: Array.from({ length: batch }, (_, b) => `repeated random tokens, row ${b} (${seqLen} × 2)`),
  };
}
