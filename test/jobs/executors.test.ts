// Exactness: the local pool and the BullMQ queue (real redis-server, real `tlens worker` processes) give the
// in-process result bit for bit; a user task module runs on pool workers; cancel stops a sweep.
import type { ChildProcess } from "node:child_process";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  InProcessExecutor,
  loadTaskModules,
  PoolExecutor,
  QueueExecutor,
  ShardFailedError,
  validateSpec,
  type SweepResult,
} from "../../src/jobs/index.js";
import { RedisServer, startWorker, stopProcess } from "./helpers.js";
import { TINY } from "./tiny-model.js";

const IOI = validateSpec({
  model: { name: "toy-ioi" },
  task: { name: "ioi", pairs: 6, seed: 1 },
  sweep: ["resid_pre", "head_out"],
  shard: { pairsPerShard: 2 },
});
const bits = (r: SweepResult): string => JSON.stringify(r);

let reference: SweepResult;
beforeAll(async () => {
  reference = await new InProcessExecutor().run(IOI);
}, 120_000);

describe("local pool", () => {
  it("equals the in-process result bit for bit with 2 workers, and runs task modules", async () => {
    const pool = new PoolExecutor({ workers: 2, taskModules: ["test/jobs/fixtures/tasks.ts"] });
    try {
      expect(bits(await pool.run(IOI))).toBe(bits(reference));
      await loadTaskModules(["test/jobs/fixtures/tasks.ts"]); // for the in-process run
      const user = validateSpec({
        model: TINY,
        task: { name: "induction-ends", pairs: 4, options: { seqLen: 4 } },
        sweep: ["head_out"],
        shard: { pairsPerShard: 1 },
      });
      expect(bits(await pool.run(user))).toBe(bits(await new InProcessExecutor().run(user)));
    } finally {
      await pool.close();
    }
  }, 120_000);

  it("retries the shard of a worker process SIGKILLed mid-shard on a fresh process, still exact", async () => {
    const pool = new PoolExecutor({ workers: 2 });
    try {
      const before = pool.pids;
      const victim = before[0];
      if (victim === undefined) throw new Error("the pool's first worker has no process");
      let killed = false;
      const result = await pool.run(IOI, {
        onProgress: (p) => {
          if (killed) return;
          killed = true;
          process.kill(victim, "SIGKILL"); // it holds its next shard by now
        },
      });
      expect(bits(result)).toBe(bits(reference));
      expect(pool.pids[0]).not.toBe(before[0]);
      expect(pool.pids[1]).toBe(before[1]);
    } finally {
      await pool.close();
    }
  }, 120_000);

  it("reports a shard that throws on every attempt, with its error", async () => {
    const pool = new PoolExecutor({ workers: 1, taskModules: ["test/jobs/fixtures/tasks.ts"], attempts: 2 });
    try {
      const spec = validateSpec({
        model: TINY,
        task: { name: "fails-late", pairs: 4, options: { seqLen: 4 } },
        sweep: ["head_out"],
        shard: { pairsPerShard: 2 },
      });
      const e = await pool.run(spec).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ShardFailedError);
      expect((e as ShardFailedError).message).toMatch(
        /^shard head_out.2-4 failed after 2 attempts: .*fails-late: no pairs from 2 on/,
      );
    } finally {
      await pool.close();
    }
  }, 60_000);
});

describe("queue on a real Redis", () => {
  let redis: RedisServer;
  const workers: ChildProcess[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start();
    for (let i = 0; i < 2; i++) workers.push(await startWorker(redis.url, "exact", ["--model", "toy-ioi"]));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => stopProcess(w)));
    await redis?.stop();
  });

  it("equals the in-process result bit for bit with 2 workers, reporting progress", async () => {
    const q = new QueueExecutor({ url: redis.url, queueName: "exact" });
    const done: number[] = [];
    try {
      expect(bits(await q.run(IOI, { onProgress: (p) => done.push(p.done) }))).toBe(bits(reference));
    } finally {
      await q.close();
    }
    expect(done.at(-1)).toBe(6);
    expect(done).toEqual([...done].sort((a, b) => a - b));
  }, 120_000);

  it("cancels: pending shards are removed and run() rejects", async () => {
    const q = new QueueExecutor({ url: redis.url, queueName: "exact" });
    const abort = new AbortController();
    try {
      const run = q.run(IOI, {
        signal: abort.signal,
        onProgress: (p) => {
          if (p.done >= 1) abort.abort();
        },
      });
      await expect(run).rejects.toThrow(/^sweep cancelled after [1-5] of 6 shards$/);
      const raw = new Queue("exact", { connection: { host: "127.0.0.1", port: redis.port } });
      expect(await raw.getJobCounts("waiting", "delayed", "prioritized")).toMatchObject({
        waiting: 0,
        delayed: 0,
        prioritized: 0,
      });
      await raw.close();
    } finally {
      await q.close();
    }
  }, 120_000);
});
