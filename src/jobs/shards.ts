// Shards: one sweep grid over one range of prompt pairs. Every executor runs the same shards through runShard, and
// merge.ts combines them in shard order, so a result is the same bit for bit whichever executor computed it.
import type { HookedTransformer } from "../model/hooked-transformer.js";
import { SpecError } from "./errors.js";
import { SWEEP_KINDS, type SweepKind } from "./kinds.js";
import { intField, type SweepSpec } from "./spec.js";
import type { TaskInstance } from "./tasks.js";

export const DEFAULT_PAIRS_PER_SHARD = 8;

/** A shard: the grid `kind` over the pairs [start, end). */
export interface Shard {
  id: string;
  kind: SweepKind;
  start: number;
  end: number;
}

/** A shard's grid: the patching function's result over its pairs, row-major with `shape`. */
export interface ShardResult {
  id: string;
  kind: SweepKind;
  start: number;
  end: number;
  shape: number[];
  values: number[];
}

export function shardId(kind: SweepKind, start: number, end: number): string {
  return `${kind}.${start}-${end}`;
}

/** The spec's shards: kinds in spec order, pair ranges in order within each. */
export function planShards(spec: SweepSpec): Shard[] {
  const nPairs = spec.task.pairs;
  const per = spec.shard?.pairsPerShard ?? DEFAULT_PAIRS_PER_SHARD;
  const shards: Shard[] = [];
  for (const kind of spec.sweep) {
    for (let start = 0; start < nPairs; start += per) {
      const end = Math.min(nPairs, start + per);
      shards.push({ id: shardId(kind, start, end), kind, start, end });
    }
  }
  return shards;
}

/** A shard from a job's data, checked against the task's pair count (a worker refuses anything else). */
export function validateShard(v: unknown, nPairs: number): Shard {
  if (typeof v !== "object" || v === null) throw new SpecError("shard: expected an object { kind, start, end }");
  const s = v as { [key: string]: unknown };
  if (typeof s.kind !== "string" || !Object.hasOwn(SWEEP_KINDS, s.kind))
    throw new SpecError(`shard.kind: unknown grid ${JSON.stringify(s.kind)}`);
  const start = intField(s.start, "shard.start", 0, nPairs - 1);
  const end = intField(s.end, "shard.end", start + 1, nPairs);
  const kind = s.kind as SweepKind;
  return { id: shardId(kind, start, end), kind, start, end };
}

/** Runs one shard: the task's clean run over the shard's pairs, then the patching function of its grid. */
export async function runShard(
  model: HookedTransformer,
  task: TaskInstance,
  spec: SweepSpec,
  shard: Shard,
): Promise<ShardResult> {
  const block = task.block(shard.start, shard.end);
  const [, cleanCache] = await model.runWithCache(block.clean);
  const grid = await SWEEP_KINDS[shard.kind].fn(model, block.corrupted, cleanCache, block.metric, {
    metricPositions: block.metricPositions,
    maxRows: spec.maxRows,
    progressBar: false,
  });
  return { ...shard, shape: [...grid.shape], values: Array.from(grid.dataSync()) };
}
