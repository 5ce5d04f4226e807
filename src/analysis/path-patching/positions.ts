// Path patching's inputs: heads, position specs, metric layouts, and scoring a final residual stream.
import { AnalysisError, ShapeError } from "../../errors.js";
import { arange, Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { ActivationCache } from "../../model/activation-cache.js";
import { finalNorm, unembed } from "../../model/run/index.js";
import type { IOIDataset } from "../../datasets/ioi.js";
import { type ProgressOptions } from "../progress.js";
import { metricValue, type MetricFn } from "../patching/engine.js";

/** An attention head: [layer, head]. */
export type Head = readonly [layer: number, head: number];

/**
 * Positions, per batch row:
 * - `"all"`: every position;
 * - a word of the dataset (`"end"`, `"S2"`, `"S1+1"`, `"IO"`, ... — a key of `dataset.wordIdx`): that position in
 *   each row;
 * - a number: that position in every row (negative counts from the end);
 * - `number[]` (length batch): one position per row (as `wordIdx` values are);
 * - `number[][]` (length batch): a list of positions per row.
 */
export type PositionSpec = "all" | string | number | readonly number[] | readonly (readonly number[])[];

/**
 * Where the metric reads the logits (only those are computed):
 * - `"all"` (default): every position, logits `[batch, pos, d_vocab]`;
 * - `"last"` or `number[]` (absolute positions shared by every row, as in `patching`): `[batch, n, d_vocab]`;
 * - `{ rows }` or a word of the dataset (`"end"`): one position per row, logits `[batch, 1, d_vocab]` (row b's
 *   logits at its own position), so a metric reading `logits.get(b, -1, token)` works unchanged.
 */
export type MetricPositions = "all" | "last" | string | readonly number[] | { rows: readonly number[] };

/**
 * A metric of the logits, optionally saying where it reads them (`metricPositions`, used when the options give
 * none) and, for a metric that is a linear function of the final residual stream after the final norm (a logit
 * difference), computing itself from that stream (`fromNormalizedResid`, [batch, n, d_model] at its positions),
 * which skips the unembedding. `ioiMetric` makes such metrics.
 */
export interface PositionedMetric extends MetricFn {
  /** Where the metric reads the logits ("all", "last", a word of the dataset, positions, or one per row). */
  metricPositions?: MetricPositions;
  /** The metric from the final residual after the final norm, [batch, n, d_model] at metricPositions. */
  fromNormalizedResid?: (normalized: Tensor) => number | Promise<number>;
}

export type QkvInput = "q" | "k" | "v";

export interface PathPatchInputs extends ProgressOptions {
  /** The run everything happens on (clean, e.g. the IOI dataset): its tokens and, for word positions, its wordIdx. */
  origDataset?: IOIDataset;
  origTokens?: Tensor;
  /** The run the senders' outputs come from (e.g. the ABC dataset). Same shape as the original tokens. */
  newDataset?: IOIDataset;
  newTokens?: Tensor;
  /** Caches of the two runs, if already at hand (anything missing is recomputed with a names filter). */
  origCache?: ActivationCache;
  newCache?: ActivationCache;
  /** Senders: each entry is one head, or a list of heads patched together (one result each). Default: every
   *  head that can reach the receivers, one at a time; the result is then [layer, head]. */
  senders?: readonly (Head | readonly Head[])[];
  /** Positions where the senders are patched (default "all"). */
  senderPositions?: PositionSpec;
  /** Overrides the metric's own metricPositions. */
  metricPositions?: MetricPositions;
  /** Freeze the MLPs at their original outputs too (the pure direct path). Default false: MLPs recompute, as in the
   *  IOI paper and ARENA. */
  freezeMlps?: boolean;
  /** false: the literal algorithm (whole forward passes with hooks on every hook_z), one sender at a time. Also used
   *  automatically when the model has hooks attached (permanent ones included), so that they apply. Default true. */
  fast?: boolean;
  /** Upper bound on rows (senders × batch × positions) in one stacked computation. */
  maxRows?: number;
}

export interface PathPatchToHeadsInputs extends PathPatchInputs {
  /** The receiver heads (seed: `receiver_heads`). */
  receiverHeads: readonly Head[];
  /** Which of their inputs are patched (seed: `receiver_input`): "q", "k", "v", or several. */
  receiverInput: QkvInput | readonly QkvInput[];
  /** Where the receivers' inputs are patched (seed: `positions`): "end", "S2", "S1+1", ... Default "all". */
  positions?: PositionSpec;
}

export interface PathPatchResult {
  /** The metric after each patch: [layer, head] with one sender per head (default senders; layers that cannot
   *  reach a receiver are left out, as the seed: [max receiver layer, head] for heads → heads), else [n_senders]. */
  scores: Tensor;
  /** The senders, in the order of the flattened scores. */
  senders: Head[][];
  /** The metric on the unpatched original run. */
  baseline: number;
}

// ---------------------------------------------------------------------------------------------------------------
// positions

export function int32(values: readonly number[], shape: number[] = [values.length]): Tensor {
  return Tensor.fromTypedArray(Int32Array.from(values), shape);
}

/** Per-row sorted lists of absolute positions. */
export function resolvePositions(
  spec: PositionSpec,
  batch: number,
  seqLen: number,
  dataset: IOIDataset | undefined,
  what: string,
): number[][] {
  const norm = (p: number): number => {
    const q = p < 0 ? p + seqLen : p;
    if (!Number.isInteger(q) || q < 0 || q >= seqLen)
      throw new ShapeError(`${what}: position ${p} is out of range for ${seqLen} positions`);
    return q;
  };
  if (spec === "all") return Array.from({ length: batch }, () => Array.from({ length: seqLen }, (_, i) => i));
  if (typeof spec === "string") {
    if (!dataset)
      throw new AnalysisError(
        `${what}: the position "${spec}" needs a dataset (pass origDataset) to look it up in wordIdx`,
      );
    const idx = dataset.wordIdx[spec];
    if (!idx)
      throw new AnalysisError(
        `${what}: unknown position "${spec}"; the dataset's wordIdx has ${Object.keys(dataset.wordIdx)
          .map((k) => `"${k}"`)
          .join(", ")}`,
      );
    if (idx.length < batch)
      throw new ShapeError(`${what}: wordIdx["${spec}"] has ${idx.length} entries for ${batch} rows`);
    return idx.slice(0, batch).map((p) => [norm(p)]);
  }
  if (typeof spec === "number") return Array.from({ length: batch }, () => [norm(spec)]);
  if (!Array.isArray(spec))
    throw new AnalysisError(`${what}: positions must be "all", a word, a number or per-row lists`);
  if (spec.length !== batch) throw new ShapeError(`${what}: ${spec.length} per-row positions for ${batch} rows`);
  return (spec as readonly (number | readonly number[])[]).map((r) => {
    const list = typeof r === "number" ? [norm(r)] : [...new Set(r.map(norm))].sort((a, b) => a - b);
    if (!list.length) throw new ShapeError(`${what}: a row has no position`);
    return list;
  });
}

/** Where the metric reads: shared positions, or one position per row. */
export type MetricLayout = { kind: "shared"; positions: number[] } | { kind: "rows"; rows: number[] };

export function resolveMetricLayout(
  spec: MetricPositions | undefined,
  batch: number,
  seqLen: number,
  dataset?: IOIDataset,
): MetricLayout {
  const norm = (p: number): number => {
    const q = p < 0 ? p + seqLen : p;
    if (!Number.isInteger(q) || q < 0 || q >= seqLen)
      throw new ShapeError(`metricPositions: position ${p} is out of range for ${seqLen} positions`);
    return q;
  };
  if (spec === undefined || spec === "all")
    return { kind: "shared", positions: Array.from({ length: seqLen }, (_, i) => i) };
  if (spec === "last") return { kind: "shared", positions: [seqLen - 1] };
  if (typeof spec === "string")
    return { kind: "rows", rows: resolvePositions(spec, batch, seqLen, dataset, "metricPositions").map((r) => r[0]!) };
  if (Array.isArray(spec)) return { kind: "shared", positions: (spec as readonly number[]).map(norm) };
  const rows = (spec as { rows: readonly number[] }).rows;
  if (!rows || rows.length !== batch)
    throw new ShapeError(`metricPositions.rows: expected ${batch} positions (one per row), got ${rows?.length}`);
  return { kind: "rows", rows: rows.map(norm) };
}

/** t [batch, pos, ...] → [batch, n, ...] at the layout's positions. */
export function gatherLayout(t: Tensor, layout: MetricLayout): Tensor {
  if (layout.kind === "shared") {
    if (layout.positions.length === t.shape[1] && layout.positions.every((p, i) => p === i)) return t;
    return t.get(":", int32(layout.positions));
  }
  const batch = t.shape[0];
  return t.get(arange(0, batch, 1, "int32"), int32(layout.rows)).unsqueeze(1);
}

/** Final residual stream [N, n, d_model] → ln_final → the metric (through the unembedding unless shortcut and the
 *  metric can skip it). */
export async function scoreResid(
  model: HookedTransformer,
  metric: PositionedMetric,
  finalResid: Tensor,
  shortcut: boolean,
): Promise<number> {
  const normalized = await finalNorm(model, finalResid);
  if (shortcut && metric.fromNormalizedResid) return metric.fromNormalizedResid(normalized);
  return metricValue(metric, unembed(model, normalized));
}

export function hasAnyHooks(model: HookedTransformer): boolean {
  for (const p of model.hookPoints.values()) if (p.hasHooks) return true;
  return false;
}

export function checkHead(model: HookedTransformer, [l, h]: Head, what: string): void {
  if (
    !Number.isInteger(l) ||
    l < 0 ||
    l >= model.cfg.nLayers ||
    !Number.isInteger(h) ||
    h < 0 ||
    h >= model.cfg.nHeads
  ) {
    throw new AnalysisError(
      `${what}: head [${l}, ${h}] does not exist (${model.cfg.nLayers} layers × ${model.cfg.nHeads} heads)`,
    );
  }
}

/** The sender groups: each head of layers 0 .. upTo - 1 on its own when `senders` is absent (a per-head result),
 *  else the given heads or groups, checked. */
export function senderGroups(
  model: HookedTransformer,
  senders: PathPatchInputs["senders"],
  upTo: number,
): { groups: Head[][]; perHead: boolean } {
  const H = model.cfg.nHeads;
  if (senders === undefined)
    return { groups: Array.from({ length: upTo * H }, (_, i) => [[Math.floor(i / H), i % H] as Head]), perHead: true };
  return { groups: normalizeSenders(model, senders), perHead: false };
}

function normalizeSenders(model: HookedTransformer, senders: readonly (Head | readonly Head[])[]): Head[][] {
  return senders.map((s) => {
    const group = typeof s[0] === "number" ? [s as Head] : [...(s as readonly Head[])];
    if (!group.length) throw new AnalysisError("path patching: a sender group is empty");
    for (const h of group) checkHead(model, h, "senders");
    return group;
  });
}
