// src/loading: weight formats, configs and conversions to TransformerLens names.
export { makeConfig } from "./config.js";
export type { HookedTransformerConfig, NormalizationType, PositionalEmbeddingType, ActFn, AttnType } from "./config.js";
export {
  readSafetensors,
  writeSafetensors,
  parseSafetensorsHeader,
  readHeaderLength,
  decodeTensor,
  decodeFloat16,
  decodeBfloat16,
  float16Bits,
  bfloat16Bits,
  MAX_HEADER_BYTES,
} from "./safetensors.js";
export { readSafetensorsFile } from "./safetensors-file.js";
export type {
  SafetensorsEntry,
  SafetensorsHeader,
  SafetensorsContents,
  ReadSafetensorsOptions,
  WriteSafetensorsOptions,
} from "./safetensors.js";
export { hfConfigToTL, hfConfigExtras, hfArchitecture, SUPPORTED_HF_ARCHITECTURES } from "./hf-config.js";
export type { HfConfigOptions, HfConfigExtras } from "./hf-config.js";
export { convertGpt2Weights } from "./gpt2.js";
export type { ConvertGpt2Options } from "./gpt2.js";
export { parseLlama2cCheckpoint, readLlama2cHeader, llama2cConfig } from "./llama2c.js";
export type { Llama2cHeader, Llama2cOptions } from "./llama2c.js";
export { parseLlmvizModel, llmvizConfig, decodeBase64, decodeJsonTensor } from "./llmviz.js";
export { detectFormat, detectModelFiles, detectFormatFromFiles } from "./detect.js";
export type { ModelFormat, DetectedModel } from "./detect.js";
export { loadHfModelDir, readHfSafetensors } from "./fs.js";
export { readJsonFile } from "./json-file.js";
export type { LoadedHfModel } from "./fs.js";
export {
  downloadModel,
  resolvePretrainedDir,
  resolveHubModel,
  findCachedSnapshot,
  hubCacheDir,
  hubRepoCacheDir,
  hubEndpoint,
  hubOffline,
  isHubRepoId,
  HUB_MODELS,
  HUB_MODEL_FILES,
} from "./hub.js";
export type { HubModel, DownloadOptions, CacheOptions } from "./hub.js";
