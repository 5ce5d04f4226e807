// Messages between the pool executor and its worker processes.
import type { Shard, ShardResult } from "./shards.js";
import type { SweepSpec } from "./spec.js";

export interface PoolRequest {
  id: string;
  spec: SweepSpec;
  shard: Shard;
}

export type PoolReply = { id: string; result: ShardResult } | { id: string; error: string; unrecoverable: boolean };
