// The model layer's public surface.
export { HookedTransformer, foldNormalizationType } from "./hooked-transformer.js";
export type {
  ForwardOptions,
  ForwardReturnType,
  RunWithCacheOptions,
  RunWithHooksOptions,
  FromPretrainedOptions,
} from "./hooked-transformer.js";
export { ActivationCache, Slice, type SliceInput, type SliceRange, type TokensInput } from "./activation-cache.js";
export { HookPoint, readerHook, type HookFn, type HookInfo, type NameFilter } from "./hook-point.js";
export * as runner from "./run/index.js";
export { getActName } from "./act-name.js";
export type { ModelInput } from "./model-input.js";
export {
  processStateDict,
  foldLayerNorm,
  centerWritingWeights,
  centerUnembed,
  foldValueBiases,
  refactorFactoredAttnMatrices,
} from "./weight-processing.js";
export type { StateDict, ProcessOptions } from "./weight-processing.js";
export { EMBEDDED_MODELS } from "./pretrained.js";
