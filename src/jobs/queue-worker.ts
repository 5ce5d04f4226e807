// The queue's worker side (tlens worker): takes shard jobs from BullMQ, validates them (a malformed or unknown
// spec fails its job at once, unretried, and the worker goes on), runs them with its models loaded once, and
// returns the shard's result. A job whose worker died is moved back to the queue by BullMQ's stalled-job check.
import { UnrecoverableError, Worker } from "bullmq";
import { TlensError } from "../errors.js";
import { SpecError } from "./errors.js";
import { DEFAULT_QUEUE_NAME, redisConnection, type ShardJobData } from "./redis.js";
import { ShardRunner } from "./runner.js";
import type { ShardResult } from "./shards.js";
import type { ModelSpec } from "./spec.js";
import { loadTaskModules } from "./tasks.js";

export interface QueueWorkerOptions {
  url: string;
  queueName?: string;
  /** Load this model before taking jobs, and refuse jobs for any other. */
  model?: ModelSpec;
  taskModules?: string[];
  /** Jobs run at once (default 1: a shard already uses the process's native threads). */
  concurrency?: number;
  /** How long a job's lock lasts without renewal (default 60 s). A shard runs without yielding to timers, so this
   *  must exceed the longest shard; a worker dead this long has its job moved back to the queue. */
  lockMs?: number;
  /** How often this worker looks for jobs whose lock expired (default lockMs / 2). */
  stalledCheckMs?: number;
  /** Times a job may stall (its worker died) before it fails (default 3). */
  maxStalls?: number;
  log?: (line: string) => void;
}

export interface QueueWorker {
  close(): Promise<void>;
}

function message(e: unknown): string {
  return e instanceof TlensError ? e.message : e instanceof Error ? e.stack ?? e.message : String(e);
}

export async function startQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorker> {
  const log = opts.log ?? ((line: string) => console.error(line));
  await loadTaskModules(opts.taskModules ?? []);
  const runner = new ShardRunner({ only: opts.model });
  if (opts.model) await runner.model(opts.model);
  const connection = redisConnection(opts.url);
  const lockMs = opts.lockMs ?? 60_000;
  const worker = new Worker<ShardJobData, ShardResult>(opts.queueName ?? DEFAULT_QUEUE_NAME, async (job) => {
    log(`shard ${job.id} started (attempt ${job.attemptsMade + 1})`);
    try {
      return await runner.runJob(job.data);
    } catch (e) {
      if (e instanceof SpecError) throw new UnrecoverableError(`refused: ${e.message}`);
      throw e;
    }
  }, {
    connection, concurrency: opts.concurrency ?? 1, lockDuration: lockMs, stalledInterval: opts.stalledCheckMs ?? Math.ceil(lockMs / 2),
    maxStalledCount: opts.maxStalls ?? 3, autorun: true,
  });
  worker.on("completed", (job) => log(`shard ${job.id} done`));
  worker.on("failed", (job, err) => log(`shard ${job?.id ?? "?"} failed: ${message(err)}`));
  worker.on("error", (err) => log(`worker: ${message(err)}`));
  await worker.waitUntilReady();
  log(`worker ready on queue ${worker.name}`);
  return {
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}
