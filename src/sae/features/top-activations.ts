// A feature's activations over a token dataset and its top-activating examples with their context (sae_vis's
// "top activations"), plus its density (the fraction of tokens where it fires).
import { SaeError } from "../errors.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import { Tensor } from "../../tensor/index.js";
import type { SAE } from "../sae.js";
import { encodeDataset } from "./encode-dataset.js";

export interface FeatureExample {
  row: number;
  /** the position of the activation in its row */
  pos: number;
  activation: number;
  /** token ids of the context window, from position `start` */
  tokens: number[];
  start: number;
  /** the feature's activation at each context token */
  acts: number[];
}

export interface FeatureActivations {
  feature: number;
  /** the feature's activations [rows, ctx] */
  acts: Float32Array;
  rows: number;
  ctx: number;
  /** fraction of tokens where the feature is > 0 */
  density: number;
}

/** The feature's activations over token rows [rows, ctx], the SAE encoding its hook's activations. */
export async function featureActivations(
  model: HookedTransformer,
  sae: SAE,
  tokens: Tensor,
  feature: number,
): Promise<FeatureActivations> {
  return (await featuresActivations(model, sae, tokens, [feature]))[0]!;
}

/** featureActivations of several features from one pass over the dataset. */
export async function featuresActivations(
  model: HookedTransformer,
  sae: SAE,
  tokens: Tensor,
  features: readonly number[],
): Promise<FeatureActivations[]> {
  const collect = activationCollector(sae, tokens, features);
  await encodeDataset(model, sae, tokens, collect.add);
  return collect.finish();
}

/** What featuresActivations keeps from each chunk of the dataset's SAE activations: `add` takes an encodeDataset
 *  chunk [chunk, ctx, d_sae] at its first row, `finish` gives the features' activations and densities. */
export function activationCollector(
  sae: SAE,
  tokens: Tensor,
  features: readonly number[],
): { add: (acts: Tensor, row: number) => void; finish: () => FeatureActivations[] } {
  for (const f of features) {
    if (!Number.isInteger(f) || f < 0 || f >= sae.cfg.dSae)
      throw new SaeError(`featureActivations: feature ${f} is outside 0..${sae.cfg.dSae - 1}`);
  }
  const [rows, ctx] = tokens.shape as [number, number];
  const out = features.map((feature) => ({ feature, acts: new Float32Array(rows * ctx), rows, ctx, density: 0 }));
  const index = Tensor.fromTypedArray(Int32Array.from(features), [features.length]);
  return {
    add: (acts, row) => {
      const picked = acts.get(":", ":", index).permute(2, 0, 1).contiguous().dataSync() as Float32Array; // [features, chunk, ctx]
      const n = acts.shape[0]! * ctx;
      out.forEach((fa, j) => fa.acts.set(picked.subarray(j * n, (j + 1) * n), row * ctx));
    },
    finish: () => {
      for (const fa of out) fa.density = fa.acts.reduce((n, v) => n + (v > 0 ? 1 : 0), 0) / fa.acts.length;
      return out;
    },
  };
}

/** The example at flat index `i` of fa.acts (row-major [rows, ctx]): `before` tokens of context before, `after` after.
 *  `ids` are the dataset's token ids, flat [rows, ctx]. */
export function exampleAt(
  fa: FeatureActivations,
  ids: ArrayLike<number>,
  i: number,
  before: number,
  after: number,
): FeatureExample {
  const row = Math.floor(i / fa.ctx),
    pos = i % fa.ctx;
  const start = Math.max(0, pos - before),
    end = Math.min(fa.ctx, pos + after + 1);
  const base = row * fa.ctx;
  return {
    row,
    pos,
    activation: fa.acts[i]!,
    start,
    tokens: Array.from({ length: end - start }, (_, j) => Number(ids[base + start + j])),
    acts: Array.from(fa.acts.subarray(base + start, base + end)),
  };
}

/** The k largest activations (> 0) with `before` tokens of context before and `after` after. */
export function topExamples(fa: FeatureActivations, tokens: Tensor, k = 10, before = 8, after = 2): FeatureExample[] {
  const ids = tokens.contiguous().dataSync();
  const order = Array.from(fa.acts.keys())
    .filter((i) => fa.acts[i]! > 0)
    .sort((a, b) => fa.acts[b]! - fa.acts[a]!)
    .slice(0, k);
  return order.map((i) => exampleAt(fa, ids, i, before, after));
}
