// A trained SAE as the `SAE` class (src/sae/sae.ts) and as a SAELens folder through its saveSae: cfg.json,
// sae_weights.safetensors and sparsity.safetensors (log10 of each feature's firing frequency, as SAELens's
// training writes it).
import { saveSae } from "../formats/saelens.js";
import { SAE } from "../sae.js";
import { Tensor } from "../../tensor/index.js";
import type { SaeParams } from "./params.js";
import type { Sparsity } from "./sae-step.js";
import type { TrainedSae } from "./trainer.js";

export interface TrainedSaeInfo {
  modelName?: string;
  /** the token rows' length */
  contextSize?: number;
  /** where the training text came from */
  datasetPath?: string;
}

/** The SAE of trained parameters (standard for L1, topk for TopK; activations un-normalised, so
 *  normalize_activations "none"). The SAE shares the parameters' buffers. */
export function saeOfParams(p: SaeParams, sparsity: Sparsity, hookName: string, info: TrainedSaeInfo = {}): SAE {
  return new SAE(
    {
      architecture: sparsity.kind === "topk" ? "topk" : "standard",
      ...(sparsity.kind === "topk" ? { k: sparsity.k } : {}),
      dIn: p.dIn,
      dSae: p.dSae,
      hookName,
      applyBDecToInput: true,
      normalizeActivations: "none",
      modelName: info.modelName,
      contextSize: info.contextSize,
      datasetPath: info.datasetPath,
      saeLensTrainingVersion: "tlens",
    },
    {
      W_enc: Tensor.fromTypedArray(p.W_enc, [p.dIn, p.dSae]),
      W_dec: Tensor.fromTypedArray(p.W_dec, [p.dSae, p.dIn]),
      b_enc: Tensor.fromTypedArray(p.b_enc, [p.dSae]),
      b_dec: Tensor.fromTypedArray(p.b_dec, [p.dIn]),
    },
  );
}

/** log10 of each feature's firing frequency [d_sae] (a feature that never fired gets −10: SAELens adds 1e-10). */
export function logFeatureDensity(trained: TrainedSae): Tensor {
  return Tensor.fromTypedArray(
    Float32Array.from(trained.featureFrequency, (f) => Math.log10(f + 1e-10)),
    [trained.params.dSae],
  );
}

/** Writes the SAELens folder `dir` (created when missing). */
export function saveTrainedSae(trained: TrainedSae, dir: string, info: TrainedSaeInfo = {}): Promise<void> {
  const sae = saeOfParams(trained.params, trained.options.sparsity, trained.options.hookName, info);
  return saveSae(sae, dir, { sparsity: logFeatureDensity(trained) });
}
