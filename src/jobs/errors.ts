// The jobs layer's typed errors: a bad spec, a shard that kept failing, a cancelled sweep.
import { TlensError } from "../errors.js";

/** A job spec (or a shard of one) that is malformed or names something unknown; the message says which field. */
export class SpecError extends TlensError {}

/** A shard that failed on every attempt: its id, the attempts made and the last error. */
export class ShardFailedError extends TlensError {
  constructor(readonly shardId: string, readonly attempts: number, readonly reason: string) {
    super(`shard ${shardId} failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${reason}`);
  }
}

/** The sweep was cancelled (its AbortSignal fired) before every shard was done. */
export class SweepCancelledError extends TlensError {}
