// Path patching (Wang et al. 2022, "Interpretability in the Wild", §3.1 and Appendix B; ARENA 1.4's
// get_path_patch_head_to_final_resid_post / get_path_patch_head_to_heads, as seed 002 uses them).
//
// Two runs: the original one (x_orig, e.g. the IOI prompts) and the new one (x_new, e.g. the ABC prompts). A
// *sender* head's output (hook_z) is patched from the new run while every other head is frozen at its original
// output; MLPs and norms recompute (unless freezeMlps). Then
//  - to the final residual stream (the direct effect): the metric reads the logits of that run;
//  - to receiver heads: the receivers' q/k/v inputs of that run are recorded (at the given positions), and a
//    second run on x_orig patches only them in, letting everything downstream recompute.
//
// Why the default (fast) algorithm is cheap. With every head frozen, no attention reads a changed value, so each
// position of the residual stream evolves on its own: stream(l+1) = stream(l) + attn_out_orig(l) + Δ_senders(l)
// + MLP(stream(l) + ...). So the first stage runs only at the positions it needs (where the metric reads, or
// where the receivers read), only from the first sender's layer on, and for all senders at once (stacked along
// the batch); attention is never recomputed. The second stage (receivers) starts at the first receiver layer from
// the original residual stream, recomputes only positions ≥ the first patched one (earlier keys and values come
// from the original run, as a KV cache does), and stacks many senders along the batch. `fast: false` runs the
// literal algorithm (whole model, hooks on every hook_z); the tests check both agree.
import { ShapeError, TlensError } from "../errors.js";
import { arange, cat, Tensor } from "../tensor/index.js";
import type { HookedTransformer } from "../model/hooked-transformer.js";
import type { ActivationCache } from "../model/activation-cache.js";
import { finalNorm, KeyValuePrefix, ln1, mlpOutput, runBlocks, tileBatch, unembed } from "../model/run/index.js";
import type { HookFn, NameFilter } from "../model/hook-point.js";
import type { IOIDataset } from "../datasets/ioi.js";
import { progressReporter, type ProgressOptions } from "./progress.js";
import { metricValue, type MetricFn } from "./patching/engine.js";

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
  metricPositions?: MetricPositions;
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

function int32(values: readonly number[], shape: number[] = [values.length]): Tensor {
  return Tensor.fromTypedArray(Int32Array.from(values), shape);
}

/** Per-row sorted lists of absolute positions. */
export function resolvePositions(spec: PositionSpec, batch: number, seqLen: number, dataset: IOIDataset | undefined, what: string): number[][] {
  const norm = (p: number): number => {
    const q = p < 0 ? p + seqLen : p;
    if (!Number.isInteger(q) || q < 0 || q >= seqLen) throw new ShapeError(`${what}: position ${p} is out of range for ${seqLen} positions`);
    return q;
  };
  if (spec === "all") return Array.from({ length: batch }, () => Array.from({ length: seqLen }, (_, i) => i));
  if (typeof spec === "string") {
    if (!dataset) throw new TlensError(`${what}: the position "${spec}" needs a dataset (pass origDataset) to look it up in wordIdx`);
    const idx = dataset.wordIdx[spec];
    if (!idx) throw new TlensError(`${what}: unknown position "${spec}"; the dataset's wordIdx has ${Object.keys(dataset.wordIdx).map((k) => `"${k}"`).join(", ")}`);
    if (idx.length < batch) throw new ShapeError(`${what}: wordIdx["${spec}"] has ${idx.length} entries for ${batch} rows`);
    return idx.slice(0, batch).map((p) => [norm(p)]);
  }
  if (typeof spec === "number") return Array.from({ length: batch }, () => [norm(spec)]);
  if (!Array.isArray(spec)) throw new TlensError(`${what}: positions must be "all", a word, a number or per-row lists`);
  if (spec.length !== batch) throw new ShapeError(`${what}: ${spec.length} per-row positions for ${batch} rows`);
  return (spec as readonly (number | readonly number[])[]).map((r) => {
    const list = typeof r === "number" ? [norm(r)] : [...new Set(r.map(norm))].sort((a, b) => a - b);
    if (!list.length) throw new ShapeError(`${what}: a row has no position`);
    return list;
  });
}

/** Where the metric reads: shared positions, or one position per row. */
export type MetricLayout = { kind: "shared"; positions: number[] } | { kind: "rows"; rows: number[] };

export function resolveMetricLayout(spec: MetricPositions | undefined, batch: number, seqLen: number, dataset?: IOIDataset): MetricLayout {
  const norm = (p: number): number => {
    const q = p < 0 ? p + seqLen : p;
    if (!Number.isInteger(q) || q < 0 || q >= seqLen) throw new ShapeError(`metricPositions: position ${p} is out of range for ${seqLen} positions`);
    return q;
  };
  if (spec === undefined || spec === "all") return { kind: "shared", positions: Array.from({ length: seqLen }, (_, i) => i) };
  if (spec === "last") return { kind: "shared", positions: [seqLen - 1] };
  if (typeof spec === "string") return { kind: "rows", rows: resolvePositions(spec, batch, seqLen, dataset, "metricPositions").map((r) => r[0]) };
  if (Array.isArray(spec)) return { kind: "shared", positions: (spec as readonly number[]).map(norm) };
  const rows = (spec as { rows: readonly number[] }).rows;
  if (!rows || rows.length !== batch) throw new ShapeError(`metricPositions.rows: expected ${batch} positions (one per row), got ${rows?.length}`);
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
export async function scoreResid(model: HookedTransformer, metric: PositionedMetric, finalResid: Tensor, shortcut: boolean): Promise<number> {
  const normalized = await finalNorm(model, finalResid);
  if (shortcut && metric.fromNormalizedResid) return metric.fromNormalizedResid(normalized);
  return metricValue(metric, unembed(model, normalized));
}

function hasAnyHooks(model: HookedTransformer): boolean {
  for (const p of model.hookPoints.values()) if (p.hasHooks) return true;
  return false;
}

function checkHead(model: HookedTransformer, [l, h]: Head, what: string): void {
  if (!Number.isInteger(l) || l < 0 || l >= model.cfg.nLayers || !Number.isInteger(h) || h < 0 || h >= model.cfg.nHeads) {
    throw new TlensError(`${what}: head [${l}, ${h}] does not exist (${model.cfg.nLayers} layers × ${model.cfg.nHeads} heads)`);
  }
}

function normalizeSenders(model: HookedTransformer, senders: readonly (Head | readonly Head[])[]): Head[][] {
  return senders.map((s) => {
    const group = typeof s[0] === "number" ? [s as Head] : [...(s as readonly Head[])];
    if (!group.length) throw new TlensError("path patching: a sender group is empty");
    for (const h of group) checkHead(model, h, "senders");
    return group;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// the two runs

interface Runs {
  model: HookedTransformer;
  origTokens: Tensor;
  batch: number;
  seqLen: number;
  dataset?: IOIDataset;
  orig: ActivationCache;
  new_: ActivationCache;
}

const z = (l: number): string => `blocks.${l}.attn.hook_z`;

async function ensureCache(model: HookedTransformer, tokens: Tensor, cache: ActivationCache | undefined, needed: string[]): Promise<ActivationCache> {
  if (cache && needed.every((n) => cache.has(n))) return cache;
  const want = new Set(needed);
  const [, fresh] = await model.runWithCache(tokens, { namesFilter: (n) => want.has(n), stopAtLayer: model.cfg.nLayers });
  return fresh;
}

async function prepareRuns(model: HookedTransformer, o: PathPatchInputs, origNeeded: string[]): Promise<Runs> {
  const origTokens = o.origTokens ?? o.origDataset?.toks;
  const newTokens = o.newTokens ?? o.newDataset?.toks;
  if (!origTokens || !newTokens) throw new TlensError("path patching: pass origDataset (or origTokens) and newDataset (or newTokens)");
  if (origTokens.ndim !== 2 || newTokens.ndim !== 2 || origTokens.shape.some((s, i) => s !== newTokens.shape[i])) {
    throw new ShapeError(`path patching: the original and new tokens must both be [batch, pos] of one shape, got [${origTokens.shape}] and [${newTokens.shape}]`);
  }
  const L = model.cfg.nLayers;
  const zs = Array.from({ length: L }, (_, l) => z(l));
  const orig = await ensureCache(model, origTokens, o.origCache, [...new Set([...zs, ...origNeeded])]);
  const new_ = await ensureCache(model, newTokens, o.newCache, zs);
  const [batch, seqLen] = origTokens.shape;
  for (const name of zs) {
    for (const [which, c] of [["original", orig], ["new", new_]] as const) {
      const t = c.get(name);
      if (t.shape[0] !== batch || t.shape[1] !== seqLen) throw new ShapeError(`path patching: the ${which} cache's ${name} has shape [${t.shape}], the tokens [${batch}, ${seqLen}]`);
    }
  }
  return { model, origTokens, batch, seqLen, dataset: o.origDataset, orig, new_ };
}

function defaultMaxRows(model: HookedTransformer, shortcut: boolean): number {
  // the logits of a chunk stay below ~128 MB unless the metric skips the unembedding
  return shortcut ? 1 << 16 : Math.max(1, Math.floor((1 << 25) / model.cfg.dVocabOut));
}

/** The metric's shortcut applies at its own positions only. */
function useShortcut(metric: PositionedMetric, o: PathPatchInputs): boolean {
  return metric.fromNormalizedResid !== undefined && o.metricPositions === undefined && metric.metricPositions !== undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// stage 1, fast: every head frozen, senders patched; the stream at chosen (row, position) pairs, per layer

/** Per sender group, the stream [groups * batch, m, d_model] at positions `cols` [batch][m], evolved from layer
 *  `from` up to (not through) layer `to`; `visit(l, stream)` sees the stream entering each layer l in [from, to]. */
async function frozenStreams(runs: Runs, groups: Head[][], senderPos: number[][], cols: number[][], from: number, to: number,
  freezeMlps: boolean, visit: (layer: number, stream: Tensor) => Promise<void>): Promise<void> {
  const { model, orig, new_, batch } = runs;
  const G = groups.length;
  const m = cols[0].length;
  const rowIdx = int32(cols.flatMap((_, b) => new Array<number>(m).fill(b)), [batch, m]);
  const posIdx = int32(cols.flat(), [batch, m]);
  const at = (t: Tensor): Tensor => t.get(rowIdx, posIdx); // [batch, m, ...]
  // sender masks: is (b, cols[b][j]) a sender position? (null = all)
  const allPos = senderPos.every((r) => r.length === runs.seqLen);
  const mask = allPos ? null : Tensor.fromTypedArray(Float32Array.from(cols.flatMap((c, b) => c.map((p) => (senderPos[b].includes(p) ? 1 : 0)))), [batch, m, 1]);
  let stream = tileBatch(at(orig.get(`blocks.${from}.hook_resid_pre`)), G).contiguous();
  for (let l = from; l <= to; l++) {
    await visit(l, stream);
    if (l === to) break;
    const block = model.blocks[l];
    // frozen heads: the original attention output, plus each group's senders in this layer
    stream = stream.add(tileBatch(at(orig.get(`blocks.${l}.hook_attn_out`)), G));
    const here = new Map<number, Tensor>();
    groups.forEach((g, i) => {
      for (const [sl, h] of g) {
        if (sl !== l) continue;
        let contrib = here.get(h);
        if (!contrib) {
          const dz = at(new_.get(z(l)).get(":", ":", h)).sub(at(orig.get(z(l)).get(":", ":", h))); // [batch, m, d_head]
          contrib = dz.matmul(block.attn.W_O.get(h)); // [batch, m, d_model]
          if (mask) contrib = contrib.mul(mask);
          here.set(h, contrib);
        }
        stream.narrow(0, i * batch, batch).add_(contrib);
      }
    });
    if (!block.mlp) continue;
    if (freezeMlps) {
      stream = stream.add(tileBatch(at(orig.get(`blocks.${l}.hook_mlp_out`)), G));
    } else {
      stream = stream.add(await mlpOutput(model, l, stream));
    }
  }
}

/** Literal stage 1 hooks: every hook_z frozen at the original run, the group's senders from the new run. */
function freezeHooks(runs: Runs, group: Head[], senderPos: number[][], freezeMlps: boolean): [NameFilter, HookFn][] {
  const { model, orig, new_ } = runs;
  const allPos = senderPos.every((r) => r.length === runs.seqLen);
  const rows = int32(senderPos.flatMap((r, b) => r.map(() => b)));
  const pos = int32(senderPos.flat());
  const hooks: [NameFilter, HookFn][] = [];
  for (let l = 0; l < model.cfg.nLayers; l++) {
    hooks.push([z(l), (act) => {
      act.copy_(orig.get(z(l)));
      for (const [sl, h] of group) {
        if (sl !== l) continue;
        if (allPos) act.set([":", ":", h], new_.get(z(l)).get(":", ":", h));
        else act.set([rows, pos, h], new_.get(z(l)).get(rows, pos, h));
      }
    }]);
    if (freezeMlps && !model.cfg.attnOnly) hooks.push([`blocks.${l}.hook_mlp_out`, (act) => { act.copy_(orig.get(`blocks.${l}.hook_mlp_out`)); }]);
  }
  return hooks;
}

// ---------------------------------------------------------------------------------------------------------------
// head → final residual stream

/**
 * Path patching from each sender to the final residual stream: the direct effect of the senders' new outputs on
 * the metric, every other head frozen at the original run (seed 002 / ARENA `get_path_patch_head_to_final_resid_post`).
 *
 * ```ts
 * const metric = ioiMetric(ioiDataset, { clean, corrupted });            // (patched − clean) / (clean − corrupted)
 * const { scores } = await getPathPatchHeadToFinalResidPost(model, metric, { origDataset: ioiDataset, newDataset: abcDataset });
 * scores;                                                                  // [layer, head]
 * ```
 */
export async function getPathPatchHeadToFinalResidPost(model: HookedTransformer, metric: PositionedMetric, opts: PathPatchInputs): Promise<PathPatchResult> {
  const L = model.cfg.nLayers;
  const H = model.cfg.nHeads;
  const perHead = opts.senders === undefined;
  const groups = perHead
    ? Array.from({ length: L * H }, (_, i) => [[Math.floor(i / H), i % H] as Head])
    : normalizeSenders(model, opts.senders!);
  const freezeMlps = opts.freezeMlps ?? false;
  const origNeeded: string[] = [`blocks.${L - 1}.hook_resid_post`];
  for (let l = 0; l < L; l++) {
    origNeeded.push(`blocks.${l}.hook_resid_pre`, `blocks.${l}.hook_attn_out`);
    if (!model.cfg.attnOnly) origNeeded.push(`blocks.${l}.hook_mlp_out`);
  }
  const runs = await prepareRuns(model, opts, origNeeded);
  const { batch, seqLen } = runs;
  const layout = resolveMetricLayout(opts.metricPositions ?? metric.metricPositions, batch, seqLen, runs.dataset);
  const shortcut = useShortcut(metric, opts);
  const senderPos = resolvePositions(opts.senderPositions ?? "all", batch, seqLen, runs.dataset, "senderPositions");
  const out = new Float64Array(groups.length);
  const report = progressReporter("path patching → final resid", groups.length, opts);
  const baseline = await scoreResid(model, metric, gatherLayout(runs.orig.get(`blocks.${L - 1}.hook_resid_post`), layout), shortcut);

  if ((opts.fast ?? true) && !hasAnyHooks(model)) {
    // the positions the metric reads, as per-row columns
    const cols = layout.kind === "shared" ? Array.from({ length: batch }, () => layout.positions) : layout.rows.map((p) => [p]);
    const m = cols[0].length;
    const perChunk = Math.max(1, Math.floor((opts.maxRows ?? defaultMaxRows(model, shortcut)) / (batch * m)));
    // process senders by first layer so each chunk starts late
    const order = groups.map((g, i) => i).sort((a, b) => Math.min(...groups[a].map((h) => h[0])) - Math.min(...groups[b].map((h) => h[0])));
    let done = 0;
    for (let c = 0; c < order.length; c += perChunk) {
      const idx = order.slice(c, c + perChunk);
      const chunk = idx.map((i) => groups[i]);
      const from = Math.min(...chunk.flat().map((h) => h[0]));
      await frozenStreams(runs, chunk, senderPos, cols, from, L, freezeMlps, async (l, stream) => {
        if (l !== L) return;
        for (let i = 0; i < chunk.length; i++) out[idx[i]] = await scoreResid(model, metric, stream.narrow(0, i * batch, batch), shortcut);
      });
      done += chunk.length;
      report(done, groups.length);
    }
  } else {
    for (let i = 0; i < groups.length; i++) {
      const resid = await model.runWithHooks(runs.origTokens, { fwdHooks: freezeHooks(runs, groups[i], senderPos, freezeMlps), stopAtLayer: L });
      out[i] = await scoreResid(model, metric, gatherLayout(resid, layout), shortcut);
      report(i + 1, groups.length);
    }
  }
  return { scores: Tensor.fromTypedArray(Float32Array.from(out), perHead ? [L, H] : [groups.length]), senders: groups, baseline };
}

// ---------------------------------------------------------------------------------------------------------------
// head → heads

/** The receivers' patched inputs of one layer: values [groups * batch, m, d_head] per (input, head). */
type ReceiverValues = Map<string, Tensor>;
const rkey = (input: QkvInput, layer: number, head: number): string => `${input}:${layer}:${head}`;

/** The hook-point head index of a receiver head's input (key/value heads under grouped-query attention). */
function hookHead(model: HookedTransformer, layer: number, head: number, input: QkvInput): number {
  return input === "q" ? head : Math.floor(head / model.blocks[layer].attn.repeatKvHeads);
}

/** Stage 1, fast: the receivers' q/k/v at their positions `cols`, for each sender group. */
async function receiverValuesFast(runs: Runs, groups: Head[][], senderPos: number[][], cols: number[][], receivers: Head[], inputs: QkvInput[],
  freezeMlps: boolean): Promise<ReceiverValues> {
  const { model } = runs;
  const values: ReceiverValues = new Map();
  const layers = [...new Set(receivers.map((r) => r[0]))];
  const from = Math.min(...groups.flat().map((h) => h[0]));
  const to = Math.max(...layers);
  const m = cols[0].length;
  const posIdx = int32(cols.flat(), [runs.batch, m]);
  await frozenStreams(runs, groups, senderPos, cols, Math.min(from, to), to, freezeMlps, async (l, stream) => {
    if (!layers.includes(l)) return;
    const block = model.blocks[l];
    const attn = block.attn;
    const x = await ln1(model, l, stream);
    let xqk = x;
    if (model.cfg.positionalEmbeddingType === "shortformer") {
      // the block adds the positional embeddings to the normalised query and key inputs
      xqk = x.add(tileBatch(model.W_pos.get(posIdx), groups.length));
    }
    for (const [rl, h] of receivers) {
      if (rl !== l) continue;
      for (const input of inputs) {
        const hh = hookHead(model, l, h, input);
        const key = rkey(input, l, hh);
        if (values.has(key)) continue;
        const [W, b, src] = input === "q" ? [attn.W_Q, attn.b_Q, xqk] : input === "k" ? [attn._W_K, attn._b_K, xqk] : [attn._W_V, attn._b_V, x];
        values.set(key, src.matmul(W.get(hh)).add(b.get(hh)));
      }
    }
  });
  return values;
}

/** Stage 1, literal: a frozen run per group, recording the receivers' hook_q/k/v. */
async function receiverValuesLiteral(runs: Runs, group: Head[], senderPos: number[][], cols: number[][], receivers: Head[], inputs: QkvInput[],
  freezeMlps: boolean): Promise<ReceiverValues> {
  const { model, batch } = runs;
  const m = cols[0].length;
  const rowIdx = int32(cols.flatMap((_, b) => new Array<number>(m).fill(b)), [batch, m]);
  const posIdx = int32(cols.flat(), [batch, m]);
  const values: ReceiverValues = new Map();
  const capture: [NameFilter, HookFn][] = [];
  for (const [l, h] of receivers) {
    for (const input of inputs) {
      const hh = hookHead(model, l, h, input);
      capture.push([`blocks.${l}.attn.hook_${input}`, (act) => { values.set(rkey(input, l, hh), act.get(rowIdx, posIdx, hh)); }]);
    }
  }
  const to = Math.max(...receivers.map((r) => r[0]));
  await model.runWithHooks(runs.origTokens, { fwdHooks: [...freezeHooks(runs, group, senderPos, freezeMlps), ...capture], stopAtLayer: to + 1 });
  return values;
}

/** Hooks writing the receivers' values (rows of `groups` stacked groups) at their positions; `offset` = the absolute
 *  position of the activation's first position. */
function receiverHooks(model: HookedTransformer, values: ReceiverValues, nGroups: number, batch: number, cols: number[][], offset: number): [NameFilter, HookFn][] {
  const m = cols[0].length;
  const rows: number[] = [];
  const pos: number[] = [];
  for (let g = 0; g < nGroups; g++) for (let b = 0; b < batch; b++) for (const p of cols[b]) { rows.push(g * batch + b); pos.push(p - offset); }
  const rowIdx = int32(rows);
  const posIdx = int32(pos);
  const byHook = new Map<string, [number, Tensor][]>();
  for (const [key, v] of values) {
    const [input, l, hh] = key.split(":");
    const name = `blocks.${l}.attn.hook_${input}`;
    byHook.set(name, [...(byHook.get(name) ?? []), [Number(hh), v.reshape(nGroups * batch * m, v.shape[2])]]);
  }
  void model;
  return [...byHook.entries()].map(([name, list]) => [name, (act: Tensor) => {
    for (const [hh, v] of list) act.set([rowIdx, posIdx, hh], v);
  }]);
}

/**
 * Path patching from each sender to the receiver heads' q, k or v inputs at the given positions (seed 002 / ARENA
 * `get_path_patch_head_to_heads`): the receivers' inputs are recomputed with the sender patched from the new run
 * and every other head frozen, then patched into the original run, where everything downstream recomputes.
 *
 * ```ts
 * const nmQueries = await getPathPatchHeadToHeads(model, metric, {
 *   origDataset: ioiDataset, newDataset: abcDataset, receiverHeads: [[3, 0]], receiverInput: "q", positions: "end",
 * });
 * nmQueries.scores;   // [3, n_heads]: senders in the layers before the last receiver
 * ```
 */
export async function getPathPatchHeadToHeads(model: HookedTransformer, metric: PositionedMetric, opts: PathPatchToHeadsInputs): Promise<PathPatchResult> {
  const L = model.cfg.nLayers;
  const H = model.cfg.nHeads;
  const receivers = [...opts.receiverHeads];
  if (!receivers.length) throw new TlensError("getPathPatchHeadToHeads: receiverHeads is empty");
  for (const r of receivers) checkHead(model, r, "receiverHeads");
  const inputs = [...new Set(typeof opts.receiverInput === "string" ? [opts.receiverInput] : opts.receiverInput)];
  for (const i of inputs) if (!["q", "k", "v"].includes(i)) throw new TlensError(`getPathPatchHeadToHeads: receiverInput must be "q", "k" or "v", got ${JSON.stringify(i)}`);
  if (!inputs.length) throw new TlensError("getPathPatchHeadToHeads: receiverInput is empty");
  const maxLayer = Math.max(...receivers.map((r) => r[0]));
  const minLayer = Math.min(...receivers.map((r) => r[0]));
  const perHead = opts.senders === undefined;
  const groups = perHead
    ? Array.from({ length: maxLayer * H }, (_, i) => [[Math.floor(i / H), i % H] as Head])
    : normalizeSenders(model, opts.senders!);
  const freezeMlps = opts.freezeMlps ?? false;
  const origNeeded: string[] = [`blocks.${L - 1}.hook_resid_post`];
  for (let l = 0; l < L; l++) {
    origNeeded.push(`blocks.${l}.hook_resid_pre`, `blocks.${l}.hook_attn_out`, `blocks.${l}.attn.hook_k`, `blocks.${l}.attn.hook_v`);
    if (!model.cfg.attnOnly) origNeeded.push(`blocks.${l}.hook_mlp_out`);
  }
  const runs = await prepareRuns(model, opts, origNeeded);
  const { batch, seqLen, orig } = runs;
  const layout = resolveMetricLayout(opts.metricPositions ?? metric.metricPositions, batch, seqLen, runs.dataset);
  const shortcut = useShortcut(metric, opts);
  const senderPos = resolvePositions(opts.senderPositions ?? "all", batch, seqLen, runs.dataset, "senderPositions");
  const recvPos = resolvePositions(opts.positions ?? "all", batch, seqLen, runs.dataset, "positions");
  // rectangular columns: rows with fewer positions repeat their last one (writing a value twice is harmless)
  const m = Math.max(...recvPos.map((r) => r.length));
  const cols = recvPos.map((r) => [...r, ...new Array<number>(m - r.length).fill(r[r.length - 1])]);
  const out = new Float64Array(groups.length).fill(NaN);
  const report = progressReporter("path patching → heads", groups.length, opts);
  const finalName = `blocks.${L - 1}.hook_resid_post`;
  const baseline = await scoreResid(model, metric, gatherLayout(orig.get(finalName), layout), shortcut);
  // a sender at or after the last receiver's layer cannot reach it: the metric stays at the baseline
  const reaches = groups.map((g) => g.some(([l]) => l < maxLayer));
  groups.forEach((_, i) => { if (!reaches[i]) out[i] = baseline; });
  const live = groups.map((_, i) => i).filter((i) => reaches[i]);

  if ((opts.fast ?? true) && !hasAnyHooks(model)) {
    const p0 = Math.min(...recvPos.map((r) => r[0]));
    const rowsPerGroup = batch * (seqLen - p0);
    const perChunk = Math.max(1, Math.floor((opts.maxRows ?? 4096) / rowsPerGroup));
    let done = groups.length - live.length;
    for (let c = 0; c < live.length; c += perChunk) {
      const idx = live.slice(c, c + perChunk);
      const chunk = idx.map((i) => groups[i]);
      const G = chunk.length;
      const values = await receiverValuesFast(runs, chunk, senderPos, cols, receivers, inputs, freezeMlps);
      // stage 2: the original run from the first receiver layer, positions ≥ p0, receivers patched
      let residual = tileBatch(orig.get(`blocks.${minLayer}.hook_resid_pre`).narrow(1, p0, seqLen - p0), G).contiguous();
      const hooks = receiverHooks(model, values, G, batch, cols, p0);
      residual = await runBlocks(model, residual, { from: minLayer, to: L, prefix: KeyValuePrefix.fromCache(orig, p0, G), hooks });
      const final = p0 > 0 ? cat([tileBatch(orig.get(finalName).narrow(1, 0, p0), G), residual], 1) : residual;
      for (let i = 0; i < G; i++) out[idx[i]] = await scoreResid(model, metric, gatherLayout(final.narrow(0, i * batch, batch), layout), shortcut);
      done += G;
      report(done, groups.length);
    }
  } else {
    let done = groups.length - live.length;
    for (const i of live) {
      const values = await receiverValuesLiteral(runs, groups[i], senderPos, cols, receivers, inputs, freezeMlps);
      const resid = await model.runWithHooks(runs.origTokens, { fwdHooks: receiverHooks(model, values, 1, batch, cols, 0), stopAtLayer: L });
      out[i] = await scoreResid(model, metric, gatherLayout(resid, layout), shortcut);
      report(++done, groups.length);
    }
  }
  return { scores: Tensor.fromTypedArray(Float32Array.from(out), perHead ? [maxLayer, H] : [groups.length]), senders: groups, baseline };
}
