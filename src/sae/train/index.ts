// SAE training: the activation store, the trainer (Adam, L1 / TopK, schedules, dead features), evaluation and saving.
export { ActivationStore, hookLayer, type ActivationStoreOptions } from "./activation-store.js";
export { textTokenRows } from "./text-rows.js";
export { trainSae, applyUpdate, type TrainedSae } from "./trainer.js";
export {
  resolveTrainOptions,
  learningRate,
  sparsityAt,
  type TrainSaeOptions,
  type TrainLogEntry,
  type ResolvedTrainOptions,
} from "./config.js";
export { evaluateSae, type SaeEvaluation } from "./evaluate.js";
export { saeOfParams, saveTrainedSae, logFeatureDensity, type TrainedSaeInfo } from "./save.js";
export { SaeStep, type Sparsity, type StepStats, type SaeGrads } from "./sae-step.js";
export { kthLargest, TopKSelector } from "./select.js";
export { AuxKStep, type AuxKLoss } from "./aux-k.js";
export { Adam, type AdamOptions } from "./adam.js";
export { initSaeParams, type SaeParams } from "./params.js";
export { DeadFeatureTracker, resampleFeatures } from "./resample.js";
