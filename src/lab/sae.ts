// The lab's SAE panel (`tlens lab --sae DIR`): the SAE's features on the current prompt. The request is validated
// at once (like calls.ts's); the answer reads the hook's activation from the prompt's cached run (the other panels'
// cache), encodes it with the SAE and gives one feature's activation at every token, the features that fire most on
// the prompt, and the feature's logit effects (W_dec[f] · W_U).
import type { ActivationCache } from "../model/activation-cache.js";
import type { HookedTransformer } from "../model/hooked-transformer.js";
import { noGrad } from "../tensor/index.js";
import type { SAE } from "../sae/sae.js";
import { logitEffects } from "../sae/features/logit-effects.js";
import type { SaeFeaturesResponse, SaeModeInfo, TokenInfo } from "./protocol.js";
import { asObject, integer, LabError, validatePrompt, type Prompt } from "./validate.js";

export interface ValidSaeFeatures {
  prompt: Prompt;
  feature: number | null;
  topK: number;
}

const DEFAULT_TOP_FEATURES = 10;
const MAX_TOP_FEATURES = 50;
const LOGIT_K = 10;

const NO_SAE = "the lab was started without an SAE (tlens lab --sae <SAELens folder>)";

/** GET /api/sae: the lab's SAE, or why there is none. */
export function saeModeInfo(sae: SAE | null): SaeModeInfo {
  if (!sae) return { available: false, reason: NO_SAE };
  const { hookName, dSae, architecture } = sae.cfg;
  return { available: true, hookName, dSae, architecture };
}

export function validateSaeFeatures(model: HookedTransformer, sae: SAE | null, body: unknown): ValidSaeFeatures {
  if (!sae) throw new LabError(404, NO_SAE);
  const b = asObject(body, ["prompt", "feature", "topK"]);
  const feature = b.feature === undefined || b.feature === null ? null : integer(b, "feature", 0, sae.cfg.dSae - 1);
  return {
    prompt: validatePrompt(model, b.prompt),
    feature,
    topK: integer(b, "topK", 1, MAX_TOP_FEATURES, DEFAULT_TOP_FEATURES),
  };
}

/** The panel's answer from the prompt's cache; `tokens` are the prompt's tokens as the page shows them. */
export async function saeFeaturesOf(
  model: HookedTransformer,
  sae: SAE,
  cache: ActivationCache,
  req: ValidSaeFeatures,
  tokens: TokenInfo[],
): Promise<SaeFeaturesResponse> {
  const { hookName, dSae } = sae.cfg;
  const nPos = tokens.length;
  const acts = await noGrad(() => sae.encode(cache.get(hookName))); // [1, pos, d_sae]
  const flat = acts.contiguous().dataSync() as Float32Array; // [pos, d_sae] row-major
  // each feature's largest activation on the prompt and where
  const max = new Float32Array(dSae),
    at = new Int32Array(dSae);
  for (let p = 0; p < nPos; p++) {
    for (let j = 0; j < dSae; j++) {
      const v = flat[p * dSae + j]!;
      if (v > max[j]!) {
        max[j] = v;
        at[j] = p;
      }
    }
  }
  const firing = Array.from(max.keys())
    .filter((j) => max[j]! > 0)
    .sort((a, b) => max[b]! - max[a]! || a - b);
  const top = firing.slice(0, req.topK).map((f) => ({ feature: f, max: max[f]!, position: at[f]! }));
  const feature = req.feature ?? firing[0] ?? 0;
  const column = Array.from({ length: nPos }, (_, p) => flat[p * dSae + feature]!);
  const fx = sae.cfg.dIn === model.cfg.dModel ? logitEffects(model, sae, feature, LOGIT_K) : null;
  return {
    hookName,
    dSae,
    tokens,
    feature,
    acts: column,
    maxActivation: max[feature]!,
    firing: firing.length,
    top,
    logits: fx && { top: fx.top, bottom: fx.bottom },
  };
}
