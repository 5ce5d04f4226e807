// Redis connections for the queue: one URL (redis://[user:password@]host:port, rediss:// for TLS), commands held
// while Redis is unreachable and replayed once it is back (BullMQ workers require maxRetriesPerRequest null).
import { Redis } from "ioredis";

export const DEFAULT_QUEUE_NAME = "tlens-sweeps";

export function redisConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(50 * times, 1000) });
}

/** The queue's job id of a shard of a sweep (unique per sweep, so a re-added shard replaces nothing). */
export function shardJobId(sweepId: string, shardId: string): string {
  return `${sweepId}.${shardId}`;
}

/** A job's data: the sweep it belongs to, its spec and its shard, all plain JSON. */
export interface ShardJobData {
  sweepId: string;
  spec: unknown;
  shard: unknown;
}
