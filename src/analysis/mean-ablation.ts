// Circuit validation by mean ablation (Wang et al. 2022 §4; seed 002 / ARENA 1.4: compute_means_by_template,
// get_heads_and_posns_to_keep, add_mean_ablation_hook, get_score, get_minimality_score). Every head outside the
// circuit, and every circuit head away from the positions its class keeps, has its output (hook_z) replaced by the
// mean output over the prompts of the same template in a means dataset (usually the ABC dataset).
import { AnalysisError, HookError, ShapeError } from "../errors.js";
import { cat, stack, Tensor, where, zeros } from "../tensor/index.js";
import type { HookedTransformer } from "../model/hooked-transformer.js";
import type { ActivationCache } from "../model/activation-cache.js";
import type { HookFn, HookInfo } from "../model/hook-point.js";
import type { IOIDataset } from "../datasets/ioi.js";
import { progressReporter, type ProgressOptions } from "./progress.js";
import {
  gatherLayout,
  resolveMetricLayout,
  resolvePositions,
  scoreResid,
  type Head,
  type PositionedMetric,
  type PositionSpec,
} from "./path-patching.js";
import { ioiMetric } from "./ioi/metric.js";

/** Heads by class, e.g. `{ "name mover": [[9, 9], [10, 0]], ... }` (seed 002's CIRCUIT). */
export type Circuit = Readonly<Record<string, readonly Head[]>>;
/** The positions each class keeps, e.g. `{ "name mover": "end", "induction": "S2", "previous token": "S1+1" }`
 *  (seed 002's SEQ_POS_TO_KEEP); any PositionSpec ("all", a word, per-row lists). */
export type SeqPosToKeep = Readonly<Record<string, PositionSpec>>;

const zName = (l: number): string => `blocks.${l}.attn.hook_z`;

/**
 * The mean of every head's output (hook_z) over each template group of `meansDataset` (`dataset.groups`): float32
 * [layer, batch, pos, head, d_head], row b holding the mean of its group (seed 002 `compute_means_by_template`).
 * Pass `cache` (with every hook_z of a run on meansDataset.toks) to skip the run.
 */
export async function computeMeansByTemplate(
  model: HookedTransformer,
  meansDataset: IOIDataset,
  opts: { cache?: ActivationCache } = {},
): Promise<Tensor> {
  const L = model.cfg.nLayers;
  let cache = opts.cache;
  if (!cache || !Array.from({ length: L }, (_, l) => zName(l)).every((n) => cache!.has(n))) {
    [, cache] = await model.runWithCache(meansDataset.toks, {
      namesFilter: (n) => n.endsWith("attn.hook_z"),
      stopAtLayer: model.cfg.nLayers,
    });
  }
  const [batch, pos] = meansDataset.toks.shape as [number, number];
  const first = cache.get(zName(0));
  if (first.shape[0] !== batch || first.shape[1] !== pos)
    throw new ShapeError(
      `computeMeansByTemplate: the cache's hook_z is [${first.shape}], the dataset's tokens [${batch}, ${pos}]`,
    );
  const means = zeros([L, batch, pos, model.cfg.nHeads, model.cfg.dHead]);
  for (let l = 0; l < L; l++) {
    const zl = cache.get(zName(l));
    const target = means.get(l);
    for (const group of meansDataset.groups) {
      const idx = Tensor.fromTypedArray(Int32Array.from(group), [group.length]);
      target.set([idx], zl.get(idx).to("float64").mean(0).to("float32"));
    }
  }
  return means;
}

export interface KeepOptions {
  /** Keep, for every prompt, each position that is the kept word of *any* prompt — what seed 002 / ARENA's
   *  `mask[:, indices, head] = 1` does. Default false: each prompt keeps its own positions (the IOI paper). */
  unionOfPositions?: boolean;
}

/**
 * Per layer, a bool mask [batch, pos, head]: true where the head's output is kept (circuit heads at their class's
 * positions), false where it is mean-ablated (seed 002 `get_heads_and_posns_to_keep`). Positions are resolved
 * through `dataset.wordIdx` ("end", "S2", "S1+1", ...).
 */
export function getHeadsAndPosnsToKeep(
  model: HookedTransformer,
  dataset: IOIDataset,
  circuit: Circuit,
  seqPosToKeep: SeqPosToKeep,
  opts: KeepOptions = {},
): Tensor[] {
  const [batch, pos] = dataset.toks.shape as [number, number];
  const H = model.cfg.nHeads;
  const masks = Array.from({ length: model.cfg.nLayers }, () => new Uint8Array(batch * pos * H));
  for (const [cls, heads] of Object.entries(circuit)) {
    const spec = seqPosToKeep[cls];
    if (spec === undefined)
      throw new AnalysisError(`mean ablation: the circuit class "${cls}" has no entry in seqPosToKeep`);
    let rows = resolvePositions(spec, batch, pos, dataset, `seqPosToKeep["${cls}"]`);
    if (opts.unionOfPositions) {
      const all = [...new Set(rows.flat())].sort((a, b) => a - b);
      rows = rows.map(() => all);
    }
    for (const [l, h] of heads) {
      if (!(l >= 0 && l < model.cfg.nLayers && h >= 0 && h < H))
        throw new AnalysisError(`mean ablation: circuit head [${l}, ${h}] does not exist`);
      rows.forEach((ps, b) => {
        for (const p of ps) masks[l]![(b * pos + p) * H + h] = 1;
      });
    }
  }
  return masks.map((m) => Tensor.fromTypedArray(m, [batch, pos, H]).to("bool"));
}

/**
 * The hook functions that mean-ablate hook_z outside the kept mask: one per layer, `[hookName, fn]`. They work on a
 * prefix of the positions, so they keep working with the KV cache during `generate` (each call sees positions
 * `hook.positionOffset` ..): positions past the means' length are left alone. The batch must be the means' batch.
 */
export function meanAblationHooks(means: Tensor, keep: Tensor[]): [string, HookFn][] {
  const [L, batch, len] = means.shape as [number, number, number];
  if (keep.length !== L) throw new ShapeError(`mean ablation: ${keep.length} keep masks for ${L} layers`);
  return Array.from({ length: L }, (_, l) => [
    zName(l),
    (zAct: Tensor, hook: HookInfo) => {
      if (zAct.shape[0] !== batch) {
        throw new HookError(
          `mean ablation: the run has batch ${zAct.shape[0]}, the means were computed for ${batch} prompts (run the dataset's own prompts, row for row)`,
        );
      }
      const start = hook.positionOffset;
      const stop = Math.min(start + zAct.shape[1]!, len);
      if (stop <= start) return;
      const part = zAct.narrow(1, 0, stop - start);
      const k = keep[l]!.narrow(1, start, stop - start).unsqueeze(-1);
      part.copy_(where(k, part, means.get(l).narrow(1, start, stop - start)));
    },
  ]);
}

export interface MeanAblationOptions extends KeepOptions {
  /** Means from computeMeansByTemplate (computed from meansDataset when absent). */
  means?: Tensor;
  /** Default true (seed 002: `is_permanent=True`). */
  isPermanent?: boolean;
  /** Remove every hook first, permanent ones included, as seed 002 does (default true). */
  resetHooks?: boolean;
}

export interface MeanAblationHandle {
  means: Tensor;
  keep: Tensor[];
  /** Removes exactly the hooks added. */
  remove: () => void;
}

/**
 * Seed 002 `add_mean_ablation_hook`: mean-ablates everything outside the circuit on every later run of the model
 * (a permanent hook by default), including `generate` with the KV cache (see meanAblationHooks).
 *
 * ```ts
 * const h = await addMeanAblationHook(model, abcDataset, CIRCUIT, SEQ_POS_TO_KEEP);
 * const logits = await model.forward(ioiDataset.toks);   // the circuit alone
 * h.remove();
 * ```
 */
export async function addMeanAblationHook(
  model: HookedTransformer,
  meansDataset: IOIDataset,
  circuit: Circuit,
  seqPosToKeep: SeqPosToKeep,
  opts: MeanAblationOptions = {},
): Promise<MeanAblationHandle> {
  if (opts.resetHooks ?? true) model.resetHooks({ includingPermanent: true });
  const means = opts.means ?? (await computeMeansByTemplate(model, meansDataset));
  const keep = getHeadsAndPosnsToKeep(model, meansDataset, circuit, seqPosToKeep, opts);
  const hooks = meanAblationHooks(means, keep);
  for (const [name, fn] of hooks) model.addHook(name, fn, { isPermanent: opts.isPermanent ?? true });
  return {
    means,
    keep,
    remove: () => {
      for (const [name, fn] of hooks) model.hookPoints.get(name)!.remove(fn);
    },
  };
}

/** `circuit` without the heads of `removed`. */
export function circuitWithout(circuit: Circuit, removed: readonly Head[]): Circuit {
  const gone = new Set(removed.map(([l, h]) => `${l}.${h}`));
  return Object.fromEntries(
    Object.entries(circuit).map(([k, heads]) => [k, heads.filter(([l, h]) => !gone.has(`${l}.${h}`))]),
  );
}

export interface CircuitScoreOptions extends KeepOptions, ProgressOptions {
  /** The prompts the circuit runs on (e.g. the IOI dataset); its rows must line up with meansDataset's. */
  dataset: IOIDataset;
  /** The dataset the means come from (e.g. the ABC dataset). */
  meansDataset: IOIDataset;
  circuit: Circuit;
  seqPosToKeep: SeqPosToKeep;
  /** Default: the mean IO − S logit difference at end (ioiMetric without normalisation). */
  metric?: PositionedMetric;
  means?: Tensor;
  /** Upper bound on rows (variants × batch × pos) in one stacked forward (default 16384). */
  maxRows?: number;
}

/**
 * F(C \ K) for several K at once: the metric on `dataset` with everything outside `circuit \ K` mean-ablated, for
 * each K in `removals` (seed 002 `get_score`). Variants run stacked along the batch.
 */
export async function getCircuitScores(
  model: HookedTransformer,
  removals: readonly (readonly Head[])[],
  o: CircuitScoreOptions,
): Promise<number[]> {
  const metric = o.metric ?? ioiMetric(model, o.dataset);
  const means = o.means ?? (await computeMeansByTemplate(model, o.meansDataset));
  const tokens = o.dataset.toks;
  const [batch, pos] = tokens.shape as [number, number];
  if (o.meansDataset.toks.shape[0] !== batch || o.meansDataset.toks.shape[1] !== pos) {
    throw new ShapeError(
      `circuit score: the dataset's tokens are [${tokens.shape}], the means dataset's [${o.meansDataset.toks.shape}]; they must line up row for row`,
    );
  }
  const L = model.cfg.nLayers;
  const layout = resolveMetricLayout(metric.metricPositions, batch, pos, o.dataset);
  const out: number[] = new Array<number>(removals.length);
  const perChunk = Math.max(1, Math.floor((o.maxRows ?? 16384) / (batch * pos)));
  const report = progressReporter("circuit scores", removals.length, o);
  for (let c = 0; c < removals.length; c += perChunk) {
    const chunk = removals.slice(c, c + perChunk);
    const G = chunk.length;
    const keeps = chunk.map((K) =>
      getHeadsAndPosnsToKeep(model, o.meansDataset, circuitWithout(o.circuit, K), o.seqPosToKeep, o),
    );
    const hooks: [string, HookFn][] = Array.from({ length: L }, (_, l) => {
      const k = stack(keeps.map((kk) => kk[l]!)).unsqueeze(-1); // [G, batch, pos, head, 1]
      const m = means.get(l); // [batch, pos, head, d_head]
      return [
        zName(l),
        (zAct: Tensor) => {
          const v = zAct.reshape(G, batch, pos, zAct.shape[2]!, zAct.shape[3]!);
          return where(k, v, m).reshape(zAct.shape);
        },
      ];
    });
    const stacked =
      G === 1
        ? tokens
        : cat(
            Array.from({ length: G }, () => tokens),
            0,
          );
    const resid = await model.runWithHooks(stacked, { fwdHooks: hooks, stopAtLayer: L });
    for (let i = 0; i < G; i++) {
      out[c + i] = await scoreResid(model, metric, gatherLayout(resid.narrow(0, i * batch, batch), layout), true);
    }
    report(Math.min(c + G, removals.length), removals.length);
  }
  return out;
}

/** F(C): the metric with everything outside the circuit mean-ablated. */
export async function getCircuitScore(model: HookedTransformer, o: CircuitScoreOptions): Promise<number> {
  return (await getCircuitScores(model, [[]], o))[0]!;
}

export interface MinimalityScore {
  head: Head;
  K: Head[];
  /** F(C \ K) and F(C \ (K ∪ {v})) */
  withoutK: number;
  withoutKv: number;
  /** |F(C \ (K ∪ {v})) − F(C \ K)|, divided by F(M) (the unablated model) when `relative` (default). */
  score: number;
}

export interface MinimalityOptions extends CircuitScoreOptions {
  /** For each circuit head v, the set K (seed 002's K_FOR_EACH_COMPONENT), as entries [v, K]. */
  kForEachComponent: readonly (readonly [Head, readonly Head[]])[];
  /** Divide by F(M), the metric of the whole model (default true, as seed 002). */
  relative?: boolean;
}

/**
 * Minimality scores |F(C \ (K ∪ {v})) − F(C \ K)| for every v (seed 002 `get_all_minimality_scores`, IOI paper §4.2
 * and Figure 7), as a fraction of F(M). Each distinct K runs once; all of them stacked along the batch.
 */
export async function getAllMinimalityScores(
  model: HookedTransformer,
  o: MinimalityOptions,
): Promise<{ scores: MinimalityScore[]; fullModelScore: number }> {
  const metric = o.metric ?? ioiMetric(model, o.dataset);
  const layout = resolveMetricLayout(
    metric.metricPositions,
    o.dataset.toks.shape[0]!,
    o.dataset.toks.shape[1]!,
    o.dataset,
  );
  const final = await model.forward(o.dataset.toks, { stopAtLayer: model.cfg.nLayers });
  const fullModelScore = await scoreResid(model, metric, gatherLayout(final, layout), true);
  const keyOf = (K: readonly Head[]): string =>
    K.map(([l, h]) => `${l}.${h}`)
      .sort()
      .join(",");
  const sets = new Map<string, Head[]>();
  for (const [v, K] of o.kForEachComponent) {
    if (K.some(([l, h]) => l === v[0] && h === v[1])) throw new AnalysisError(`minimality: v = [${v}] is in its own K`);
    sets.set(keyOf(K), [...K]);
    sets.set(keyOf([...K, v]), [...K, v]);
  }
  const keys = [...sets.keys()];
  const values = await getCircuitScores(
    model,
    keys.map((k) => sets.get(k)!),
    { ...o, metric },
  );
  const F = new Map(keys.map((k, i) => [k, values[i]]));
  const relative = o.relative ?? true;
  const scores = o.kForEachComponent.map(([v, K]) => {
    const withoutK = F.get(keyOf(K))!;
    const withoutKv = F.get(keyOf([...K, v]))!;
    const diff = Math.abs(withoutKv - withoutK);
    return { head: v, K: [...K], withoutK, withoutKv, score: relative ? diff / fullModelScore : diff };
  });
  return { scores, fullModelScore };
}
