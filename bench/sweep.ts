// `npm run bench -- sweep [pairs] [pairsPerShard]`: the resid_pre + head_out patching sweeps of the patching bench, as
// a job spec over IOI prompt pairs (default 64, 8 per shard) on the GPT-2-small-shaped random model, run in-process, on a local
// pool of 2 workers and on a BullMQ queue (a local redis-server on 127.0.0.1) with 2 `tlens worker` processes.
// Every executor has its model(s) loaded before it is timed. `exact`: the three results are equal bit for bit.
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getBackend } from "../src/index.js";
import { InProcessExecutor, PoolExecutor, QueueExecutor, validateSpec, type Executor, type SweepResult, type SweepSpec } from "../src/jobs/index.js";
import { processThreads } from "../src/jobs/processes.js";
import { RedisServer, startWorker, stopProcess } from "../test/jobs/helpers.js";
import { GPT2_SMALL_SHAPE } from "./random-model.js";

const WORKERS = 2;

function spec(pairs: number, pairsPerShard: number): SweepSpec {
  return validateSpec({
    model: { random: { config: { ...GPT2_SMALL_SHAPE }, seed: 0 } }, task: { name: "ioi", pairs, seed: 1 },
    sweep: ["resid_pre", "head_out"], shard: { pairsPerShard }, maxRows: 4096,
  });
}

async function timed(ex: Executor, s: SweepSpec): Promise<[SweepResult, number]> {
  const t = performance.now();
  const r = await ex.run(s);
  return [r, performance.now() - t];
}

/** A warm-up sweep of one shard per worker, so that every worker has loaded the model. */
const warmUp = (): SweepSpec => spec(WORKERS, 1);

export async function main(args: string[]): Promise<void> {
  const pairs = Number(args[0] ?? 64);
  const perShard = Number(args[1] ?? 8);
  const s = spec(pairs, perShard);
  const threads = processThreads();
  console.log(`backend: ${getBackend().name}, ${threads} threads; ${pairs} IOI pairs, ${s.sweep.join(" + ")}, ${perShard} pairs per shard`);

  const inproc = new InProcessExecutor();
  await inproc.run(spec(1, 1));
  const [a, inprocessMs] = await timed(inproc, s);
  console.log(`in-process: ${inprocessMs.toFixed(0)} ms`);

  const pool = new PoolExecutor({ workers: WORKERS });
  await pool.run(warmUp());
  const [b, poolMs] = await timed(pool, s);
  await pool.close();
  console.log(`pool (${WORKERS} workers × ${Math.max(1, Math.floor(threads / WORKERS))} threads): ${poolMs.toFixed(0)} ms`);

  const redis = await RedisServer.start();
  const specFile = join(mkdtempSync(join(tmpdir(), "tlens-bench-sweep-")), "spec.json");
  writeFileSync(specFile, JSON.stringify(s));
  const env = { TLENS_NUM_THREADS: String(Math.max(1, Math.floor(threads / WORKERS))) };
  const workers = await Promise.all(Array.from({ length: WORKERS }, () => startWorker(redis.url, "bench", ["--spec", specFile], { env, readyMs: 900_000 })));
  const queue = new QueueExecutor({ url: redis.url, queueName: "bench" });
  let c: SweepResult;
  let queueMs: number;
  try {
    [c, queueMs] = await timed(queue, s);
  } finally {
    await queue.close();
    await Promise.all(workers.map((w) => stopProcess(w)));
    await redis.stop();
  }
  console.log(`queue (${WORKERS} tlens workers): ${queueMs.toFixed(0)} ms`);
  const exact = JSON.stringify(a) === JSON.stringify(b) && JSON.stringify(a) === JSON.stringify(c);
  console.log(`pool / in-process ${(poolMs / inprocessMs).toFixed(2)}, queue / in-process ${(queueMs / inprocessMs).toFixed(2)}, exact: ${exact}`);
  console.log("RESULT " + JSON.stringify({
    bench: "sweep", backend: getBackend().name, threads, pairs, pairs_per_shard: perShard, shards: a.shards, workers: WORKERS,
    inprocess_ms: inprocessMs, pool_ms: poolMs, queue_ms: queueMs, queue_overhead: queueMs / inprocessMs - 1, exact,
  }));
}
