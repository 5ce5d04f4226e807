// The queue executor (submitting side): every shard becomes a BullMQ job on Redis; workers anywhere (tlens worker)
// run them; this side polls the shards' jobs, keeps each shard's first result, re-adds a shard whose job Redis lost
// (a restart without persistence), reports a shard that failed every attempt, and merges in shard order.
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { ShardFailedError, SweepCancelledError } from "./errors.js";
import { progressTracker, type Executor, type RunOptions } from "./executor.js";
import { mergeResults, ShardResults, type SweepResult } from "./merge.js";
import { DEFAULT_QUEUE_NAME, redisConnection, shardJobId, type ShardJobData } from "./redis.js";
import { planShards, type Shard, type ShardResult } from "./shards.js";
import type { SweepSpec } from "./spec.js";

export interface QueueOptions {
  /** redis://127.0.0.1:6379, redis://user:password@host:6379, rediss://... (TLS). */
  url: string;
  queueName?: string;
  /** Attempts per shard before it is reported failed (default 3). */
  attempts?: number;
  /** How often the shards' jobs are checked (default 100 ms). */
  pollMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class QueueExecutor implements Executor {
  private readonly connection: Redis;
  private readonly queue: Queue<ShardJobData, ShardResult>;

  constructor(private readonly opts: QueueOptions) {
    this.connection = redisConnection(opts.url);
    this.queue = new Queue(opts.queueName ?? DEFAULT_QUEUE_NAME, { connection: this.connection });
  }

  private add(sweepId: string, spec: SweepSpec, shards: readonly Shard[]): Promise<unknown> {
    return this.queue.addBulk(shards.map((shard) => ({
      name: shard.id, data: { sweepId, spec, shard },
      opts: {
        jobId: shardJobId(sweepId, shard.id), attempts: this.opts.attempts ?? 3, backoff: { type: "fixed", delay: 100 },
        removeOnComplete: { age: 3600 }, removeOnFail: { age: 7 * 24 * 3600 },
      },
    })));
  }

  async run(spec: SweepSpec, opts: RunOptions = {}): Promise<SweepResult> {
    const plan = planShards(spec);
    const sweepId = randomUUID();
    const results = new ShardResults();
    const progress = progressTracker(plan.length, opts.onProgress);
    await this.add(sweepId, spec, plan);
    try {
      while (results.size < plan.length) {
        if (opts.signal?.aborted) throw new SweepCancelledError(`sweep cancelled after ${results.size} of ${plan.length} shards`);
        const lost = await this.collect(sweepId, plan, results);
        if (lost.length) await this.add(sweepId, spec, lost);
        progress(results.size);
        if (results.size < plan.length) await sleep(this.opts.pollMs ?? 100);
      }
    } catch (e) {
      await this.removePending(sweepId, plan, results);
      throw e;
    }
    return mergeResults(spec, plan, results);
  }

  /** Takes the results of finished shards (removing their jobs); returns the shards whose jobs no longer exist. */
  private async collect(sweepId: string, plan: readonly Shard[], results: ShardResults): Promise<Shard[]> {
    const lost: Shard[] = [];
    for (const shard of plan) {
      if (results.has(shard.id)) continue;
      const id = shardJobId(sweepId, shard.id);
      const state = await this.queue.getJobState(id);
      if (state === "unknown") lost.push(shard);
      if (state !== "completed" && state !== "failed") continue;
      const job = await this.queue.getJob(id);
      if (!job) continue; // removed in between (its age ran out): re-added on the next round
      if (state === "failed") throw new ShardFailedError(shard.id, job.attemptsMade, job.failedReason);
      const r = job.returnvalue;
      if (r.id !== shard.id) throw new ShardFailedError(shard.id, job.attemptsMade, `the worker returned shard ${r.id}`);
      results.add(r);
      await job.remove().catch(() => undefined);
    }
    return lost;
  }

  /** Removes the sweep's waiting shards (cancelled or failed); shards running now finish and their jobs expire. */
  private async removePending(sweepId: string, plan: readonly Shard[], results: ShardResults): Promise<void> {
    for (const shard of plan) if (!results.has(shard.id)) await this.queue.remove(shardJobId(sweepId, shard.id)).catch(() => 0);
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.connection.disconnect();
  }
}
