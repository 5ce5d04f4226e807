// Messages between a parent (the pool executor, a queue worker) and its shard processes (pool-child.ts).
import type { Shard, ShardResult } from "./shards.js";
import type { ModelSpec, SweepSpec } from "./spec.js";

/** Run a shard, or load a model ahead of the first shard. */
export type PoolRequest = { id: string; spec: SweepSpec; shard: Shard } | { id: string; load: ModelSpec };

export type PoolReply =
  | { id: string; result: ShardResult }
  | { id: string; loaded: true }
  | { id: string; error: string; unrecoverable: boolean };
