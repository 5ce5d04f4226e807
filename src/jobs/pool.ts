// The local pool: `workers` child processes, each loading the model once and running shards sent over IPC, the
// native threads of this process divided between them. A shard whose process dies is retried on a fresh one.
import { fork, type ChildProcess } from "node:child_process";
import { TlensError } from "../errors.js";
import { ShardFailedError, SweepCancelledError } from "./errors.js";
import { progressTracker, type Executor, type RunOptions } from "./executor.js";
import { mergeResults, ShardResults, type SweepResult } from "./merge.js";
import type { PoolReply } from "./pool-protocol.js";
import { processThreads, siblingModule, workerEnv } from "./processes.js";
import { planShards, type Shard } from "./shards.js";
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

interface Slot {
  child: ChildProcess;
  busy: { run: PoolRun; shard: Shard } | null;
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

export class PoolExecutor implements Executor {
  private readonly slots: Slot[] = [];
  private current: PoolRun | null = null;
  private closed = false;

  constructor(private readonly opts: PoolOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new TlensError(`PoolExecutor: workers must be an integer ≥ 1, got ${opts.workers}`);
    for (let i = 0; i < opts.workers; i++) this.slots.push(this.spawn());
  }

  /** The worker processes' ids (a worker that died is replaced by a fresh one). */
  get pids(): number[] {
    return this.slots.map((s) => s.child.pid ?? -1);
  }

  private spawn(): Slot {
    const { file, execArgv } = siblingModule("pool-child");
    const threads = this.opts.threadsPerWorker ?? Math.max(1, Math.floor(processThreads() / this.opts.workers));
    const env = { ...workerEnv(threads), TLENS_TASK_MODULES: JSON.stringify(this.opts.taskModules ?? []) };
    const child = fork(file, [], { execArgv, env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const slot: Slot = { child, busy: null };
    child.on("message", (m: PoolReply) => this.onReply(slot, m));
    child.on("exit", (code, signal) => this.onExit(slot, code, signal));
    return slot;
  }

  private onReply(slot: Slot, m: PoolReply): void {
    const busy = slot.busy;
    slot.busy = null;
    if (busy && busy.shard.id === m.id && !busy.run.finished) {
      const run = busy.run;
      if ("result" in m) {
        run.results.add(m.result);
        run.progress(run.results.size);
        if (run.results.size === run.total) run.finish(null);
      } else if ("error" in m) {
        this.failed(run, busy.shard, m.error, m.unrecoverable);
      }
    }
    this.dispatch();
  }

  private onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.closed) return;
    const replacement = this.spawn();
    this.slots[i] = replacement;
    if (slot.busy && !slot.busy.run.finished) {
      this.failed(slot.busy.run, slot.busy.shard, `worker process exited (${signal ?? `code ${code}`})`, false);
    }
    this.dispatch();
  }

  private failed(run: PoolRun, shard: Shard, error: string, unrecoverable: boolean): void {
    const tries = (run.tries.get(shard.id) ?? 0) + 1;
    run.tries.set(shard.id, tries);
    if (unrecoverable || tries >= (this.opts.attempts ?? 3)) run.finish(new ShardFailedError(shard.id, tries, error));
    else run.pending.unshift(shard);
  }

  /** Sends pending shards of the current run to idle workers. */
  private dispatch(): void {
    const run = this.current;
    if (!run || run.finished) return;
    for (const slot of this.slots) {
      if (slot.busy || !slot.child.connected) continue;
      const shard = run.pending.shift();
      if (!shard) return;
      slot.busy = { run, shard };
      slot.child.send({ id: shard.id, spec: run.spec, shard });
    }
  }

  run(spec: SweepSpec, opts: RunOptions = {}): Promise<SweepResult> {
    if (this.closed) return Promise.reject(new TlensError("PoolExecutor: the pool is closed"));
    if (this.current && !this.current.finished) return Promise.reject(new TlensError("PoolExecutor: one sweep at a time"));
    const plan = planShards(spec);
    return new Promise<SweepResult>((resolve, reject) => {
      const onAbort = (): void => run.finish(new SweepCancelledError(`sweep cancelled after ${run.results.size} of ${plan.length} shards`));
      const run: PoolRun = {
        spec, pending: [...plan], tries: new Map(), results: new ShardResults(), total: plan.length, finished: false,
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
    await Promise.all(this.slots.map((s) => new Promise<void>((done) => {
      if (s.child.exitCode !== null || s.child.signalCode !== null) return done();
      s.child.once("exit", () => done());
      s.child.disconnect?.();
    })));
  }
}
