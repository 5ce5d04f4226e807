// `npm run bench -- sweep [pairs] [pairsPerShard]`: the resid_pre + head_out patching sweeps of the patching bench, as
// a job spec over IOI prompt pairs (default 64, 8 per shard) on the GPT-2-small-shaped random model, run in-process, on a local
// pool of 2 workers and on a BullMQ queue (a local redis-server on 127.0.0.1) with 2 `tlens worker` processes.
// The sweep times (inprocess_ms, pool_ms, queue_ms) count the sweep only: every executor has its model(s) loaded
// first, and that load is reported apart (load_ms). `exact`: the three results are equal bit for bit.
// Breakdown: each worker's native threads (the process's threads divided between the workers), the in-process
// per-shard times (the granularity the workers balance), and the JSON round trip of one shard-sized result.
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backend } from "../src/index.js";
import {
  InProcessExecutor,
  PoolExecutor,
  QueueExecutor,
  validateSpec,
  type Executor,
  type SweepProgress,
  type SweepResult,
  type SweepSpec,
} from "../src/jobs/index.js";
import { processThreads } from "../src/jobs/processes.js";
import { RedisServer, startWorker, stopProcess } from "../test/jobs/helpers.js";
import { GPT2_SMALL_SHAPE } from "./random-model.js";

const WORKERS = 2;

function spec(pairs: number, pairsPerShard: number): SweepSpec {
  return validateSpec({
    model: { random: { config: { ...GPT2_SMALL_SHAPE }, seed: 0 } },
    task: { name: "ioi", pairs, seed: 1 },
    sweep: ["resid_pre", "head_out"],
    shard: { pairsPerShard },
    maxRows: 4096,
  });
}

async function timeMs(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

/** Runs the sweep, timed; `shardMs` gets each shard's time when the executor runs them one after the other. */
async function timed(ex: Executor, s: SweepSpec, shardMs?: number[]): Promise<[SweepResult, number]> {
  let last = 0;
  const onProgress = (p: SweepProgress): void => {
    shardMs?.push(p.elapsedMs - last);
    last = p.elapsedMs;
  };
  const t = performance.now();
  const r = await ex.run(s, { onProgress });
  return [r, performance.now() - t];
}

/** A warm-up sweep of one shard per worker, so that every worker has loaded the model. */
const warmUp = (): SweepSpec => spec(WORKERS, 1);

/** Mean ms of a JSON round trip (what IPC and Redis do to a shard's result) of a result with one grid's size. */
function serialiseMs(r: SweepResult): { ms: number; bytes: number } {
  const grid = Object.values(r.grids)[0]!;
  const shard = { id: "resid_pre.0-8", kind: "resid_pre", start: 0, end: 8, shape: grid.shape, values: grid.values };
  const reps = 200;
  let bytes = 0;
  const t = performance.now();
  for (let i = 0; i < reps; i++) bytes = JSON.stringify(JSON.parse(JSON.stringify(shard))).length;
  return { ms: (performance.now() - t) / reps, bytes };
}

async function runQueue(
  s: SweepSpec,
  threadsPerWorker: number,
): Promise<{ result: SweepResult; ms: number; loadMs: number }> {
  const redis = await RedisServer.start();
  const specFile = join(mkdtempSync(join(tmpdir(), "tlens-bench-sweep-")), "spec.json");
  writeFileSync(specFile, JSON.stringify(s));
  const env = { TLENS_NUM_THREADS: String(threadsPerWorker) };
  const t = performance.now();
  // each worker loads the spec's model before it reports ready
  const workers = await Promise.all(
    Array.from({ length: WORKERS }, () =>
      startWorker(redis.url, "bench", ["--spec", specFile], { env, readyMs: 900_000 }),
    ),
  );
  const loadMs = performance.now() - t;
  const queue = new QueueExecutor({ url: redis.url, queueName: "bench" });
  try {
    const [result, ms] = await timed(queue, s);
    return { result, ms, loadMs };
  } finally {
    await queue.close();
    await Promise.all(workers.map((w) => stopProcess(w)));
    await redis.stop();
  }
}

export async function main(args: string[]): Promise<void> {
  const pairs = Number(args[0] ?? 64);
  const perShard = Number(args[1] ?? 8);
  const s = spec(pairs, perShard);
  const threads = processThreads();
  const threadsPerWorker = Math.max(1, Math.floor(threads / WORKERS));
  console.log(
    `backend: ${backend.getBackend().name}, ${threads} threads; ${pairs} IOI pairs, ${s.sweep.join(" + ")}, ${perShard} pairs per shard`,
  );

  const inproc = new InProcessExecutor();
  const inprocLoadMs = await timeMs(() => inproc.run(spec(1, 1)));
  const shardMs: number[] = [];
  const [a, inprocessMs] = await timed(inproc, s, shardMs);
  console.log(
    `in-process: ${inprocessMs.toFixed(0)} ms (shards ${Math.min(...shardMs).toFixed(0)}-${Math.max(...shardMs).toFixed(0)} ms)`,
  );

  const pool = new PoolExecutor({ workers: WORKERS, threadsPerWorker });
  const poolLoadMs = await timeMs(() => pool.run(warmUp()));
  const [b, poolMs] = await timed(pool, s);
  await pool.close();
  console.log(`pool (${WORKERS} workers × ${threadsPerWorker} threads): ${poolMs.toFixed(0)} ms`);

  const q = await runQueue(s, threadsPerWorker);
  console.log(`queue (${WORKERS} tlens workers × ${threadsPerWorker} threads): ${q.ms.toFixed(0)} ms`);
  const exact = JSON.stringify(a) === JSON.stringify(b) && JSON.stringify(a) === JSON.stringify(q.result);
  const ser = serialiseMs(a);
  console.log(
    `pool / in-process ${(poolMs / inprocessMs).toFixed(2)}, queue / in-process ${(q.ms / inprocessMs).toFixed(2)}, exact: ${exact}`,
  );
  console.log(
    `not counted: model load ${inprocLoadMs.toFixed(0)} / ${poolLoadMs.toFixed(0)} / ${q.loadMs.toFixed(0)} ms (in-process / pool / queue, with a first shard); a shard result is ${ser.bytes} B of JSON, ${ser.ms.toFixed(3)} ms a round trip`,
  );
  console.log(
    "RESULT " +
      JSON.stringify({
        bench: "sweep",
        backend: backend.getBackend().name,
        threads,
        threads_per_worker: threadsPerWorker,
        pairs,
        pairs_per_shard: perShard,
        shards: a.shards,
        workers: WORKERS,
        inprocess_ms: inprocessMs,
        pool_ms: poolMs,
        queue_ms: q.ms,
        pool_ratio: poolMs / inprocessMs,
        queue_overhead: q.ms / inprocessMs - 1,
        exact,
        load_ms: { inprocess: inprocLoadMs, pool: poolLoadMs, queue: q.loadMs },
        shard_ms: { min: Math.min(...shardMs), mean: inprocessMs / shardMs.length, max: Math.max(...shardMs) },
        shard_result_bytes: ser.bytes,
        serialise_ms_per_shard: ser.ms,
      }),
  );
}
