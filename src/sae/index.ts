// src/sae: sparse autoencoders (SAELens's SAE classes, formats and HookedSAETransformer).
export { SAE, SAE_HOOK_NAMES, type SaeHookName, type SaeForwardOptions } from "./sae.js";
export { makeSaeConfig, saeConfigFromJson, saeConfigToJson, ARCHITECTURES, NORMALIZATIONS } from "./config.js";
export type { SaeConfig, SaeConfigInput, SaeArchitecture, NormalizeActivations, SaeDtype } from "./config.js";
export { SAE_PARAM_NAMES, type SaeParamName, type SaeWeights } from "./weights.js";
export { SaeError } from "./errors.js";
export {
  loadSaeFromDisk,
  saveSae,
  saeFromSaeLens,
  saeLensFiles,
  SAE_CFG_FILE,
  SAE_WEIGHTS_FILE,
  SAE_SPARSITY_FILE,
  type LoadedSae,
} from "./formats/saelens.js";
export {
  HookedSAETransformer,
  type AddSaeOptions,
  type WithSaesOptions,
  type SaeHookOptions,
  type SaeCacheOptions,
} from "./hooked-sae-transformer.js";
export { hookWidth } from "./hook-width.js";
export { loadSae, GEMMA_SCOPE_FILE, type LoadSaeOptions } from "./formats/load.js";
export { saeFromGemmaScope, saeFromNpz, gemmaScopeHookName, type GemmaScopeOptions } from "./formats/gemma-scope.js";
export { saeFromOpenAi, saeFromDictionaryLearning } from "./formats/converted.js";
export { parseNpy, parseNpz } from "./formats/npy.js";
// training (src/sae/train)
export * from "./train/index.js";
// feature analysis (src/sae/features)
export * from "./features/index.js";
