// What a worker holds between shards: each distinct model loaded once, each task built once per model.
import type { HookedTransformer } from "../model/hooked-transformer.js";
import { SpecError } from "./errors.js";
import { loadSpecModel } from "./model.js";
import { runShard, validateShard, type Shard, type ShardResult } from "./shards.js";
import { canonicalJson, modelKey, validateSpec, type ModelSpec, type SweepSpec } from "./spec.js";
import { buildTask, getTask, type TaskInstance } from "./tasks.js";

/** A job's spec and shard from untrusted data (JSON values), or a SpecError naming what is wrong. */
export function validateJobData(data: unknown): { spec: SweepSpec; shard: Shard } {
  if (typeof data !== "object" || data === null) throw new SpecError("job: expected { spec, shard }");
  const { spec: rawSpec, shard: rawShard } = data as { spec?: unknown; shard?: unknown };
  const spec = validateSpec(rawSpec);
  getTask(spec.task.name);
  return { spec, shard: validateShard(rawShard, spec.task.pairs) };
}

/** Runs the shards of a job spec on one loaded model (what every executor's worker does), deterministically from
 *  the spec, and returns each shard's typed result. */
export class ShardRunner {
  private readonly models = new Map<string, Promise<HookedTransformer>>();
  private readonly tasks = new Map<string, TaskInstance>();

  /** The model of the spec, loaded once per name and processing options and kept. */
  model(spec: ModelSpec): Promise<HookedTransformer> {
    const key = modelKey(spec);
    let m = this.models.get(key);
    if (!m) {
      m = loadSpecModel(spec);
      this.models.set(key, m);
      m.catch(() => this.models.delete(key)); // a failed load is retried by the next job
    }
    return m;
  }

  /** The spec's task built for its model (built once per model and task). */
  async task(spec: SweepSpec): Promise<TaskInstance> {
    const key = canonicalJson([spec.model, spec.task]);
    let t = this.tasks.get(key);
    if (!t) {
      t = buildTask(await this.model(spec.model), spec.task);
      this.tasks.set(key, t);
    }
    return t;
  }

  /** One shard's result: the spec's sweep over the shard's pairs on the loaded model. */
  async run(spec: SweepSpec, shard: Shard): Promise<ShardResult> {
    const model = await this.model(spec.model);
    return runShard(model, await this.task(spec), spec, shard);
  }

  /** Validates untrusted job data (a spec and a shard, as JSON values) and runs it; SpecError when malformed. */
  async runJob(data: unknown): Promise<ShardResult> {
    const { spec, shard } = validateJobData(data);
    return this.run(spec, shard);
  }
}
