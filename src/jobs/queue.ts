// The queue executor (submitting side): every shard becomes a BullMQ job on Redis; workers anywhere (tlens worker)
// run them. This side is woken by the queue's events (BullMQ QueueEvents: a job completed or failed) and reads just
// that shard's job; a slow full check of the sweep's pending shards (reconcileMs) re-adds a shard whose job Redis
// lost (a restart without persistence) and covers events missed while Redis was away. It keeps each shard's first
// result, reports a shard that failed every attempt, and merges in shard order.
import { randomUUID } from "node:crypto";
import { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { ShardFailedError, SweepCancelledError } from "./errors.js";
import { progressTracker, type Executor, type RunOptions } from "./executor.js";
import { mergeResults, ShardResults, type SweepResult } from "./merge.js";
import { DEFAULT_QUEUE_NAME, redisConnection, shardJobId, type ShardJobData } from "./redis.js";
import { planShards, type Shard, type ShardResult } from "./shards.js";
import type { SweepSpec } from "./spec.js";
import { Wakeup } from "./wakeup.js";

export interface QueueOptions {
  /** redis://127.0.0.1:6379, redis://user:password@host:6379, rediss://... (TLS). */
  url: string;
  queueName?: string;
  /** Attempts per shard before it is reported failed (default 3). */
  attempts?: number;
  /** How often every pending shard's job is checked besides the events (default 1000 ms): how soon a shard whose
   *  job Redis lost is re-added. */
  reconcileMs?: number;
}

/** The BullMQ executor: enqueues a sweep's shards on Redis for `tlens worker` processes, reports progress, supports
 *  cancel, and merges the results keyed by shard (late duplicates ignored). */
export class QueueExecutor implements Executor {
  private readonly connection: Redis;
  private readonly queue: Queue<ShardJobData, ShardResult>;
  /** Its own connection: it blocks reading the queue's event stream. */
  private readonly eventsConnection: Redis;
  private readonly events: QueueEvents;
  /** The running sweeps' waiters by sweep id. */
  private readonly waiters = new Map<string, Wakeup>();

  constructor(private readonly opts: QueueOptions) {
    const name = opts.queueName ?? DEFAULT_QUEUE_NAME;
    this.connection = redisConnection(opts.url);
    this.queue = new Queue(name, { connection: this.connection });
    this.eventsConnection = redisConnection(opts.url);
    this.events = new QueueEvents(name, { connection: this.eventsConnection });
    const onJob = ({ jobId }: { jobId: string }): void => {
      const dot = jobId.indexOf("."); // shardJobId: the sweep id (a UUID, no dots), then the shard id
      if (dot > 0) this.waiters.get(jobId.slice(0, dot))?.mark(jobId.slice(dot + 1));
    };
    this.events.on("completed", onJob);
    this.events.on("failed", onJob);
    this.events.on("error", () => undefined); // it reconnects; the full checks cover what it missed meanwhile
  }

  private add(sweepId: string, spec: SweepSpec, shards: readonly Shard[]): Promise<unknown> {
    return this.queue.addBulk(
      shards.map((shard) => ({
        name: shard.id,
        data: { sweepId, spec, shard },
        opts: {
          jobId: shardJobId(sweepId, shard.id),
          attempts: this.opts.attempts ?? 3,
          backoff: { type: "fixed", delay: 100 },
          removeOnComplete: { age: 3600 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      })),
    );
  }

  async run(spec: SweepSpec, opts: RunOptions = {}): Promise<SweepResult> {
    const plan = planShards(spec);
    const sweepId = randomUUID();
    const results = new ShardResults();
    const progress = progressTracker(plan.length, opts.onProgress);
    const wakeup = new Wakeup();
    const onAbort = (): void => wakeup.ring();
    this.waiters.set(sweepId, wakeup);
    opts.signal?.addEventListener("abort", onAbort);
    try {
      await this.events.waitUntilReady(); // reading the event stream before the first job can finish
      await this.add(sweepId, spec, plan);
      let full = true;
      while (results.size < plan.length) {
        if (opts.signal?.aborted)
          throw new SweepCancelledError(`sweep cancelled after ${results.size} of ${plan.length} shards`);
        const woken = wakeup.take();
        const lost = await this.collect(sweepId, full ? plan : plan.filter((s) => woken.has(s.id)), results);
        if (lost.length) await this.add(sweepId, spec, lost);
        progress(results.size);
        if (results.size < plan.length) full = await wakeup.wait(this.opts.reconcileMs ?? 1000);
      }
    } catch (e) {
      await this.removePending(sweepId, plan, results);
      throw e;
    } finally {
      this.waiters.delete(sweepId);
      opts.signal?.removeEventListener("abort", onAbort);
    }
    return mergeResults(spec, plan, results);
  }

  /** Takes the results of those shards that finished (removing their jobs); returns the shards whose jobs no longer
   *  exist. */
  private async collect(sweepId: string, shards: readonly Shard[], results: ShardResults): Promise<Shard[]> {
    const lost: Shard[] = [];
    for (const shard of shards) {
      if (results.has(shard.id)) continue;
      const id = shardJobId(sweepId, shard.id);
      const state = await this.queue.getJobState(id);
      if (state === "unknown") lost.push(shard);
      if (state !== "completed" && state !== "failed") continue;
      const job = await this.queue.getJob(id);
      if (!job) continue; // removed in between (its age ran out): re-added by the next full check
      if (state === "failed") throw new ShardFailedError(shard.id, job.attemptsMade, job.failedReason);
      const r = job.returnvalue;
      if (r.id !== shard.id)
        throw new ShardFailedError(shard.id, job.attemptsMade, `the worker returned shard ${r.id}`);
      results.add(r);
      await job.remove().catch(() => undefined);
    }
    return lost;
  }

  /** Removes the sweep's waiting shards (cancelled or failed); shards running now finish and their jobs expire. */
  private async removePending(sweepId: string, plan: readonly Shard[], results: ShardResults): Promise<void> {
    for (const shard of plan)
      if (!results.has(shard.id)) await this.queue.remove(shardJobId(sweepId, shard.id)).catch(() => 0);
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
    this.eventsConnection.disconnect();
    this.connection.disconnect();
  }
}
