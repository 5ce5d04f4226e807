// The IOI metric, the one logit difference every IOI analysis reads (the report, the example, the lab, path
// patching, mean ablation): logit[IO] − logit[S] at each prompt's `end`, per prompt, as a mean, or normalised
// against a clean and a corrupted level. It reads logits at every position, at the distinct `end` positions only
// (what the patching functions compute with `metricPositions: metric.ends.positions`), or at one position per row.
import { ShapeError } from "../../errors.js";
import { arange, Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { IOIDataset } from "../../datasets/ioi.js";
import type { PositionedMetric } from "../path-patching.js";

function int32(values: readonly number[]): Tensor {
  return Tensor.fromTypedArray(Int32Array.from(values), [values.length]);
}

/** Where a metric reads each row: its `end` position, and the sorted distinct `end` positions with each row's slot
 *  among them (the patching functions compute logits only at `positions`). */
export interface EndPositions {
  end: number[];
  positions: number[];
  slot: number[];
}

/** Each row's END position with the distinct positions (sorted) and the row's slot among them. */
export function endPositions(end: readonly number[]): EndPositions {
  const positions = [...new Set(end)].sort((a, b) => a - b);
  return { end: [...end], positions, slot: end.map((p) => positions.indexOf(p)) };
}

/**
 * How a mean logit difference LD is scaled against the clean and corrupted levels:
 * - `"noising"`: (LD − clean) / (clean − corrupted): 0 = unchanged, −1 = as corrupted (seed 002's `ioi_metric_2`,
 *   for path patching: corrupted senders in a clean run);
 * - `"denoising"`: (LD − corrupted) / (clean − corrupted): the fraction of the clean logit difference restored,
 *   1 = clean, 0 = as corrupted (activation patching: clean activations into the corrupted run).
 */
export type LogitDiffNormalization = "noising" | "denoising";

/** A logit difference scaled against the clean and corrupted levels (LogitDiffNormalization: "denoising" 0 = corrupted, 1 = clean; "noising" 0 = clean, −1 = corrupted). */
export function normalizeLogitDiff(ld: number, clean: number, corrupted: number, kind: LogitDiffNormalization): number {
  return (ld - (kind === "noising" ? clean : corrupted)) / (clean - corrupted);
}

export interface IoiMetricOptions {
  /** With both: the mean is normalised (`normalization`, default "noising"). Otherwise the mean logit difference. */
  clean?: number;
  corrupted?: number;
  normalization?: LogitDiffNormalization;
  /** The dataset rows the metric reads (default all): the logits have one row per entry, in this order. */
  rows?: readonly number[];
}

/** The IO − S logit difference at each prompt's `end` (a mean over prompts, maybe normalised). */
export interface IoiMetric extends PositionedMetric {
  (logits: Tensor): number;
  /** One position per row (path patching and mean ablation read logits [batch, 1, d_vocab] there). */
  metricPositions: { rows: number[] };
  /** The distinct `end` positions (pass as the patching functions' `metricPositions`) and each row's slot. */
  ends: EndPositions;
  /** Per prompt, [batch] (float32): logits [batch, pos, d_vocab], [batch, ends.positions.length, d_vocab] or
   *  [batch, 1, d_vocab]. */
  perPrompt: (logits: Tensor) => Tensor;
  /** The metric from the final stream after ln_final at `end`, [batch, 1, d_model], without the unembedding. */
  fromNormalizedResid: (normalized: Tensor) => number;
}

/** Logits [batch, pos | distinct ends | 1, d_vocab] → the position index of each row along the second axis. */
function positionIndex(logits: Tensor, seqLen: number, ends: EndPositions, where: string): Tensor {
  const n = ends.end.length;
  if (logits.ndim !== 3 || logits.shape[0] !== n)
    throw new ShapeError(`${where}: expected logits [batch=${n}, pos, d_vocab], got [${logits.shape}]`);
  const p = logits.shape[1];
  if (p === seqLen) return int32(ends.end);
  if (p === ends.positions.length) return int32(ends.slot);
  if (p === 1) return int32(new Array<number>(n).fill(0));
  throw new ShapeError(
    `${where}: logits with ${p} positions: expected every position (${seqLen}), the distinct end positions (${ends.positions.length}) or one`,
  );
}

/**
 * logit[b, pos_b, correct_b] − logit[b, pos_b, incorrect_b] for each row b (the logit alone without `incorrect`):
 * logits [batch, pos, d_vocab], pos / correct / incorrect [batch] (int32) → [batch].
 */
export function logitDiffAt(logits: Tensor, pos: Tensor, correct: Tensor, incorrect: Tensor | null): Tensor {
  const rows = arange(0, logits.shape[0], 1, "int32");
  const right = logits.get(rows, pos, correct);
  return incorrect ? right.sub(logits.get(rows, pos, incorrect)) : right;
}

/** The per-prompt half of the metric (no model needed): logit[IO] − logit[S] at each row's `end`. */
export interface IoiLogitDiffs {
  ends: EndPositions;
  /** IO and S token ids of each row [batch] (int32). */
  io: Tensor;
  s: Tensor;
  /** [batch] (float32) from logits [batch, pos, d_vocab], [batch, ends.positions.length, d_vocab] or [batch, 1, d_vocab]. */
  perPrompt: (logits: Tensor) => Tensor;
}

/** The IO − S logit difference of each row of the dataset, from a run's logits at END. */
export function ioiLogitDiffs(dataset: IOIDataset, rows?: readonly number[]): IoiLogitDiffs {
  const rowIds = rows ? [...rows] : Array.from({ length: dataset.N }, (_, b) => b);
  const seqLen = dataset.toks.shape[1]!;
  const ends = endPositions(rowIds.map((b) => dataset.wordIdx.end![b]!));
  const io = int32(rowIds.map((b) => dataset.ioTokenIDs[b]!));
  const s = int32(rowIds.map((b) => dataset.sTokenIDs[b]!));
  const perPrompt = (logits: Tensor): Tensor =>
    logitDiffAt(logits, positionIndex(logits, seqLen, ends, "ioiMetric"), io, s);
  return { ends, io, s, perPrompt };
}

/**
 * The IOI metric of `dataset`: the mean over prompts of logit[IO] − logit[S] at each prompt's `end`, normalised when
 * `clean` and `corrupted` are given. Path patching and circuit scores use `metricPositions` (one row each) and
 * `fromNormalizedResid` (the stream · (W_U[:, IO] − W_U[:, S]) + the b_U difference), which skips the unembedding.
 */
export function ioiMetric(model: HookedTransformer, dataset: IOIDataset, opts: IoiMetricOptions = {}): IoiMetric {
  const { ends, io, s, perPrompt } = ioiLogitDiffs(dataset, opts.rows);
  const n = ends.end.length;
  const { clean, corrupted } = opts;
  const normalize = (v: number): number =>
    clean === undefined || corrupted === undefined
      ? v
      : normalizeLogitDiff(v, clean, corrupted, opts.normalization ?? "noising");
  let dirs: { d: Tensor; bias: Tensor } | null = null;
  const directions = (): { d: Tensor; bias: Tensor } => {
    const WU = model.W_U; // [d_model, d_vocab]
    dirs ??= {
      d: WU.get(":", io).sub(WU.get(":", s)).transpose(0, 1).contiguous(), // [batch, d_model]
      bias: model.b_U.get(io).sub(model.b_U.get(s)), // [batch]
    };
    return dirs;
  };
  const metric = ((logits: Tensor) => normalize(perPrompt(logits).to("float64").mean().item())) as IoiMetric;
  metric.metricPositions = { rows: ends.end };
  metric.ends = ends;
  metric.perPrompt = perPrompt;
  metric.fromNormalizedResid = (normalized: Tensor) => {
    if (normalized.ndim !== 3 || normalized.shape[0] !== n || normalized.shape[1] !== 1) {
      throw new ShapeError(
        `ioiMetric: expected the normalised stream at end [batch=${n}, 1, d_model], got [${normalized.shape}]`,
      );
    }
    const { d, bias } = directions();
    const v = normalized.squeeze(1).mul(d).sum(-1).add(bias); // [batch]
    return normalize(v.to("float64").mean().item());
  };
  return metric;
}

/** Per-prompt logit[i, end_i, IO_i] − logit[i, end_i, S_i] (cautils `logits_to_logit_diffs`), logits
 *  [batch = dataset.N, pos, d_vocab]. */
export async function logitsToLogitDiffs(logits: Tensor, dataset: IOIDataset): Promise<number[]> {
  if (logits.ndim !== 3 || logits.shape[0] !== dataset.N || logits.shape[1] !== dataset.toks.shape[1]) {
    throw new ShapeError(
      `logitsToLogitDiffs: expected logits [batch=${dataset.N}, pos=${dataset.toks.shape[1]}, d_vocab], got [${logits.shape.join(", ")}]`,
    );
  }
  return Array.from((await ioiLogitDiffs(dataset).perPrompt(logits).to("float64").data()) as Float64Array);
}

/** The mean IO − S logit difference at `end` (cautils `_logits_to_ave_logit_diff`). */
export async function logitsToAveLogitDiff(logits: Tensor, dataset: IOIDataset): Promise<number> {
  const d = await logitsToLogitDiffs(logits, dataset);
  return d.reduce((a, b) => a + b, 0) / d.length;
}

/** Reads t [component, batch, k] (k = the distinct end positions) at each row's slot → the mean over rows, per
 *  component: what a logit lens or DLA computed at `ends.positions` says at each prompt's own `end`. */
export function meanAtEnds(t: Tensor, ends: EndPositions): number[] {
  const [C, B, k] = t.shape as [number, number, number];
  const d = t.to("float64").dataSync();
  const out: number[] = [];
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let b = 0; b < B; b++) sum += d[(c * B + b) * k + ends.slot[b]!]!;
    out.push(sum / B);
  }
  return out;
}
