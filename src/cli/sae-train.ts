// `tlens sae` without --sae on a model with no shipped SAE: trains a TopK SAE (trainSae) on the command's token
// dataset at the hook, evaluates it there, and gives it with its SAELens files (the command writes them into
// <out>/sae/ beside the dashboard, so `--sae <out>/sae` reuses it).
import type { HookedTransformer } from "../model/hooked-transformer.js";
import type { Tensor } from "../tensor/index.js";
import type { SAE } from "../sae/sae.js";
import { saeLensFiles } from "../sae/formats/saelens.js";
import { evaluateSae, type SaeEvaluation } from "../sae/train/evaluate.js";
import { logFeatureDensity, saeOfParams } from "../sae/train/save.js";
import { trainSae } from "../sae/train/trainer.js";

export interface SaeTrainArgs {
  hook: string;
  /** TopK's k */
  k: number;
  expansion: number;
  trainTokens: number;
  seed: number;
  /** where the tokens came from (cfg.json's dataset_path) */
  dataset: string;
}

export interface TrainedForDashboard {
  sae: SAE;
  /** the SAELens folder's files, by name */
  files: Record<string, string | Uint8Array>;
  /** on the training tokens */
  evaluation: SaeEvaluation;
  /** features silent over the last window of training */
  deadFraction: number;
  tokensPerSecond: number;
}

/** The hook a trained SAE reads by default: the residual stream before the middle block. */
export function defaultTrainHook(nLayers: number): string {
  return `blocks.${Math.floor(nLayers / 2)}.hook_resid_pre`;
}

/** Trains the SAE on token rows [rows, ctx] (SAELens's TopK recipe: activations normalised to mean norm √d_in, unit
 *  decoder rows, AuxK on dead features; Adam at 3e-3 with a short warm-up and a linear decay over the last fifth). */
export async function trainForDashboard(
  model: HookedTransformer,
  tokens: Tensor,
  a: SaeTrainArgs,
  log: (s: string) => void,
): Promise<TrainedForDashboard> {
  const batchSize = Math.min(2048, Math.max(64, 2 ** Math.floor(Math.log2(a.trainTokens / 50))));
  const steps = Math.max(1, Math.floor(a.trainTokens / batchSize));
  log(
    `tlens sae: training a TopK SAE (k ${a.k}, ${a.expansion}× d_model) at ${a.hook} on ${steps * batchSize} activations (${steps} steps of ${batchSize})`,
  );
  const trained = await trainSae(model, tokens, {
    hookName: a.hook,
    expansionFactor: a.expansion,
    sparsity: { kind: "topk", k: a.k },
    trainingTokens: steps * batchSize,
    batchSize,
    lr: 3e-3,
    lrWarmUpSteps: Math.min(10, steps),
    lrDecaySteps: Math.floor(steps / 5),
    normalizeActivations: "expected_average_only_in",
    seed: a.seed,
  });
  const info = { modelName: model.cfg.modelName, contextSize: tokens.shape[1], datasetPath: a.dataset };
  const sae = saeOfParams(trained.params, trained.options.sparsity, a.hook, info);
  const evaluation = await evaluateSae(model, sae, tokens);
  const deadFraction = trained.featureFrequency.filter((f) => f === 0).length / trained.params.dSae;
  log(
    `tlens sae: trained in ${((steps * batchSize) / trained.tokensPerSecond).toFixed(1)}s: variance explained ${evaluation.varianceExplained.toFixed(3)}, L0 ${evaluation.l0.toFixed(1)}, ` +
      `dead ${(100 * deadFraction).toFixed(1)}%, CE loss recovered ${evaluation.ceLossRecovered.toFixed(3)}`,
  );
  return {
    sae,
    files: saeLensFiles(sae, logFeatureDensity(trained)),
    evaluation,
    deadFraction,
    tokensPerSecond: trained.tokensPerSecond,
  };
}
