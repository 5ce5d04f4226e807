// How a feature's activations are distributed over a dataset (sae_vis's middle column): quantile groups (examples
// drawn at random from equal-width activation bins), the histogram of its positive activations, and every feature's
// density (fraction of tokens where it fires) as a log10 histogram.
import { SaeError } from "../errors.js";
import { PythonRandom } from "../../datasets/python-random.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { Tensor } from "../../tensor/index.js";
import type { SAE } from "../sae.js";
import { encodeDataset } from "./encode-dataset.js";
import { exampleAt, type FeatureActivations, type FeatureExample } from "./top-activations.js";

export interface Histogram {
  /** bin edges, one more than counts (ascending) */
  edges: number[];
  counts: number[];
}

export interface QuantileGroup {
  /** the group's activation interval: (lo, hi], the last one closed at the maximum */
  lo: number;
  hi: number;
  /** tokens whose activation falls in the interval */
  count: number;
  /** count over the tokens where the feature fires */
  fraction: number;
  /** up to `perGroup` of them drawn at random (seeded), largest activation first */
  examples: FeatureExample[];
}

export interface QuantileGroupOptions {
  /** number of equal-width intervals of (0, max] (default 5) */
  groups?: number;
  /** examples drawn per group (default 5) */
  perGroup?: number;
  /** context tokens before and after the activation (default 8 and 2) */
  before?: number;
  after?: number;
  /** seed of the draw (Python's random, default 0) */
  seed?: number;
}

/** Equal-width bins of `values` over [lo, hi]; a value equal to hi lands in the last bin. */
export function histogram(values: ArrayLike<number>, bins: number, lo: number, hi: number): Histogram {
  if (!Number.isInteger(bins) || bins < 1)
    throw new SaeError(`histogram: bins must be a positive integer (got ${bins})`);
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= lo && v <= hi)) continue;
    counts[Math.min(bins - 1, Math.floor((v - lo) / width))]!++;
  }
  return { edges: Array.from({ length: bins + 1 }, (_, b) => lo + b * width), counts };
}

/** The histogram of the feature's positive activations over (0, max] (sae_vis's activation density plot). */
export function activationHistogram(fa: FeatureActivations, bins = 40): Histogram {
  const max = fa.acts.reduce((m, v) => Math.max(m, v), 0);
  return histogram(
    fa.acts.filter((v) => v > 0),
    bins,
    0,
    max,
  );
}

/**
 * sae_vis's quantile groups: (0, max] cut into `groups` equal-width intervals, each with its token count and
 * `perGroup` examples drawn at random from it. The highest interval comes first (as sae_vis lists them).
 */
export function quantileGroups(
  fa: FeatureActivations,
  tokens: Tensor,
  opts: QuantileGroupOptions = {},
): QuantileGroup[] {
  const groups = opts.groups ?? 5,
    perGroup = opts.perGroup ?? 5;
  if (!Number.isInteger(groups) || groups < 1)
    throw new SaeError(`quantileGroups: groups must be a positive integer (got ${groups})`);
  const ids = tokens.contiguous().dataSync();
  const max = fa.acts.reduce((m, v) => Math.max(m, v), 0);
  const members: number[][] = Array.from({ length: groups }, () => []);
  fa.acts.forEach((v, i) => {
    if (v > 0) members[Math.min(groups - 1, Math.ceil((v / max) * groups) - 1)]!.push(i);
  });
  const firing = members.reduce((n, m) => n + m.length, 0);
  const rng = new PythonRandom(opts.seed ?? 0);
  return members
    .map((m, g) => {
      const picked = [...m];
      for (let j = 0; j < Math.min(perGroup, picked.length); j++) {
        // partial Fisher-Yates: the first perGroup are the draw
        const r = j + rng.randbelow(picked.length - j);
        [picked[j], picked[r]] = [picked[r]!, picked[j]!];
      }
      const examples = picked
        .slice(0, perGroup)
        .sort((a, b) => fa.acts[b]! - fa.acts[a]!)
        .map((i) => exampleAt(fa, ids, i, opts.before ?? 8, opts.after ?? 2));
      return {
        lo: (g * max) / groups,
        hi: ((g + 1) * max) / groups,
        count: m.length,
        fraction: firing ? m.length / firing : 0,
        examples,
      };
    })
    .reverse();
}

export interface FeatureDensities {
  /** fraction of the tokens where each feature is > 0 [d_sae] */
  density: Float64Array;
  /** log10 of the density, -Infinity for a feature that never fires */
  log10: Float64Array;
  /** features that never fire on the dataset */
  dead: number;
  /** the histogram of log10 density over the features that fire (sae_vis's feature density plot) */
  histogram: Histogram;
  tokens: number;
}

/** Every feature's density over token rows [rows, ctx], encoded `rowsPerRun` rows at a time. */
export async function featureDensities(
  model: HookedTransformer,
  sae: SAE,
  tokens: Tensor,
  opts: { bins?: number; rowsPerRun?: number } = {},
): Promise<FeatureDensities> {
  const count = densityCounter(sae, tokens, opts.bins);
  await encodeDataset(model, sae, tokens, count.add, opts.rowsPerRun);
  return count.finish();
}

/** What featureDensities keeps from each chunk of the dataset's SAE activations: `add` takes an encodeDataset chunk
 *  [chunk, ctx, d_sae], `finish` gives the densities over the whole dataset [rows, ctx]. */
export function densityCounter(
  sae: SAE,
  tokens: Tensor,
  bins = 30,
): { add: (acts: Tensor) => void; finish: () => FeatureDensities } {
  const [rows, ctx] = tokens.shape as [number, number];
  const fired = new Float64Array(sae.cfg.dSae);
  return {
    add: (acts) => {
      acts
        .gt(0)
        .float()
        .sum([0, 1])
        .dataSync()
        .forEach((c, j) => {
          fired[j]! += Number(c);
        }); // [d_sae]
    },
    finish: () => {
      const density = fired.map((c) => c / (rows * ctx));
      const log10 = density.map((d) => Math.log10(d));
      const alive = log10.filter(Number.isFinite);
      const lo = alive.length ? Math.min(...alive) : 0;
      return {
        density,
        log10,
        dead: density.length - alive.length,
        histogram: histogram(alive, bins, lo, 0),
        tokens: rows * ctx,
      };
    },
  };
}
