// Feature analysis: logit effects, activations over a dataset, top-activating examples, quantile groups, densities
// and attribution to a metric.
export { logitEffects, type LogitEffects, type TokenEffect } from "./logit-effects.js";
export {
  featureActivations,
  featuresActivations,
  topExamples,
  exampleAt,
  type FeatureActivations,
  type FeatureExample,
} from "./top-activations.js";
export {
  activationHistogram,
  featureDensities,
  histogram,
  quantileGroups,
  type FeatureDensities,
  type Histogram,
  type QuantileGroup,
  type QuantileGroupOptions,
} from "./distribution.js";
export { featureAttribution, type FeatureAttribution } from "./attribution.js";
export {
  saeDashboardData,
  mostActiveFeatures,
  type SaeDashboardData,
  type DashboardFeature,
  type DashboardExample,
  type DashboardOptions,
} from "./dashboard-data.js";
