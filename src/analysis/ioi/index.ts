// The IOI pipeline: one metric, one data module, the sweeps, the stages and runIoiPipeline → IoiResults.
export {
  ioiMetric,
  ioiLogitDiffs,
  logitsToLogitDiffs,
  logitsToAveLogitDiff,
  normalizeLogitDiff,
  endPositions,
  meanAtEnds,
  type IoiMetric,
  type IoiMetricOptions,
  type IoiLogitDiffs,
  type EndPositions,
  type LogitDiffNormalization,
} from "./metric.js";
export {
  makeIoiData,
  ioiPromptPairs,
  generateDataAndCaches,
  type IoiData,
  type IoiDataOptions,
  type IoiPromptPair,
  type GenerateDataAndCachesOptions,
  type DataAndCaches,
} from "./data.js";
export { sweepByEndGroups, patchByWord, POSITION_LABELS, type GroupSweep, type WordActivation } from "./sweeps.js";
export { findCircuit, type IoiCircuitChoice } from "./circuit.js";
export { runIoiPipeline, type IoiOptions } from "./pipeline.js";
export { ioiResultsJson, headName, type IoiResults } from "./results.js";
