// The analysis layer's public surface.
export * as patching from "./patching/index.js";
export { progressReporter, type ProgressCallback, type ProgressOptions } from "./progress.js";
export { FactoredMatrix, type FactoredSvd } from "../tensor/factored-matrix.js";
export {
  fullOV, fullQK, copyingScore, ovCopyingScore, fullOvCopyingScore, compositionScores, allCompositionScores, type CompositionMode,
} from "./circuits.js";
export {
  detectHead, computeHeadAttentionSimilarityScore, getPreviousTokenHeadDetectionPattern, getDuplicateTokenHeadDetectionPattern,
  getInductionHeadDetectionPattern, currentAttnDetector, prevAttnDetector, firstAttnDetector, generateRepeatedTokens, inductionScore,
  inductionScoreFromCache, HEAD_NAMES, type HeadName, type ErrorMeasure, type DetectHeadOptions, type AttnDetectorResult,
  type RepeatedTokensOptions, type InductionScoreResult,
} from "./head-detector.js";
export {
  logitLens, dlaByLayer, dlaByHead, dlaByNeuron, dlaFull, residualDirections, toTokenIds,
  type LogitTarget, type LogitLensOptions, type LogitLensResult, type DlaOptions, type DlaResult,
} from "./logit-lens.js";
export { project, type ProjectOptions, type Projection } from "./projection.js";
export {
  attnScoresAsLinearFuncOfQueries, attnScoresAsLinearFuncOfKeys, attnScoresForQuerySideVectors, attnScoresForKeySideVectors,
  decomposeAttnScores, decomposeAttnScoresFull, attnDecompositionLabels, copySuppressionHookNames, headResultsAt, foldedQK,
  getEffectiveEmbedding, positionFlipPatching,
  type IOIPositions, type IOITokens, type AttnHeadTarget, type LinearScoreFunction, type LinearFuncOptions, type SideVectorScores,
  type QuerySideVectorsOptions, type KeySideVectorsOptions, type EffectiveEmbedding, type EffectiveEmbeddingOptions,
  type QueryIntervention, type KeyIntervention, type DecomposeAttnScoresOptions, type AttnScoreDecomposition,
  type FullDecompositionOptions, type FullAttnScoreDecomposition, type PositionFlipOptions, type PositionFlipResult,
} from "./attn-decomposition.js";
export {
  steeringHook, steeringHookName, addSteeringVector, withSteering, runWithSteering, generateWithSteering, contrastiveSteeringVector,
  steeringSweep, steeringGenerations,
  type SteeringVector, type SteeringHandle, type PromptInput, type ContrastiveOptions, type ContrastiveVector, type SteeringSweepOptions,
  type SteeringSweepResult, type SteeringGeneration,
} from "./steering.js";
export {
  getPathPatchHeadToFinalResidPost, getPathPatchHeadToHeads, resolvePositions, resolveMetricLayout, gatherLayout,
  type Head, type PositionSpec, type MetricPositions, type MetricLayout, type PositionedMetric, type QkvInput, type PathPatchInputs,
  type PathPatchToHeadsInputs, type PathPatchResult,
} from "./path-patching.js";
export {
  ioiHeadDla, backupNameMoverAnalysis, valueWeightedPattern, attentionVsProjection, attentionToWords, type HeadDla, type BackupNameMoverOptions, type BackupNameMoverResult,
  type AttentionVsProjection, type AttentionToWords,
} from "./ioi-circuit.js";
export {
  ioiMetric, ioiLogitDiffs, logitsToLogitDiffs, logitsToAveLogitDiff, normalizeLogitDiff, makeIoiData, ioiPromptPairs,
  generateDataAndCaches, runIoiPipeline, ioiResultsJson,
  type IoiMetric, type IoiMetricOptions, type IoiLogitDiffs, type EndPositions, type LogitDiffNormalization, type IoiData,
  type IoiDataOptions, type IoiPromptPair, type GenerateDataAndCachesOptions, type DataAndCaches, type IoiCircuitChoice,
  type IoiOptions, type IoiResults,
} from "./ioi/index.js";
export {
  computeMeansByTemplate, getHeadsAndPosnsToKeep, meanAblationHooks, addMeanAblationHook, circuitWithout, getCircuitScores,
  getCircuitScore, getAllMinimalityScores,
  type Circuit, type SeqPosToKeep, type KeepOptions, type MeanAblationOptions, type MeanAblationHandle, type CircuitScoreOptions,
  type MinimalityScore, type MinimalityOptions,
} from "./mean-ablation.js";
export {
  getCopyingScores, checkCopyCircuit, type CopyingScoreOptions, type CopyingScores, type CheckCopyCircuitOptions, type CheckCopyCircuitResult,
} from "./copy-scores.js";
