// `detectors`: TransformerLens's head_detector (detectHead and its detection patterns), ARENA's average-attention
// detectors (current / previous / first token heads) and the induction score on repeated random tokens.
// docs/circuits.md.
export {
  detectHead,
  computeHeadAttentionSimilarityScore,
  getPreviousTokenHeadDetectionPattern,
  getDuplicateTokenHeadDetectionPattern,
  getInductionHeadDetectionPattern,
  HEAD_NAMES,
  currentAttnDetector,
  prevAttnDetector,
  firstAttnDetector,
  generateRepeatedTokens,
  inductionScore,
  inductionScoreFromCache,
  type HeadName,
  type ErrorMeasure,
  type DetectHeadOptions,
  type AttnDetectorResult,
  type RepeatedTokensOptions,
  type InductionScoreResult,
} from "../analysis/head-detector.js";
