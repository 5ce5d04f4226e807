// The one interface every executor implements, and the progress it reports.
import type { SweepResult } from "./merge.js";
import type { SweepSpec } from "./spec.js";

export interface SweepProgress {
  done: number;
  total: number;
  elapsedMs: number;
  /** Estimated time to the last shard from the pace so far (null before the first shard is done). */
  etaMs: number | null;
}

export interface RunOptions {
  /** Called as shards finish: done, total, elapsed and ETA. */
  onProgress?: (p: SweepProgress) => void;
  /** Cancels the sweep: pending shards are dropped and run() rejects with SweepCancelledError. */
  signal?: AbortSignal;
}

export interface Executor {
  /** Runs every shard of the spec and merges them (equal, bit for bit, to any other executor's result). */
  run(spec: SweepSpec, opts?: RunOptions): Promise<SweepResult>;
  /** Releases processes and connections. */
  close(): Promise<void>;
}

/** A progress callback fed with the count of shards done: elapsed time and ETA from the start, on each change. */
export function progressTracker(total: number, onProgress?: (p: SweepProgress) => void): (done: number) => void {
  const t0 = performance.now();
  let last = -1;
  return (done) => {
    if (done === last) return; // report changes only (the queue executor reports after each check)
    last = done;
    const elapsedMs = performance.now() - t0;
    onProgress?.({ done, total, elapsedMs, etaMs: done ? (elapsedMs / done) * (total - done) : null });
  };
}
