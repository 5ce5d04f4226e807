// Sweeps beyond one process: job specs, shards, exact merge, and the executors (in-process, pool, queue).
export { JobError, SpecError, ShardFailedError, SweepCancelledError } from "./errors.js";
export {
  validateSpec,
  parseSpec,
  canonicalJson,
  type SweepSpec,
  type ModelSpec,
  type PretrainedModelSpec,
  type RandomModelSpec,
  type TaskSpec,
  type ShardingSpec,
  type ModelProcessing,
  type JsonValue,
} from "./spec.js";
export { SWEEP_KINDS, type SweepKind, type SweepKindInfo } from "./kinds.js";
export { registerTask, getTask, loadTaskModules, type SweepTask, type TaskInstance, type PairBlock } from "./tasks.js";
export { knownOptions, option } from "./task-options.js";
export {
  planShards,
  runShard,
  validateShard,
  DEFAULT_PAIRS_PER_SHARD,
  type Shard,
  type ShardResult,
} from "./shards.js";
export { mergeResults, ShardResults, type SweepGrid, type SweepResult } from "./merge.js";
export { ShardRunner, validateJobData } from "./runner.js";
export { loadSpecModel } from "./model.js";
export type { Executor, RunOptions, SweepProgress } from "./executor.js";
export { InProcessExecutor } from "./inprocess.js";
export { PoolExecutor, type PoolOptions } from "./pool.js";
export { QueueExecutor, type QueueOptions } from "./queue.js";
export { startQueueWorker, type QueueWorker, type QueueWorkerOptions } from "./queue-worker.js";
export { DEFAULT_QUEUE_NAME } from "./redis.js";
