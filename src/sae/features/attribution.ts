// Feature attribution to a metric: activation × gradient at the SAE's features, with the SAE spliced in and its
// error term on (so the model's outputs, and the metric, are the model's own). The first-order estimate of the
// metric's change when a feature is ablated at a position is −attribution[pos, feature].
import { SaeError } from "../errors.js";
import type { ModelInput } from "../../model/model-input.js";
import type { Tensor } from "../../tensor/index.js";
import type { HookedSAETransformer } from "../hooked-sae-transformer.js";
import type { SAE } from "../sae.js";

export interface FeatureAttribution {
  /** the metric on the run (the model's own, to float rounding) */
  metric: number;
  /** activation × d metric / d activation [batch, pos, d_sae] */
  attribution: Tensor;
  /** the activations at hook_sae_acts_post [batch, pos, d_sae] */
  acts: Tensor;
  /** attribution summed over batch and positions [d_sae] */
  perFeature: Tensor;
}

/** The attribution of `metric` (logits → a 1-element tensor, differentiable) to every feature of `sae` at every
 *  position of `input`, through the model with `sae` spliced in (error term on). */
export async function featureAttribution(
  model: HookedSAETransformer,
  sae: SAE,
  input: ModelInput | Tensor,
  metric: (logits: Tensor) => Tensor,
): Promise<FeatureAttribution> {
  const name = `${sae.cfg.hookName}.hook_sae_acts_post`;
  const [logits, cache] = await model.runWithCacheWithSaes(input, {
    saes: sae,
    useErrorTerm: true,
    namesFilter: [name],
    inclBwd: true,
  });
  const m = metric(logits);
  if (m.numel !== 1) throw new SaeError(`featureAttribution: the metric must give one number (got shape [${m.shape}])`);
  if (!m.requiresGrad)
    throw new SaeError(
      "featureAttribution: the metric does not depend on the logits through tensor ops (it has no gradient)",
    );
  await m.backward();
  const acts = cache.get(name).detach();
  const attribution = acts.mul(cache.get(`${name}_grad`)); // [batch, pos, d_sae]
  return { metric: m.item(), attribution, acts, perFeature: attribution.sum([0, 1]) };
}
