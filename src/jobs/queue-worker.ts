// The queue's worker side (tlens worker): takes shard jobs from BullMQ, validates them (a malformed or unknown
// spec fails its job at once, unretried, and the worker goes on), runs them in its shard process (models loaded
// once, this process's event loop left free for BullMQ's lock renewals) and returns the shard's result. A job whose
// worker died is moved back to the queue by BullMQ's stalled-job check.
import { UnrecoverableError, Worker } from "bullmq";
import { TlensError } from "../errors.js";
import { SpecError } from "./errors.js";
import { DEFAULT_QUEUE_NAME, redisConnection, type ShardJobData } from "./redis.js";
import { ShardProcess } from "./shard-process.js";
import { validateJobData } from "./runner.js";
import type { Shard, ShardResult } from "./shards.js";
import { canonicalJson, modelKey, type ModelSpec, type SweepSpec } from "./spec.js";
import { loadTaskModules } from "./tasks.js";

export interface QueueWorkerOptions {
  url: string;
  queueName?: string;
  /** Load this model before taking jobs, and refuse jobs for any other. */
  model?: ModelSpec;
  taskModules?: string[];
  /** How long a job's lock lasts without renewal (default 30 s): a worker dead this long has its job moved back to
   *  the queue. Shards run in a child process, so the worker renews its locks while they compute. */
  lockMs?: number;
  /** How often this worker looks for jobs whose lock expired (default lockMs / 2). */
  stalledCheckMs?: number;
  /** Times a job may stall (its worker died) before it fails (default 3). */
  maxStalls?: number;
  /** Where the worker's status lines go (default: stderr). */
  log?: (line: string) => void;
}

export interface QueueWorker {
  /** Stops taking jobs, lets the current one finish and closes the Redis connections. */
  close(): Promise<void>;
}

function message(e: unknown): string {
  return e instanceof TlensError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
}

/** The job's spec and shard, or a SpecError: malformed, an unknown task, or another model than the worker's. */
function validateJob(data: unknown, only: ModelSpec | undefined): { spec: SweepSpec; shard: Shard } {
  const job = validateJobData(data);
  if (only && modelKey(only) !== modelKey(job.spec.model)) {
    throw new SpecError(
      `this worker serves model ${canonicalJson(only)}, the job asks for ${canonicalJson(job.spec.model)}`,
    );
  }
  return job;
}

/** A BullMQ worker on the queue that runs shards (each spec's model loaded once); malformed or unknown specs fail their job with a SpecError and the worker goes on. */
export async function startQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorker> {
  const log = opts.log ?? ((line: string) => console.error(line));
  await loadTaskModules(opts.taskModules ?? []);
  const shards = new ShardProcess(opts.taskModules ?? []);
  if (opts.model) await shards.load(opts.model);
  const connection = redisConnection(opts.url);
  const lockMs = opts.lockMs ?? 30_000;
  const worker = new Worker<ShardJobData, ShardResult>(
    opts.queueName ?? DEFAULT_QUEUE_NAME,
    async (job) => {
      log(`shard ${job.id} started (attempt ${job.attemptsMade + 1})`);
      try {
        const { spec, shard } = validateJob(job.data, opts.model);
        return await shards.run(spec, shard);
      } catch (e) {
        if (e instanceof SpecError) throw new UnrecoverableError(`refused: ${e.message}`);
        throw e;
      }
    },
    {
      connection,
      concurrency: 1,
      lockDuration: lockMs,
      stalledInterval: opts.stalledCheckMs ?? Math.ceil(lockMs / 2),
      maxStalledCount: opts.maxStalls ?? 3,
      autorun: true,
    },
  );
  worker.on("completed", (job) => log(`shard ${job.id} done`));
  worker.on("failed", (job, err) => log(`shard ${job?.id ?? "?"} failed: ${message(err)}`));
  worker.on("error", (err) => log(`worker: ${message(err)}`));
  await worker.waitUntilReady();
  log(`worker ready on queue ${worker.name}`);
  return {
    async close() {
      await worker.close();
      await shards.close();
      connection.disconnect();
    },
  };
}
