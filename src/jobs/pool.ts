// The local pool: `workers` shard processes, each loading the model once and keeping it between shards and sweeps,
// the native threads of this process divided between them. Idle workers take the next shard; a shard that throws
// or whose process dies is retried (a dead process is replaced by a fresh one).
import { JobError, ShardFailedError, SpecError, SweepCancelledError } from "./errors.js";
import { progressTracker, type Executor, type RunOptions } from "./executor.js";
import { mergeResults, ShardResults, type SweepResult } from "./merge.js";
import { processThreads, workerEnv } from "./processes.js";
import { ShardProcess } from "./shard-process.js";
import { planShards, type Shard, type ShardResult } from "./shards.js";
import type { SweepSpec } from "./spec.js";

export interface PoolOptions {
  workers: number;
  /** Native threads per worker (default: this process's threads divided among the workers, at least 1). */
  threadsPerWorker?: number;
  /** Modules each worker imports first (they register tasks). */
  taskModules?: string[];
  /** Attempts per shard when it throws or its process dies (default 3). */
  attempts?: number;
}

/** One sweep on the pool: the shards left, their attempts, the results so far. */
interface PoolRun {
  spec: SweepSpec;
  pending: Shard[];
  tries: Map<string, number>;
  results: ShardResults;
  total: number;
  finished: boolean;
  progress: (done: number) => void;
  finish: (error: Error | null) => void;
}

/** A pool of worker processes on this machine, each loading the model once, native threads divided between them;
 *  a worker killed mid-shard has its shard retried. */
export class PoolExecutor implements Executor {
  private readonly procs: ShardProcess[];
  private readonly idle: ShardProcess[];
  private current: PoolRun | null = null;
  private closed = false;

  constructor(private readonly opts: PoolOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1)
      throw new JobError(`PoolExecutor: workers must be an integer ≥ 1, got ${opts.workers}`);
    const threads = opts.threadsPerWorker ?? Math.max(1, Math.floor(processThreads() / opts.workers));
    this.procs = Array.from(
      { length: opts.workers },
      () => new ShardProcess(opts.taskModules ?? [], workerEnv(threads)),
    );
    this.idle = [...this.procs];
  }

  /** The worker processes' ids (a worker that died is replaced by a fresh process at its next shard). */
  get pids(): (number | undefined)[] {
    return this.procs.map((p) => p.pid);
  }

  /** Sends pending shards of the current run to idle workers. */
  private dispatch(): void {
    const run = this.current;
    while (run && !run.finished && run.pending.length && this.idle.length) {
      const proc = this.idle.shift()!;
      const shard = run.pending.shift()!;
      proc
        .run(run.spec, shard)
        .then(
          (r) => this.done(run, r),
          (e: unknown) => this.failed(run, shard, e),
        )
        .finally(() => {
          this.idle.push(proc);
          this.dispatch();
        });
    }
  }

  private done(run: PoolRun, r: ShardResult): void {
    if (run.finished) return;
    run.results.add(r);
    run.progress(run.results.size);
    if (run.results.size === run.total) run.finish(null);
  }

  private failed(run: PoolRun, shard: Shard, e: unknown): void {
    if (run.finished) return;
    const tries = (run.tries.get(shard.id) ?? 0) + 1;
    run.tries.set(shard.id, tries);
    const reason = e instanceof Error ? e.message : String(e);
    if (e instanceof SpecError || tries >= (this.opts.attempts ?? 3))
      run.finish(new ShardFailedError(shard.id, tries, reason));
    else run.pending.unshift(shard);
  }

  run(spec: SweepSpec, opts: RunOptions = {}): Promise<SweepResult> {
    if (this.closed) return Promise.reject(new JobError("PoolExecutor: the pool is closed"));
    if (this.current && !this.current.finished)
      return Promise.reject(new JobError("PoolExecutor: one sweep at a time"));
    const plan = planShards(spec);
    return new Promise<SweepResult>((resolve, reject) => {
      const onAbort = (): void =>
        run.finish(new SweepCancelledError(`sweep cancelled after ${run.results.size} of ${plan.length} shards`));
      const run: PoolRun = {
        spec,
        pending: [...plan],
        tries: new Map(),
        results: new ShardResults(),
        total: plan.length,
        finished: false,
        progress: progressTracker(plan.length, opts.onProgress),
        finish: (error) => {
          if (run.finished) return;
          run.finished = true;
          opts.signal?.removeEventListener("abort", onAbort);
          if (error) reject(error);
          else resolve(mergeResults(spec, plan, run.results));
        },
      };
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener("abort", onAbort);
      this.current = run;
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.current?.finish(new SweepCancelledError("the pool was closed"));
    await Promise.all(this.procs.map((p) => p.close()));
  }
}
