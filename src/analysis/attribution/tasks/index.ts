// Attribution tasks: clean / corrupted token batches of equal shape, answers, and a differentiable scalar metric.
export type { AttributionTask } from "./task.js";
export { ioiTask } from "./ioi.js";
export { greaterThanTask, greaterThanYears, twoDigitTokenIds, type GreaterThanOptions } from "./greater-than.js";
export { GREATER_THAN_NOUNS } from "./greater-than-nouns.js";
export { inductionTask, type InductionOptions } from "./induction.js";
export { pairsTask, type PromptPair } from "./pairs.js";
export { logitDiffMetric, yearProbDiffMetric, nextTokenLogProbMetric } from "./metrics.js";
