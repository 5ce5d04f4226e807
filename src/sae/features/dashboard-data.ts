// The data of an sae_vis-style feature dashboard, as plain JSON: for each chosen feature its top-activating examples,
// quantile groups, activation histogram, logit effects and density, and the density histogram of every feature.
// viz/sae-dashboard.ts draws it; `tlens sae` writes both.
import { SaeError } from "../errors.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { Tensor } from "../../tensor/index.js";
import type { SAE } from "../sae.js";
import {
  activationHistogram,
  densityCounter,
  featureDensities,
  quantileGroups,
  type FeatureDensities,
  type Histogram,
} from "./distribution.js";
import { encodeDataset } from "./encode-dataset.js";
import { logitEffects, type TokenEffect } from "./logit-effects.js";
import {
  activationCollector,
  featuresActivations,
  topExamples,
  type FeatureActivations,
  type FeatureExample,
} from "./top-activations.js";

/** An example with its tokens' text (model.tokenizer, else the ids). */
export interface DashboardExample extends FeatureExample {
  text: string[];
}

export interface DashboardFeature {
  feature: number;
  density: number;
  maxActivation: number;
  top: DashboardExample[];
  quantiles: { lo: number; hi: number; count: number; fraction: number; examples: DashboardExample[] }[];
  activationHistogram: Histogram;
  logits: { top: TokenEffect[]; bottom: TokenEffect[] } | null;
}

export interface SaeDashboardData {
  model: string;
  hookName: string;
  dSae: number;
  architecture: string;
  /** dataset size [rows, ctx] */
  rows: number;
  ctx: number;
  /** log10 density of every feature (null for a feature that never fires) and the histogram of the finite ones */
  log10Density: (number | null)[];
  densityHistogram: Histogram;
  dead: number;
  features: DashboardFeature[];
}

export interface DashboardOptions {
  /** top examples per feature (default 10) */
  topK?: number;
  /** quantile groups and examples per group (default 5 and 4) */
  groups?: number;
  perGroup?: number;
  /** context tokens before and after an activation (default 10 and 3) */
  before?: number;
  after?: number;
  /** tokens in the logit-effect lists (default 10) */
  logitK?: number;
  seed?: number;
}

/** The `n` features that fire on the most tokens, most first (the default choice of a dashboard). */
export function mostActiveFeatures(log10Density: readonly (number | null)[], n: number): number[] {
  return log10Density
    .map((d, f) => [d ?? -Infinity, f])
    .sort((a, b) => b[0]! - a[0]! || a[1]! - b[1]!)
    .slice(0, n)
    .filter((x) => x[0]! > -Infinity)
    .map((x) => x[1]!);
}

/** Every feature's density and the features' activations: one pass over the dataset when the features are given,
 *  else one for the densities and one for the 6 most active. */
async function datasetPasses(
  model: HookedTransformer,
  sae: SAE,
  tokens: Tensor,
  features?: readonly number[],
): Promise<{ dens: FeatureDensities; fas: FeatureActivations[] }> {
  if (features === undefined) {
    const dens = await featureDensities(model, sae, tokens);
    return {
      dens,
      fas: await featuresActivations(model, sae, tokens, mostActiveFeatures(Array.from(dens.log10, finiteOrNull), 6)),
    };
  }
  const count = densityCounter(sae, tokens),
    collect = activationCollector(sae, tokens, features);
  await encodeDataset(model, sae, tokens, (acts, row) => {
    count.add(acts);
    collect.add(acts, row);
  });
  return { dens: count.finish(), fas: collect.finish() };
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** The dashboard of `features` (default: the 6 most active) of `sae` over token rows [rows, ctx]. */
export async function saeDashboardData(
  model: HookedTransformer,
  sae: SAE,
  tokens: Tensor,
  features?: readonly number[],
  opts: DashboardOptions = {},
): Promise<SaeDashboardData> {
  if (tokens.ndim !== 2) throw new SaeError(`saeDashboardData: tokens must be [rows, ctx] (got [${tokens.shape}])`);
  const [rows, ctx] = tokens.shape as [number, number];
  const { dens, fas } = await datasetPasses(model, sae, tokens, features);
  const log10Density = Array.from(dens.log10, finiteOrNull);
  const text = (ids: number[]): string[] =>
    ids.map((t) => (model.tokenizer ? model.tokenizer.idToString(t) : String(t)));
  const named = (e: FeatureExample): DashboardExample => ({ ...e, text: text(e.tokens) });
  const [before, after] = [opts.before ?? 10, opts.after ?? 3];
  const residual = sae.cfg.dIn === model.cfg.dModel;
  const out = fas.map((fa): DashboardFeature => {
    const fx = residual ? logitEffects(model, sae, fa.feature, opts.logitK ?? 10) : null;
    return {
      feature: fa.feature,
      density: fa.density,
      maxActivation: fa.acts.reduce((m, v) => Math.max(m, v), 0),
      top: topExamples(fa, tokens, opts.topK ?? 10, before, after).map(named),
      quantiles: quantileGroups(fa, tokens, {
        groups: opts.groups ?? 5,
        perGroup: opts.perGroup ?? 4,
        before,
        after,
        seed: opts.seed ?? 0,
      }).map((g) => ({ ...g, examples: g.examples.map(named) })),
      activationHistogram: activationHistogram(fa),
      logits: fx && { top: fx.top, bottom: fx.bottom },
    };
  });
  return {
    model: model.cfg.modelName,
    hookName: sae.cfg.hookName,
    dSae: sae.cfg.dSae,
    architecture: sae.cfg.architecture,
    rows,
    ctx,
    log10Density,
    densityHistogram: dens.histogram,
    dead: dens.dead,
    features: out,
  };
}
