// Faults on a real Redis with real `tlens worker` processes: a worker SIGKILLed mid-shard, Redis restarted (empty)
// mid-sweep, poisoned jobs beside a good sweep. Each time the sweep still equals the in-process result bit for bit.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  InProcessExecutor,
  QueueExecutor,
  ShardFailedError,
  validateSpec,
  type SweepResult,
} from "../../src/jobs/index.js";
import { RedisServer, startWorker, stopProcess, waitForLine } from "./helpers.js";

const SPEC = validateSpec({
  model: {
    random: {
      seed: 5,
      config: {
        nLayers: 2,
        dModel: 32,
        nHeads: 4,
        dHead: 8,
        dMlp: 64,
        dVocab: 128,
        nCtx: 64,
        actFn: "gelu_new",
        normalizationType: "LNPre",
      },
    },
  },
  task: { name: "induction", pairs: 12, seed: 4, options: { seqLen: 12 } },
  sweep: ["resid_pre", "head_out"],
  shard: { pairsPerShard: 2 },
});
const SPEC_FILE = join(mkdtempSync(join(tmpdir(), "tlens-spec-")), "spec.json");
writeFileSync(SPEC_FILE, JSON.stringify(SPEC));
// workers preload the spec's model; a dead worker's lock expires after 1 s
const FAST_LOCKS = ["--spec", SPEC_FILE, "--lock-ms", "1000"];
const bits = (r: SweepResult): string => JSON.stringify(r);

let reference: SweepResult;
beforeAll(async () => {
  reference = await new InProcessExecutor().run(SPEC);
}, 60_000);

let redis: RedisServer | null = null;
const procs: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => stopProcess(p, "SIGKILL")));
  await redis?.stop();
  redis = null;
});

describe("queue faults", () => {
  it("a worker SIGKILLed mid-shard: the shard goes back to the queue and another worker runs it", async () => {
    redis = await RedisServer.start();
    const doomed = await startWorker(redis.url, "kill", FAST_LOCKS);
    procs.push(doomed);
    const q = new QueueExecutor({ url: redis.url, queueName: "kill" });
    try {
      const run = q.run(SPEC);
      const started = await waitForLine(doomed, /shard \S+ started/);
      doomed.kill("SIGKILL");
      const shard = /shard (\S+) started/.exec(started)![1]!;
      const rescuer = await startWorker(redis.url, "kill", FAST_LOCKS);
      procs.push(rescuer);
      const rerun = waitForLine(rescuer, new RegExp(`shard ${shard.replace(/\./g, "\\.")} started`));
      expect(bits(await run)).toBe(bits(reference));
      await rerun; // the killed worker's shard was run again, by the other worker
    } finally {
      await q.close();
    }
  }, 120_000);

  it("Redis restarted mid-sweep, its data gone: lost shards are re-added, nothing is lost or counted twice", async () => {
    redis = await RedisServer.start();
    const worker = await startWorker(redis.url, "restart", FAST_LOCKS);
    procs.push(worker);
    const q = new QueueExecutor({ url: redis.url, queueName: "restart" });
    try {
      let finished = false;
      const run = q.run(SPEC).finally(() => {
        finished = true;
      });
      await waitForLine(worker, /shard \S+ done/);
      await redis.restart();
      expect(finished).toBe(false); // the restart happened mid-sweep
      const after = waitForLine(worker, /shard \S+ started/);
      expect(bits(await run)).toBe(bits(reference));
      await after; // the worker reconnected and took the re-added shards
    } finally {
      await q.close();
    }
  }, 120_000);

  it("a shard longer than the lock is not taken from a live worker (locks are renewed while it computes)", async () => {
    redis = await RedisServer.start();
    // toy-ioi resid_pre over 8 pairs, one patch per stacked forward: over a second per shard on a quiet machine,
    // against locks of LOCK_MS, so each shard outlives several lock terms and lives only if its lock is renewed
    const LOCK_MS = 150;
    const slow = validateSpec({
      model: { name: "toy-ioi" },
      task: { name: "ioi", pairs: 16, seed: 1 },
      sweep: ["resid_pre"],
      shard: { pairsPerShard: 8 },
      maxRows: 48,
    });
    const file = join(mkdtempSync(join(tmpdir(), "tlens-spec-")), "slow.json");
    writeFileSync(file, JSON.stringify(slow));
    const logs = ["", ""];
    for (let i = 0; i < 2; i++) {
      const w = await startWorker(redis.url, "slow", ["--spec", file, "--lock-ms", String(LOCK_MS)]);
      w.stderr!.on("data", (d: Buffer) => {
        logs[i] += d.toString();
      });
      procs.push(w);
    }
    const q = new QueueExecutor({ url: redis.url, queueName: "slow" });
    try {
      const t0 = performance.now();
      await q.run(slow);
      expect(performance.now() - t0).toBeGreaterThan(6 * LOCK_MS); // the shards outlived several lock terms
    } finally {
      await q.close();
    }
    const starts = (logs[0]! + logs[1]!).match(/shard \S+ started/g) ?? [];
    expect(starts).toHaveLength(2); // each shard ran once
    expect(logs.join("")).not.toMatch(/Missing lock|Lock mismatch|stalled/);
  }, 120_000);

  it("a shard that throws on every attempt is reported with its error after the attempts", async () => {
    redis = await RedisServer.start();
    procs.push(await startWorker(redis.url, "fails", ["--tasks", "test/jobs/fixtures/tasks.ts", "--lock-ms", "1000"]));
    const q = new QueueExecutor({ url: redis.url, queueName: "fails", attempts: 2 });
    try {
      const spec = validateSpec({
        ...SPEC,
        task: { name: "fails-late", pairs: 4, options: { seqLen: 4 } },
        sweep: ["head_out"],
      });
      const e = await q.run(spec).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ShardFailedError);
      expect((e as Error).message).toMatch(
        /^shard head_out.2-4 failed after 2 attempts: .*fails-late: no pairs from 2 on \(asked for 2-4\)/,
      );
    } finally {
      await q.close();
    }
  }, 120_000);

  it("poisoned jobs fail at once with a clear error while the queue's other jobs go on", async () => {
    redis = await RedisServer.start();
    const worker = await startWorker(redis.url, "poison", FAST_LOCKS);
    procs.push(worker);
    const raw = new Queue("poison", { connection: { host: "127.0.0.1", port: redis.port } });
    const q = new QueueExecutor({ url: redis.url, queueName: "poison" });
    try {
      await raw.add(
        "junk",
        { sweepId: "x", spec: { model: "gpt2", sweep: "all" }, shard: 1 },
        { jobId: "junk", attempts: 3 },
      );
      await raw.add(
        "unknown-task",
        {
          sweepId: "y",
          spec: { ...SPEC, task: { name: "nope", pairs: 2 } },
          shard: { kind: "head_out", start: 0, end: 2 },
        },
        { jobId: "unknown-task", attempts: 3 },
      );
      await raw.add(
        "other-model",
        { sweepId: "z", spec: { ...SPEC, model: { name: "toy-ioi" } }, shard: { kind: "head_out", start: 0, end: 2 } },
        { jobId: "other-model", attempts: 3 },
      );
      expect(bits(await q.run(SPEC))).toBe(bits(reference));
      const failed = async (id: string) => {
        const job = (await raw.getJob(id))!;
        return { state: await job.getState(), attempts: job.attemptsMade, reason: job.failedReason };
      };
      expect(await failed("junk")).toEqual({
        state: "failed",
        attempts: 1,
        reason: 'refused: model: expected an object, got the string "gpt2"',
      });
      expect(await failed("unknown-task")).toEqual({
        state: "failed",
        attempts: 1,
        reason: expect.stringMatching(/^refused: task.name: unknown task "nope"/),
      });
      expect(await failed("other-model")).toEqual({
        state: "failed",
        attempts: 1,
        reason: expect.stringMatching(
          /^refused: this worker serves model .*"random".*, the job asks for \{"name":"toy-ioi"\}/,
        ),
      });
    } finally {
      await q.close();
      await raw.close();
    }
  }, 120_000);
});
