// A feature's activations over a token dataset and its top-activating examples with their context (sae_vis's
// "top activations"), plus its density (the fraction of tokens where it fires).
import { TlensError } from "../../errors.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import { noGrad, type Tensor } from "../../tensor/index.js";
import type { SAE } from "../sae.js";

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
export async function featureActivations(model: HookedTransformer, sae: SAE, tokens: Tensor, feature: number): Promise<FeatureActivations> {
  if (!Number.isInteger(feature) || feature < 0 || feature >= sae.cfg.dSae) throw new TlensError(`featureActivations: feature ${feature} is outside 0..${sae.cfg.dSae - 1}`);
  const [rows, ctx] = tokens.shape;
  let f: Tensor | null = null;
  await noGrad(async () => {
    const [, cache] = await model.runWithCache(tokens, { namesFilter: [sae.cfg.hookName] });
    f = (await sae.encode(cache.get(sae.cfg.hookName))).get(":", ":", feature).contiguous(); // [rows, ctx]
  });
  const acts = Float32Array.from((f as unknown as Tensor).dataSync() as Float32Array);
  const density = acts.reduce((n, v) => n + (v > 0 ? 1 : 0), 0) / acts.length;
  return { feature, acts, rows, ctx, density };
}

/** The k largest activations (> 0) with `before` tokens of context before and `after` after. */
export function topExamples(fa: FeatureActivations, tokens: Tensor, k = 10, before = 8, after = 2): FeatureExample[] {
  const ids = tokens.contiguous().dataSync();
  const order = Array.from(fa.acts.keys()).filter((i) => fa.acts[i] > 0).sort((a, b) => fa.acts[b] - fa.acts[a]).slice(0, k);
  return order.map((i) => {
    const row = Math.floor(i / fa.ctx), pos = i % fa.ctx;
    const start = Math.max(0, pos - before), end = Math.min(fa.ctx, pos + after + 1);
    const base = row * fa.ctx;
    return {
      row, pos, activation: fa.acts[i], start,
      tokens: Array.from(ids.subarray(base + start, base + end), Number),
      acts: Array.from(fa.acts.subarray(base + start, base + end)),
    };
  });
}
