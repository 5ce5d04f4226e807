// The trainer's options, their defaults (SAELens's where it has one) and the learning-rate / L1 schedules.
import { SaeError } from "../errors.js";
import type { ProgressOptions } from "../../analysis/progress.js";
import type { Sparsity } from "./sae-step.js";

/** One log line of training. */
export interface TrainLogEntry {
  step: number;
  tokens: number;
  mse: number;
  l1: number;
  l0: number;
  varianceExplained: number;
  /** TopK's auxiliary (AuxK) loss, 0 without one */
  auxLoss: number;
  /** fraction of features that have not fired for deadFeatureWindow tokens */
  deadFraction: number;
  lr: number;
  l1Coefficient: number;
}

export interface TrainSaeOptions extends ProgressOptions {
  /** the hook point whose activations the SAE reconstructs */
  hookName: string;
  /** d_sae = expansionFactor × d_in (default 8) */
  expansionFactor?: number;
  /** default L1 with coefficient 5 (SAELens's sparsity penalty, weighted by the decoder norms) */
  sparsity?: Sparsity;
  /** activations to train on (default 2 000 000) */
  trainingTokens?: number;
  /** activations per step (default 4096) */
  batchSize?: number;
  /** Adam's learning rate (default 3e-4; betas 0.9, 0.999) */
  lr?: number;
  /** linear learning-rate warm-up steps (default 0) */
  lrWarmUpSteps?: number;
  /** steps at the end over which the learning rate falls linearly to 0 (default 0) */
  lrDecaySteps?: number;
  /** steps over which the L1 coefficient rises linearly from 0 (default: 5% of the steps) */
  l1WarmUpSteps?: number;
  /** "weighted": L1 weighted by ‖W_dec[j]‖, norms free (SAELens's standard); "unit": decoder rows kept at unit
   *  norm, their gradients projected off the rows (the earlier recipe). Default: weighted for L1, unit for TopK. */
  decoderNorm?: "weighted" | "unit";
  /** "expected_average_only_in": train on activations scaled to mean norm √d_in, folded into the saved
   *  weights (SAELens); default "none" */
  normalizeActivations?: "none" | "expected_average_only_in";
  /** b_dec's start: the mean of the first batch (default) or zeros */
  bDecInit?: "mean" | "zeros";
  /** a feature silent for this many tokens is dead (default 1 000 000 or a quarter of the training tokens) */
  deadFeatureWindow?: number;
  /** TopK only: the coefficient of the auxiliary loss (AuxK, aux-k.ts) that trains dead features on what the
   *  live ones miss (default 1, SAELens's aux_loss_coefficient; 0 turns it off) */
  auxKCoefficient?: number;
  /** TopK only: k_aux, the dead features each example uses in that loss (default d_in / 2, as SAELens) */
  kAux?: number;
  /** resample dead features every this many steps (default: never) */
  resampleEvery?: number;
  /** call onLog every this many steps (default 100) */
  logEvery?: number;
  /** Called every logEvery steps with the step's statistics (MSE, L0, variance explained, dead fraction, ...). */
  onLog?: (entry: TrainLogEntry) => void;
  /** activations in the store's shuffle buffer (default 8 batches) */
  bufferSize?: number;
  /** model rows per run of the activation store (default 16) */
  rowsPerRun?: number;
  /** seed of the initialisation and the shuffle (default 0) */
  seed?: number;
}

/** The options with every default filled in. */
export type ResolvedTrainOptions = Required<
  Omit<TrainSaeOptions, "onLog" | "onProgress" | "progressBar" | "resampleEvery" | "kAux">
> &
  Pick<TrainSaeOptions, "onLog" | "onProgress" | "progressBar" | "resampleEvery" | "kAux"> & { steps: number };

/** trainSae's options with every default filled in and checked (SaeError on a bad value), and the step count. */
export function resolveTrainOptions(o: TrainSaeOptions): ResolvedTrainOptions {
  const batchSize = o.batchSize ?? 4096;
  const trainingTokens = o.trainingTokens ?? 2_000_000;
  const steps = Math.floor(trainingTokens / batchSize);
  const sparsity = o.sparsity ?? { kind: "l1", coefficient: 5 };
  const positive = (name: string, v: number): void => {
    if (!(Number.isFinite(v) && v > 0)) throw new SaeError(`trainSae: ${name} must be a positive number, got ${v}`);
  };
  positive("batchSize", batchSize);
  positive("lr", o.lr ?? 3e-4);
  positive("expansionFactor", o.expansionFactor ?? 8);
  if (steps < 1)
    throw new SaeError(`trainSae: trainingTokens (${trainingTokens}) is less than one batch (${batchSize})`);
  if (sparsity.kind === "l1" && !(sparsity.coefficient >= 0))
    throw new SaeError(`trainSae: the L1 coefficient must be ≥ 0, got ${sparsity.coefficient}`);
  if (sparsity.kind === "topk" && !(Number.isInteger(sparsity.k) && sparsity.k > 0))
    throw new SaeError(`trainSae: TopK's k must be a positive integer, got ${sparsity.k}`);
  if (!((o.auxKCoefficient ?? 1) >= 0))
    throw new SaeError(`trainSae: auxKCoefficient must be ≥ 0, got ${o.auxKCoefficient}`);
  if (o.kAux !== undefined && !(Number.isInteger(o.kAux) && o.kAux > 0))
    throw new SaeError(`trainSae: kAux must be a positive integer, got ${o.kAux}`);
  return {
    ...o,
    batchSize,
    trainingTokens,
    steps,
    sparsity,
    expansionFactor: o.expansionFactor ?? 8,
    lr: o.lr ?? 3e-4,
    lrWarmUpSteps: o.lrWarmUpSteps ?? 0,
    lrDecaySteps: o.lrDecaySteps ?? 0,
    l1WarmUpSteps: o.l1WarmUpSteps ?? Math.floor(steps / 20),
    decoderNorm: o.decoderNorm ?? (sparsity.kind === "topk" ? "unit" : "weighted"),
    normalizeActivations: o.normalizeActivations ?? "none",
    bDecInit: o.bDecInit ?? "mean",
    auxKCoefficient: o.auxKCoefficient ?? 1,
    deadFeatureWindow: o.deadFeatureWindow ?? Math.min(1_000_000, Math.max(batchSize, Math.floor(trainingTokens / 4))),
    logEvery: o.logEvery ?? 100,
    bufferSize: o.bufferSize ?? 8 * batchSize,
    rowsPerRun: o.rowsPerRun ?? 16,
    seed: o.seed ?? 0,
  };
}

/** The learning rate of a step: linear warm-up, constant, then linear decay to 0 over the last lrDecaySteps. */
export function learningRate(o: ResolvedTrainOptions, step: number): number {
  const warm = o.lrWarmUpSteps > 0 ? Math.min(1, (step + 1) / o.lrWarmUpSteps) : 1;
  const left = o.steps - step;
  const decay = o.lrDecaySteps > 0 ? Math.min(1, left / o.lrDecaySteps) : 1;
  return o.lr * warm * decay;
}

/** The step's sparsity: the L1 coefficient rises linearly over l1WarmUpSteps (TopK has no schedule). */
export function sparsityAt(o: ResolvedTrainOptions, step: number): Sparsity {
  if (o.sparsity.kind === "topk" || o.l1WarmUpSteps === 0) return o.sparsity;
  return { kind: "l1", coefficient: o.sparsity.coefficient * Math.min(1, (step + 1) / o.l1WarmUpSteps) };
}
