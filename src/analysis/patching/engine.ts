// The fast patching sweep. A patch in block l at position p cannot change anything before block l, nor any
// position before p. So each patched run starts at block l from the corrupted run's residual stream, computes
// only positions ≥ p (earlier positions' keys and values come from the corrupted run, as a KV cache does), and
// many patches run together: patches that share p are stacked along the batch, joining the batch at their layer.
// Logits are computed only where the metric reads them (metricPositions) or for the recomputed positions, the rest
// being the corrupted run's; the last block then computes outputs only from the first position the metric reads.
// A patch that changes nothing before position q (clean and corrupted runs share a prefix, as most corrupted
// prompts do) starts at q, and one that changes nothing the metric reads is not run: its score is the corrupted
// run's. A head patch (z, q, k, v, scores, pattern) joins at its block's MLP: its attention output is the corrupted
// one plus what its heads' z change (head-local.ts). The result equals re-running the whole model per patch
// (test/analysis/patching*).
import { HookError } from "../../errors.js";
import { cat, type MatmulPrecision, type Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { ActivationCache } from "../../model/activation-cache.js";
import type { HookFn } from "../../model/hook-point.js";
import {
  attentionOutput,
  blockHasSharedHooks,
  headsOutput,
  KeyValuePrefix,
  logitsFromResidual,
  runBlockFromAttention,
  runBlocks,
  tileBatch,
} from "../../model/run/index.js";
import { HEAD_LOCAL_CACHE, headChange, isHeadLocal } from "./head-local.js";
import type { PatchSetter } from "./setters.js";

/** One patched run: its place in the result, the hook it edits and the first position it can change. */
export interface PatchVariant {
  slot: number;
  index: number[];
  layer: number;
  hookName: string;
  startPos: number;
}

export type MetricFn = (logits: Tensor) => number | Tensor | Promise<number | Tensor>;

export interface SweepInputs {
  model: HookedTransformer;
  corruptedTokens: Tensor;
  cleanCache: ActivationCache;
  metric: MetricFn;
  setter: PatchSetter;
  /** "last" or absolute positions: the metric receives logits [batch, n, d_vocab] at those positions only. */
  metricPositions?: "last" | number[];
  /** Upper bound on rows (batch × positions) in one stacked forward. */
  maxRows?: number;
  /** Precision of the weight GEMMs of the corrupted and patched runs (default "fp32"). */
  matmulPrecision?: MatmulPrecision;
  /** The setter writes only positions ≥ the offset it is given, whatever the variant's startPos (true for the
   *  built-in setters): a variant may then start at the first position its patch actually changes. */
  setterHonoursOffset: boolean;
  onChunkDone: (variantsDone: number) => void;
}

export async function metricValue(metric: MetricFn, logits: Tensor): Promise<number> {
  const v = await metric(logits);
  return typeof v === "number" ? v : v.item();
}

/** A fresh copy of x [batch, ...] repeated `times` along the batch: [times * batch, ...] (patches write into it). */
function freshTiles(x: Tensor, times: number): Tensor {
  return times === 1 ? x.clone() : tileBatch(x, times);
}

export async function fastSweep(inp: SweepInputs, variants: PatchVariant[], out: Float64Array): Promise<void> {
  const { model, corruptedTokens } = inp;
  const [batch, nPos] = corruptedTokens.shape as [number, number];
  const patched = new Set(variants.map((v) => v.hookName));
  const keep = (n: string): boolean => /\.hook_resid_pre$/.test(n) || HEAD_LOCAL_CACHE.test(n) || patched.has(n);
  const [corruptedLogits, corrupted] = await model.runWithCache(corruptedTokens, {
    namesFilter: keep,
    matmulPrecision: inp.matmulPrecision,
  });
  const metricAbs =
    inp.metricPositions === undefined
      ? null
      : inp.metricPositions === "last"
        ? [nPos - 1]
        : inp.metricPositions.map((q) => (q < 0 ? q + nPos : q));
  const maxRows = inp.maxRows ?? 4096;
  const byStart = new Map<number, PatchVariant[]>();
  let done = 0;
  let corruptedScore: number | null = null;
  for (const variant of variants) {
    const v = effectiveStart(inp, variant, corrupted, metricAbs);
    if (v) {
      byStart.set(v.startPos, [...(byStart.get(v.startPos) ?? []), v]);
      continue;
    }
    // the patch changes nothing the metric reads: its score is the corrupted run's
    corruptedScore ??= await metricValue(inp.metric, metricLogits(corruptedLogits, metricAbs));
    out[variant.slot] = corruptedScore;
    done++;
  }
  if (done) inp.onChunkDone(done);
  for (const [p, group] of [...byStart.entries()].sort((a, b) => a[0] - b[0])) {
    group.sort((a, b) => a.layer - b.layer);
    const perChunk = Math.max(1, Math.floor(maxRows / (batch * (nPos - p))));
    for (let c = 0; c < group.length; c += perChunk) {
      const chunk = group.slice(c, c + perChunk);
      const run = await runChunk(inp, corrupted, chunk, p, metricAbs);
      await scoreChunk(inp, chunk, run, p, corruptedLogits, metricAbs, out);
      done += chunk.length;
      inp.onChunkDone(done);
    }
  }
}

/** The corrupted run's logits [batch, n, d_vocab] at the metric's positions (all when null). */
function metricLogits(logits: Tensor, metricAbs: number[] | null): Tensor {
  if (!metricAbs) return logits;
  return metricAbs.length === 1
    ? logits.narrow(1, metricAbs[0]!, 1)
    : cat(
        metricAbs.map((q) => logits.narrow(1, q, 1)),
        1,
      );
}

/** The variant with its start raised to the first position its patch changes (causal models, setters that honour
 *  offsets), or null when the patch cannot change what the metric reads: it writes the values already there, or
 *  only positions after every metric position. */
function effectiveStart(
  inp: SweepInputs,
  v: PatchVariant,
  corrupted: ActivationCache,
  metricAbs: number[] | null,
): PatchVariant | null {
  const before = corrupted.get(v.hookName);
  const after = before.clone();
  const replaced = inp.setter(after, v.index, inp.cleanCache.get(v.hookName), 0);
  const posAxis = /\.hook_(pattern|attn_scores)$/.test(v.hookName) ? 2 : 1;
  const first = firstChangedPosition(before, replaced ?? after, posAxis);
  if (first === null) return null;
  const causal = inp.model.cfg.attentionDir === "causal";
  const startPos = causal && inp.setterHonoursOffset ? Math.max(v.startPos, first) : v.startPos;
  if (causal && metricAbs && metricAbs.every((q) => q < first)) return null;
  return startPos === v.startPos ? v : { ...v, startPos };
}

/** The first index along posAxis at which `after` differs from `before` (same shape), 0 when the shapes differ,
 *  null when equal. NaN counts as a change. */
function firstChangedPosition(before: Tensor, after: Tensor, posAxis: number): number | null {
  if (after.shape.length !== before.shape.length || after.shape.some((d, i) => d !== before.shape[i])) return 0;
  const a = before.contiguous().dataSync();
  const b = after.contiguous().dataSync();
  const nPos = before.shape[posAxis]!;
  const inner = before.shape.slice(posAxis + 1).reduce((x, y) => x * y, 1);
  const outer = a.length / (nPos * inner || 1);
  let first: number | null = null;
  for (let o = 0; o < outer; o++) {
    for (let p = 0; p < (first ?? nPos); p++) {
      const base = (o * nPos + p) * inner;
      for (let i = 0; i < inner; i++) {
        if (!(a[base + i] === b[base + i])) {
          first = p;
          break;
        }
      }
    }
  }
  return first;
}

/** A chunk's residual after the last block, [chunk * batch, nPos - firstPos, d_model], from position firstPos on. */
interface ChunkRun {
  residual: Tensor;
  firstPos: number;
}

/** Runs the stacked patched runs of one chunk from the first patched layer to the end. Rows are the members'
 *  batches in the order they joined. */
async function runChunk(
  inp: SweepInputs,
  corrupted: ActivationCache,
  chunk: PatchVariant[],
  p: number,
  metricAbs: number[] | null,
): Promise<ChunkRun> {
  const { model } = inp;
  const last = model.cfg.nLayers - 1;
  let residual: Tensor | null = null;
  let members: PatchVariant[] = [];
  let firstPos = p;
  for (let l = chunk[0]!.layer; l <= last; l++) {
    const newcomers = chunk.filter((v) => v.layer === l);
    // head-local patches at a block no shared hook touches skip its attention but for the heads they change
    const quiet = !blockHasSharedHooks(model, l);
    const local = quiet ? newcomers.filter((v) => isHeadLocal(model, v.hookName)) : [];
    const hooked = newcomers.filter((v) => !local.includes(v));
    if (hooked.length) {
      const fresh = freshTiles(
        corrupted.get(`blocks.${l}.hook_resid_pre`).narrow(1, p, inp.corruptedTokens.shape[1]! - p),
        hooked.length,
      );
      residual = residual ? cat([residual, fresh], 0) : fresh;
      members = [...members, ...hooked];
    }
    if (l === last && !hooked.length) firstPos = lastBlockStart(metricAbs, p);
    const parts: Tensor[] = [];
    if (residual) parts.push(await runBlock(inp, corrupted, l, residual, members, hooked, p, firstPos));
    if (local.length) {
      parts.push(await runBlockHeadLocal(inp, corrupted, l, local, p, firstPos));
      members = [...members, ...local];
    }
    if (parts.length) residual = parts.length === 1 ? parts[0]! : cat(parts, 0);
  }
  if (!residual) throw new HookError("patching: no variant to run");
  // the runner computes the last block's outputs from firstPos only when nothing hooks it; it returns those
  return { residual, firstPos };
}

/** Block l on the stacked residual [members * batch, nPos - p, d_model], the hooked newcomers' patches applied by
 *  hooks; positions before firstPos (> p only in the last block) contribute keys and values only. */
async function runBlock(
  inp: SweepInputs,
  corrupted: ActivationCache,
  l: number,
  residual: Tensor,
  members: PatchVariant[],
  hooked: PatchVariant[],
  p: number,
  firstPos: number,
): Promise<Tensor> {
  const batch = inp.corruptedTokens.shape[0]!;
  // one hook per hook name edits the rows of the variants that patch it at this layer
  const byName = new Map<string, PatchVariant[]>();
  for (const v of hooked) byName.set(v.hookName, [...(byName.get(v.hookName) ?? []), v]);
  const hooks: [string, HookFn][] = [...byName.entries()].map(([name, vs]) => [
    name,
    (act: Tensor) => {
      for (const v of vs) patchRows(inp, act.narrow(0, members.indexOf(v) * batch, batch), v, p);
    },
  ]);
  const prefix = KeyValuePrefix.fromCache(corrupted, p, members.length);
  return runBlocks(inp.model, residual, {
    from: l,
    to: l + 1,
    prefix,
    hooks,
    outputFrom: firstPos,
    matmulPrecision: inp.matmulPrecision,
  });
}

/** Writes variant v's clean activation into rows [batch, nPos - p, ...] of its stacked activation, in place. */
function patchRows(inp: SweepInputs, rows: Tensor, v: PatchVariant, p: number): void {
  const replaced = inp.setter(rows, v.index, inp.cleanCache.get(v.hookName), p);
  if (replaced && replaced !== rows) rows.set([], replaced);
}

/** Block l for head-local patches that join there, from position firstPos on: [vs * batch, nPos - firstPos, d_model].
 *  Each adds (z' − z) @ W_O of the heads it changes to the corrupted run's attention output (head-local.ts); the
 *  rest of the block runs on the stacked rows. */
async function runBlockHeadLocal(
  inp: SweepInputs,
  corrupted: ActivationCache,
  l: number,
  vs: PatchVariant[],
  p: number,
  firstPos: number,
): Promise<Tensor> {
  const { model, matmulPrecision } = inp;
  const batch = inp.corruptedTokens.shape[0]!;
  const n = inp.corruptedTokens.shape[1]! - firstPos;
  const z = corrupted.get(`blocks.${l}.attn.hook_z`).narrow(1, firstPos, n); // [batch, n, head, d_head]
  const attn = freshTiles(await attentionOutput(model, l, z, matmulPrecision), vs.length); // [vs * batch, n, d_model]
  for (const [i, v] of vs.entries()) {
    const change = await headChange(model, corrupted, v.hookName, p, (before) => {
      const after = before.clone();
      patchRows(inp, after, v, p);
      return after;
    });
    if (change)
      attn
        .narrow(0, i * batch, batch)
        .add_(headsOutput(model, l, change.dz.narrow(1, firstPos - p, n), change.heads, matmulPrecision));
  }
  const resid = freshTiles(corrupted.get(`blocks.${l}.hook_resid_pre`).narrow(1, firstPos, n), vs.length);
  return runBlockFromAttention(model, l, resid, attn, { positionOffset: firstPos, matmulPrecision });
}

/** The first position whose last-block output the metric needs: the first metric position ≥ p (the runner
 *  computes earlier positions' keys and values only, when nothing hooks the block), else p. */
function lastBlockStart(metricAbs: number[] | null, p: number): number {
  const read = metricAbs?.filter((q) => q >= p) ?? [];
  return read.length ? Math.min(...read) : p;
}

/** Logits where the metric reads them and the metric for every variant of the chunk. */
async function scoreChunk(
  inp: SweepInputs,
  chunk: PatchVariant[],
  run: ChunkRun,
  p: number,
  corruptedLogits: Tensor,
  metricAbs: number[] | null,
  out: Float64Array,
): Promise<void> {
  const { model } = inp;
  const batch = inp.corruptedTokens.shape[0]!;
  const nPos = inp.corruptedTokens.shape[1]!;
  // absolute positions whose logits the metric sees; those before p are the corrupted run's
  const wanted = metricAbs ?? Array.from({ length: nPos }, (_, i) => i);
  const recomputed = wanted.filter((q) => q >= p);
  let fresh: Tensor | null = null;
  if (recomputed.length) {
    // [chunk * batch, recomputed, d_vocab]
    fresh = await logitsFromResidual(
      model,
      run.residual,
      recomputed.map((q) => q - run.firstPos),
      inp.matmulPrecision,
    );
  }
  for (let i = 0; i < chunk.length; i++) {
    const rows = fresh ? fresh.narrow(0, i * batch, batch) : null;
    const parts = wanted.map((q) =>
      q >= p ? rows!.narrow(1, recomputed.indexOf(q), 1) : corruptedLogits.narrow(1, q, 1),
    );
    const logits = parts.length === 1 ? parts[0]! : cat(parts, 1);
    out[chunk[i]!.slot] = await metricValue(inp.metric, logits);
  }
}
