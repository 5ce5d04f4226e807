// trainSae: trains a sparse autoencoder on one hook point's activations (streamed by ActivationStore) with Adam,
// L1 (SAELens's decoder-norm-weighted penalty) or TopK sparsity, learning-rate warm-up / decay, L1 warm-up,
// decoder-norm handling, dead-feature tracking, TopK's auxiliary loss on the dead features and optional resampling.
import { Generator, type Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import { progressReporter } from "../../analysis/progress.js";
import { ActivationStore } from "./activation-store.js";
import type { AuxKLoss } from "./aux-k.js";
import { Adam } from "./adam.js";
import {
  learningRate,
  resolveTrainOptions,
  sparsityAt,
  type ResolvedTrainOptions,
  type TrainLogEntry,
  type TrainSaeOptions,
} from "./config.js";
import { initSaeParams, rowNorm, scaleRow, type SaeParams } from "./params.js";
import { DeadFeatureTracker, resampleFeatures } from "./resample.js";
import { SaeStep, type SaeGrads, type StepStats } from "./sae-step.js";

export interface TrainedSae {
  /** the weights, for raw (unscaled) activations */
  params: SaeParams;
  options: ResolvedTrainOptions;
  log: TrainLogEntry[];
  /** each feature's firing frequency over the last deadFeatureWindow tokens (or all, when shorter) [d_sae] */
  featureFrequency: Float64Array;
  /** the last log entry's figures over the final steps */
  final: TrainLogEntry;
  /** tokens per second of the training loop (model runs included) */
  tokensPerSecond: number;
  /** the activation scale used in training (1 unless normalizeActivations) */
  activationScale: number;
}

/** Trains an SAE on `tokens` [rows, ctx] run through the model. */
export async function trainSae(
  model: HookedTransformer,
  tokens: Tensor,
  options: TrainSaeOptions,
): Promise<TrainedSae> {
  const o = resolveTrainOptions(options);
  const store = new ActivationStore(model, {
    hookName: o.hookName,
    tokens,
    rowsPerRun: o.rowsPerRun,
    bufferSize: o.bufferSize,
    seed: o.seed,
  });
  const dIn = store.dIn,
    dSae = Math.round(o.expansionFactor * dIn);
  const p = initSaeParams(dIn, dSae, o.seed);
  const stepper = new SaeStep(p, o.batchSize);
  const adam = new Adam([p.W_enc, p.W_dec, p.b_enc, p.b_dec]);
  const tracker = new DeadFeatureTracker(dSae);
  const rng = new Generator(o.seed + 1);
  const progress = progressReporter("training SAE", o.steps, o);
  const fired = new Float64Array(dSae),
    window = new Float64Array(dSae);
  const log: TrainLogEntry[] = [];
  const acc = new Accumulator();
  let scale = 1,
    windowTokens = 0;
  const t0 = performance.now();
  for (let step = 0; step < o.steps; step++) {
    const x = await store.nextBatch(o.batchSize);
    if (step === 0) {
      scale = o.normalizeActivations === "expected_average_only_in" ? Math.sqrt(dIn) / meanNorm(x, dIn) : 1;
      if (o.bDecInit === "mean") p.b_dec.set(columnMean(x, dIn, scale));
    }
    if (scale !== 1) for (let i = 0; i < x.length; i++) x[i]! *= scale;
    fired.fill(0);
    const stats = stepper.run(x, sparsityAt(o, step), fired, auxK(o, tracker, dIn));
    const lr = learningRate(o, step);
    applyUpdate(p, stepper.grads, adam, lr, o.decoderNorm);
    tracker.record(fired, o.batchSize);
    // firing counts over the last deadFeatureWindow tokens (restarted each window)
    if (windowTokens >= o.deadFeatureWindow) {
      window.fill(0);
      windowTokens = 0;
    }
    for (let j = 0; j < dSae; j++) window[j]! += fired[j]!;
    windowTokens += o.batchSize;
    if (o.resampleEvery && step > 0 && step % o.resampleEvery === 0 && step < o.steps - o.lrDecaySteps) {
      resampleFeatures(p, tracker.dead(o.deadFeatureWindow), x, stepper.exampleLoss, adam, rng);
    }
    acc.add(stats);
    if ((step + 1) % o.logEvery === 0 || step === o.steps - 1) {
      const entry: TrainLogEntry = {
        step: step + 1,
        tokens: (step + 1) * o.batchSize,
        ...acc.take(),
        deadFraction: tracker.dead(o.deadFeatureWindow).length / dSae,
        lr,
        l1Coefficient:
          sparsityAt(o, step).kind === "l1" ? (sparsityAt(o, step) as { coefficient: number }).coefficient : 0,
      };
      log.push(entry);
      o.onLog?.(entry);
    }
    progress(step + 1, o.steps);
  }
  const seconds = (performance.now() - t0) / 1000;
  foldScale(p, scale);
  return {
    params: p,
    options: o,
    log,
    final: log[log.length - 1]!,
    tokensPerSecond: (o.steps * o.batchSize) / seconds,
    activationScale: scale,
    featureFrequency: window.map((c) => c / Math.max(windowTokens, 1)),
  };
}

/** TopK's auxiliary loss over the features dead now (none for L1, or with a zero coefficient). */
function auxK(o: ResolvedTrainOptions, tracker: DeadFeatureTracker, dIn: number): AuxKLoss | undefined {
  if (o.sparsity.kind !== "topk" || o.auxKCoefficient === 0) return undefined;
  return {
    dead: tracker.dead(o.deadFeatureWindow),
    coefficient: o.auxKCoefficient,
    kAux: o.kAux ?? Math.max(1, Math.floor(dIn / 2)),
  };
}

/** One Adam step on every parameter; "unit": decoder-row gradients projected off the rows, rows renormalised. */
export function applyUpdate(p: SaeParams, g: SaeGrads, adam: Adam, lr: number, decoderNorm: "weighted" | "unit"): void {
  if (decoderNorm === "unit") projectOffRows(p.W_dec, g.W_dec, p.dSae, p.dIn);
  adam.begin();
  adam.update(p.W_enc, g.W_enc, lr);
  adam.update(p.W_dec, g.W_dec, lr);
  adam.update(p.b_enc, g.b_enc, lr);
  adam.update(p.b_dec, g.b_dec, lr);
  if (decoderNorm === "unit")
    for (let j = 0; j < p.dSae; j++) scaleRow(p.W_dec, j, p.dIn, 1 / (rowNorm(p.W_dec, j, p.dIn) || 1));
}

/** grad[j] −= (grad[j] · w[j]) w[j] / ‖w[j]‖² for each row j of [rows, cols]. */
function projectOffRows(w: Float32Array, grad: Float32Array, rows: number, cols: number): void {
  for (let j = 0; j < rows; j++) {
    let dot = 0,
      nn = 0;
    for (let i = j * cols; i < (j + 1) * cols; i++) {
      dot += grad[i]! * w[i]!;
      nn += w[i]! * w[i]!;
    }
    if (nn === 0) continue;
    const c = dot / nn;
    for (let i = j * cols; i < (j + 1) * cols; i++) grad[i]! -= c * w[i]!;
  }
}

/** Weights trained on s·x that act on x: W_enc · s, W_dec / s, b_dec / s (SAELens's fold_activation_norm_scaling_factor). */
function foldScale(p: SaeParams, s: number): void {
  if (s === 1) return;
  for (let i = 0; i < p.W_enc.length; i++) p.W_enc[i]! *= s;
  for (let i = 0; i < p.W_dec.length; i++) p.W_dec[i]! /= s;
  for (let i = 0; i < p.b_dec.length; i++) p.b_dec[i]! /= s;
}

function meanNorm(x: Float32Array, d: number): number {
  let sum = 0;
  const n = x.length / d;
  for (let b = 0; b < n; b++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += x[b * d + i]! ** 2;
    sum += Math.sqrt(s);
  }
  return sum / n || 1;
}

function columnMean(x: Float32Array, d: number, scale: number): Float32Array {
  const n = x.length / d,
    out = new Float32Array(d);
  for (let b = 0; b < n; b++) for (let i = 0; i < d; i++) out[i]! += (x[b * d + i]! * scale) / n;
  return out;
}

const STAT_KEYS = ["mse", "l1", "l0", "varianceExplained", "auxLoss"] as const;

/** Means of the step statistics since the last log line. */
class Accumulator {
  private n = 0;
  private s: StepStats = Accumulator.zero();

  private static zero(): StepStats {
    return { mse: 0, l1: 0, l0: 0, varianceExplained: 0, auxLoss: 0 };
  }

  add(stats: StepStats): void {
    this.n++;
    for (const k of STAT_KEYS) this.s[k] += stats[k];
  }

  take(): StepStats {
    const n = Math.max(this.n, 1),
      out = Accumulator.zero();
    for (const k of STAT_KEYS) out[k] = this.s[k] / n;
    this.n = 0;
    this.s = Accumulator.zero();
    return out;
  }
}
