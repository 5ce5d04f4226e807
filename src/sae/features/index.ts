// Feature analysis: logit effects, activations over a dataset and top-activating examples.
export { logitEffects, type LogitEffects, type TokenEffect } from "./logit-effects.js";
export { featureActivations, topExamples, type FeatureActivations, type FeatureExample } from "./top-activations.js";
