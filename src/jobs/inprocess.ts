// The in-process executor: today's path, every shard run in this process one after the other.
import { SweepCancelledError } from "./errors.js";
import { progressTracker, type Executor, type RunOptions } from "./executor.js";
import { mergeResults, ShardResults, type SweepResult } from "./merge.js";
import { ShardRunner } from "./runner.js";
import { planShards } from "./shards.js";
import type { SweepSpec } from "./spec.js";

/** The in-process executor: every shard of a sweep in this process, one after another (the reference the pool
 *  and queue results equal bit for bit). */
export class InProcessExecutor implements Executor {
  constructor(private readonly runner = new ShardRunner()) {}

  async run(spec: SweepSpec, opts: RunOptions = {}): Promise<SweepResult> {
    const plan = planShards(spec);
    const results = new ShardResults();
    const progress = progressTracker(plan.length, opts.onProgress);
    for (const shard of plan) {
      if (opts.signal?.aborted)
        throw new SweepCancelledError(`sweep cancelled after ${results.size} of ${plan.length} shards`);
      results.add(await this.runner.run(spec, shard));
      progress(results.size);
    }
    return mergeResults(spec, plan, results);
  }

  async close(): Promise<void> {}
}
