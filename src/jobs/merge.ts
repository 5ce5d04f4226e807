// Merging shard results: per grid, the pair-weighted mean of its shards' grids, summed in float64 in shard order,
// so a merge of the same shards is exact whatever order they arrived in and whichever process computed them.
import { JobError } from "./errors.js";
import { SWEEP_KINDS, type SweepKind } from "./kinds.js";
import type { Shard, ShardResult } from "./shards.js";
import type { SweepSpec } from "./spec.js";

export interface SweepGrid {
  axes: readonly string[];
  shape: number[];
  /** Row-major values: the metric averaged over every pair. */
  values: number[];
}

export interface SweepResult {
  spec: SweepSpec;
  nPairs: number;
  shards: number;
  grids: Partial<Record<SweepKind, SweepGrid>>;
}

/** Results keyed by shard id: the first result of a shard is kept, a later duplicate ignored. */
export class ShardResults {
  readonly byId = new Map<string, ShardResult>();

  /** Adds a result; false when its shard already had one (a late duplicate from a retried shard). */
  add(r: ShardResult): boolean {
    if (this.byId.has(r.id)) return false;
    this.byId.set(r.id, r);
    return true;
  }

  /** Whether the result of shard `id` is in. */
  has(id: string): boolean {
    return this.byId.has(id);
  }

  get size(): number {
    return this.byId.size;
  }
}

/** The sweep's result from every shard's, in plan order; JobError when a shard is missing. */
export function mergeResults(spec: SweepSpec, plan: readonly Shard[], results: ShardResults): SweepResult {
  const grids: Partial<Record<SweepKind, SweepGrid>> = {};
  for (const kind of spec.sweep) {
    let acc: Float64Array | null = null;
    let shape: number[] = [];
    let pairs = 0;
    for (const shard of plan.filter((s) => s.kind === kind)) {
      const r = results.byId.get(shard.id);
      if (!r) throw new JobError(`merge: shard ${shard.id} has no result`);
      if (acc && (r.shape.length !== shape.length || r.shape.some((d, i) => d !== shape[i]))) {
        throw new JobError(`merge: shard ${shard.id} has shape [${r.shape}], the others [${shape}]`);
      }
      shape = r.shape;
      acc ??= new Float64Array(r.values.length);
      const n = shard.end - shard.start;
      for (let i = 0; i < acc.length; i++) acc[i]! += n * r.values[i]!;
      pairs += n;
    }
    if (!acc) throw new JobError(`merge: no shard of grid ${kind}`);
    grids[kind] = { axes: SWEEP_KINDS[kind].axes, shape, values: Array.from(acc, (v) => v / pairs) };
  }
  return { spec, nPairs: spec.task.pairs, shards: plan.length, grids };
}
