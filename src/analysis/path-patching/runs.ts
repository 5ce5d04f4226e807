// The two runs of path patching (original and new), and the first stage: senders patched, every other head frozen.
import { AnalysisError, ShapeError } from "../../errors.js";
import { Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { ActivationCache } from "../../model/activation-cache.js";
import { mlpOutput, tileBatch } from "../../model/run/index.js";
import type { HookFn, NameFilter } from "../../model/hook-point.js";
import type { IOIDataset } from "../../datasets/ioi.js";
import { type Head, type PathPatchInputs, type PositionedMetric, int32 } from "./positions.js";

export interface Runs {
  model: HookedTransformer;
  origTokens: Tensor;
  batch: number;
  seqLen: number;
  dataset?: IOIDataset;
  orig: ActivationCache;
  new_: ActivationCache;
}

const z = (l: number): string => `blocks.${l}.attn.hook_z`;

async function ensureCache(
  model: HookedTransformer,
  tokens: Tensor,
  cache: ActivationCache | undefined,
  needed: string[],
): Promise<ActivationCache> {
  if (cache && needed.every((n) => cache.has(n))) return cache;
  const want = new Set(needed);
  const [, fresh] = await model.runWithCache(tokens, {
    namesFilter: (n) => want.has(n),
    stopAtLayer: model.cfg.nLayers,
  });
  return fresh;
}

export async function prepareRuns(model: HookedTransformer, o: PathPatchInputs, origNeeded: string[]): Promise<Runs> {
  const origTokens = o.origTokens ?? o.origDataset?.toks;
  const newTokens = o.newTokens ?? o.newDataset?.toks;
  if (!origTokens || !newTokens)
    throw new AnalysisError("path patching: pass origDataset (or origTokens) and newDataset (or newTokens)");
  if (origTokens.ndim !== 2 || newTokens.ndim !== 2 || origTokens.shape.some((s, i) => s !== newTokens.shape[i])) {
    throw new ShapeError(
      `path patching: the original and new tokens must both be [batch, pos] of one shape, got [${origTokens.shape}] and [${newTokens.shape}]`,
    );
  }
  const L = model.cfg.nLayers;
  const zs = Array.from({ length: L }, (_, l) => z(l));
  const orig = await ensureCache(model, origTokens, o.origCache, [...new Set([...zs, ...origNeeded])]);
  const new_ = await ensureCache(model, newTokens, o.newCache, zs);
  const [batch, seqLen] = origTokens.shape as [number, number];
  for (const name of zs) {
    for (const [which, c] of [
      ["original", orig],
      ["new", new_],
    ] as const) {
      const t = c.get(name);
      if (t.shape[0] !== batch || t.shape[1] !== seqLen)
        throw new ShapeError(
          `path patching: the ${which} cache's ${name} has shape [${t.shape}], the tokens [${batch}, ${seqLen}]`,
        );
    }
  }
  return { model, origTokens, batch, seqLen, dataset: o.origDataset, orig, new_ };
}

export function defaultMaxRows(model: HookedTransformer, shortcut: boolean): number {
  // the logits of a chunk stay below ~128 MB unless the metric skips the unembedding
  return shortcut ? 1 << 16 : Math.max(1, Math.floor((1 << 25) / model.cfg.dVocabOut));
}

/** The metric's shortcut applies at its own positions only. */
export function useShortcut(metric: PositionedMetric, o: PathPatchInputs): boolean {
  return (
    metric.fromNormalizedResid !== undefined && o.metricPositions === undefined && metric.metricPositions !== undefined
  );
}

// ---------------------------------------------------------------------------------------------------------------
// stage 1, fast: every head frozen, senders patched; the stream at chosen (row, position) pairs, per layer

/** Per sender group, the stream [groups * batch, m, d_model] at positions `cols` [batch][m], evolved from layer
 *  `from` up to (not through) layer `to`; `visit(l, stream)` sees the stream entering each layer l in [from, to]. */
export async function frozenStreams(
  runs: Runs,
  groups: Head[][],
  senderPos: number[][],
  cols: number[][],
  from: number,
  to: number,
  freezeMlps: boolean,
  visit: (layer: number, stream: Tensor) => Promise<void>,
): Promise<void> {
  const { model, orig, new_, batch } = runs;
  const G = groups.length;
  const m = cols[0]!.length;
  const rowIdx = int32(
    cols.flatMap((_, b) => new Array<number>(m).fill(b)),
    [batch, m],
  );
  const posIdx = int32(cols.flat(), [batch, m]);
  const at = (t: Tensor): Tensor => t.get(rowIdx, posIdx); // [batch, m, ...]
  // sender masks: is (b, cols[b][j]) a sender position? (null = all)
  const allPos = senderPos.every((r) => r.length === runs.seqLen);
  const mask = allPos
    ? null
    : Tensor.fromTypedArray(
        Float32Array.from(cols.flatMap((c, b) => c.map((p) => (senderPos[b]!.includes(p) ? 1 : 0)))),
        [batch, m, 1],
      );
  let stream = tileBatch(at(orig.get(`blocks.${from}.hook_resid_pre`)), G).contiguous();
  for (let l = from; l <= to; l++) {
    await visit(l, stream);
    if (l === to) break;
    const block = model.blocks[l]!;
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
export function freezeHooks(
  runs: Runs,
  group: Head[],
  senderPos: number[][],
  freezeMlps: boolean,
): [NameFilter, HookFn][] {
  const { model, orig, new_ } = runs;
  const allPos = senderPos.every((r) => r.length === runs.seqLen);
  const rows = int32(senderPos.flatMap((r, b) => r.map(() => b)));
  const pos = int32(senderPos.flat());
  const hooks: [NameFilter, HookFn][] = [];
  for (let l = 0; l < model.cfg.nLayers; l++) {
    hooks.push([
      z(l),
      (act) => {
        act.copy_(orig.get(z(l)));
        for (const [sl, h] of group) {
          if (sl !== l) continue;
          if (allPos) act.set([":", ":", h], new_.get(z(l)).get(":", ":", h));
          else act.set([rows, pos, h], new_.get(z(l)).get(rows, pos, h));
        }
      },
    ]);
    if (freezeMlps && !model.cfg.attnOnly)
      hooks.push([
        `blocks.${l}.hook_mlp_out`,
        (act) => {
          act.copy_(orig.get(`blocks.${l}.hook_mlp_out`));
        },
      ]);
  }
  return hooks;
}
