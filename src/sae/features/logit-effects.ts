// A feature's direct effect on the logits: W_dec[feature] · W_U [d_vocab] (sae_vis's "logit effects"), with the
// tokens it pushes up most and down most.
import { SaeError } from "../errors.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import { noGradSync } from "../../tensor/index.js";
import type { SAE } from "../sae.js";

export interface TokenEffect {
  token: number;
  /** the token's text (its id when the model has no tokenizer) */
  text: string;
  effect: number;
}

export interface LogitEffects {
  feature: number;
  /** the k tokens with the largest effect, largest first */
  top: TokenEffect[];
  /** the k tokens with the smallest (most negative) effect, smallest first */
  bottom: TokenEffect[];
}

/** W_dec[feature] · W_U and its top / bottom k tokens. The unembedding is read straight, without ln_final (as
 *  sae_vis does for the residual stream). */
export function logitEffects(model: HookedTransformer, sae: SAE, feature: number, k = 10): LogitEffects {
  const { dSae, dIn } = sae.cfg;
  if (!Number.isInteger(feature) || feature < 0 || feature >= dSae)
    throw new SaeError(`logitEffects: feature ${feature} is outside 0..${dSae - 1}`);
  if (dIn !== model.cfg.dModel)
    throw new SaeError(
      `logitEffects: the SAE's d_in (${dIn}) is not the model's d_model (${model.cfg.dModel}); logit effects need a residual-stream SAE`,
    );
  const W_dec = sae.stateDict().get("W_dec")!;
  const effects = noGradSync(() => W_dec.get(feature).matmul(model.W_U)); // [d_vocab]
  const n = Math.min(k, effects.shape[0]!);
  const pick = (largest: boolean): TokenEffect[] => {
    const { values, indices } = effects.topk(n, -1, largest);
    const v = values.dataSync(),
      ix = indices.dataSync();
    return Array.from(ix, (token, i) => ({
      token: Number(token),
      text: model.tokenizer ? model.tokenizer.idToString(Number(token)) : String(token),
      effect: Number(v[i]),
    }));
  };
  return { feature, top: pick(true), bottom: pick(false) };
}
