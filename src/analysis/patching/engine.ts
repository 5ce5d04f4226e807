// The fast patching sweep. A patch in block l at position p cannot change anything before block l, nor any
// position before p. So each patched run starts at block l from the corrupted run's residual stream, computes
// only positions ≥ p (earlier positions' keys and values come from the corrupted run, as a KV cache does), and
// many patches run together: patches that share p are stacked along the batch, joining the batch at their layer.
// Logits are computed only where the metric reads them (metricPositions) or for the recomputed positions, the rest
// being the corrupted run's. The result equals re-running the whole model per patch (test/analysis/patching).
import { HookError } from "../../errors.js";
import { cat, Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { ActivationCache } from "../../model/activation-cache.js";
import { KeyValueCacheEntry } from "../../model/kv-cache.js";
import type { HookFn } from "../../model/hook-point.js";
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
  onChunkDone: (variantsDone: number) => void;
}

export async function metricValue(metric: MetricFn, logits: Tensor): Promise<number> {
  const v = await metric(logits);
  return typeof v === "number" ? v : v.item();
}

/** Repeats x [batch, ...] `times` along the batch: [times * batch, ...]. */
function tileBatch(x: Tensor, times: number): Tensor {
  return times === 1 ? x : cat(Array.from({ length: times }, () => x), 0);
}

export async function fastSweep(inp: SweepInputs, variants: PatchVariant[], out: Float64Array): Promise<void> {
  const { model, corruptedTokens } = inp;
  const [batch, nPos] = corruptedTokens.shape;
  const keep = (n: string): boolean => /\.hook_resid_pre$/.test(n) || /\.attn\.hook_[kv]$/.test(n);
  const [corruptedLogits, corrupted] = await model.runWithCache(corruptedTokens, { namesFilter: keep });
  const metricAbs = inp.metricPositions === undefined ? null
    : inp.metricPositions === "last" ? [nPos - 1] : inp.metricPositions.map((q) => (q < 0 ? q + nPos : q));
  const maxRows = inp.maxRows ?? 4096;
  const byStart = new Map<number, PatchVariant[]>();
  for (const v of variants) byStart.set(v.startPos, [...(byStart.get(v.startPos) ?? []), v]);
  let done = 0;
  for (const [p, group] of [...byStart.entries()].sort((a, b) => a[0] - b[0])) {
    group.sort((a, b) => a.layer - b.layer);
    const perChunk = Math.max(1, Math.floor(maxRows / (batch * (nPos - p))));
    for (let c = 0; c < group.length; c += perChunk) {
      const chunk = group.slice(c, c + perChunk);
      const residual = await runChunk(inp, corrupted, chunk, p);
      await scoreChunk(inp, chunk, residual, p, corruptedLogits, metricAbs, out);
      done += chunk.length;
      inp.onChunkDone(done);
    }
  }
}

/** Runs the stacked patched runs of one chunk from the first patched layer to the end: residual
 *  [chunk * batch, nPos - p, d_model] after the last block. */
async function runChunk(inp: SweepInputs, corrupted: ActivationCache, chunk: PatchVariant[], p: number): Promise<Tensor> {
  const { model, cleanCache, setter } = inp;
  const batch = inp.corruptedTokens.shape[0];
  for (const hp of model.hookPoints.values()) hp.positionOffset = p;
  let residual: Tensor | null = null;
  let members: PatchVariant[] = [];
  try {
    for (let l = chunk[0].layer; l < model.cfg.nLayers; l++) {
      const newcomers = chunk.filter((v) => v.layer === l);
      if (newcomers.length) {
        const residPre = corrupted.get(`blocks.${l}.hook_resid_pre`);
        const start = residPre.narrow(1, p, residPre.shape[1] - p);
        const fresh = tileBatch(start, newcomers.length);
        residual = residual ? cat([residual, fresh], 0) : fresh.contiguous();
        members = [...members, ...newcomers];
      }
      if (!residual) continue;
      const reps = members.length;
      const entry = new KeyValueCacheEntry();
      if (p > 0) {
        entry.keys = tileBatch(corrupted.get(`blocks.${l}.attn.hook_k`).narrow(1, 0, p), reps);
        entry.values = tileBatch(corrupted.get(`blocks.${l}.attn.hook_v`).narrow(1, 0, p), reps);
      }
      // one hook per hook name edits the rows of the variants that patch it at this layer
      const hooks = new Map<string, PatchVariant[]>();
      for (const v of newcomers) hooks.set(v.hookName, [...(hooks.get(v.hookName) ?? []), v]);
      const fwdHooks: [string, HookFn][] = [...hooks.entries()].map(([name, vs]) => [name, (act: Tensor) => {
        const clean = cleanCache.get(name);
        for (const v of vs) {
          const rows = act.narrow(0, members.indexOf(v) * batch, batch);
          const replaced = setter(rows, v.index, clean, p);
          if (replaced && replaced !== rows) rows.set([], replaced);
        }
      }]);
      const input: Tensor = residual;
      residual = await model.withHooks(fwdHooks, () => model.blocks[l].forward(input, { attentionMask: null, kvCache: entry }));
    }
  } finally {
    for (const hp of model.hookPoints.values()) hp.positionOffset = 0;
  }
  if (!residual) throw new HookError("patching: no variant to run");
  return residual;
}

/** Logits where the metric reads them and the metric for every variant of the chunk. */
async function scoreChunk(inp: SweepInputs, chunk: PatchVariant[], residual: Tensor, p: number, corruptedLogits: Tensor,
  metricAbs: number[] | null, out: Float64Array): Promise<void> {
  const { model } = inp;
  const batch = inp.corruptedTokens.shape[0];
  const nPos = inp.corruptedTokens.shape[1];
  // absolute positions whose logits the metric sees; those before p are the corrupted run's
  const wanted = metricAbs ?? Array.from({ length: nPos }, (_, i) => i);
  const recomputed = wanted.filter((q) => q >= p);
  let fresh: Tensor | null = null;
  if (recomputed.length) {
    const picked = residual.get(":", Tensor.fromTypedArray(Int32Array.from(recomputed.map((q) => q - p)), [recomputed.length]));
    const normalized = model.lnFinal ? await model.lnFinal.forward(picked) : picked;
    fresh = model.unembed.forward(normalized); // [chunk * batch, recomputed, d_vocab]
  }
  for (let i = 0; i < chunk.length; i++) {
    const rows = fresh ? fresh.narrow(0, i * batch, batch) : null;
    const parts = wanted.map((q) => (q >= p ? rows!.narrow(1, recomputed.indexOf(q), 1) : corruptedLogits.narrow(1, q, 1)));
    const logits = parts.length === 1 ? parts[0] : cat(parts, 1);
    out[chunk[i].slot] = await metricValue(inp.metric, logits);
  }
}
