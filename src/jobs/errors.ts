// The jobs layer's typed errors: a bad spec, a shard that kept failing, a cancelled sweep, an executor misused.
import { TlensError } from "../errors.js";

/** The jobs layer's errors; thrown as itself for an executor used out of its contract (workers < 1, a closed pool,
 *  two sweeps at once), a shard process that died or failed a shard, shard results that do not merge. */
export class JobError extends TlensError {
  override name = "JobError";
}

/** A job spec (or a shard of one) that is malformed or names something unknown; the message says which field. */
export class SpecError extends JobError {
  override name = "SpecError";
}

/** A shard that failed on every attempt: its id, the attempts made and the last error. */
export class ShardFailedError extends JobError {
  override name = "ShardFailedError";
  constructor(
    readonly shardId: string,
    readonly attempts: number,
    readonly reason: string,
  ) {
    super(`shard ${shardId} failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${reason}`);
  }
}

/** The sweep was cancelled (its AbortSignal fired) before every shard was done. */
export class SweepCancelledError extends JobError {
  override name = "SweepCancelledError";
}
