// The browser's `loading` namespace: the pure parsers and conversions of src/loading (no file system, no hub cache)
// and the fetch loader.
export * from "../loading/config.js";
export * from "../loading/safetensors.js";
export * from "../loading/hf-config.js";
export * from "../loading/gpt2.js";
export * from "../loading/llama2c.js";
export * from "../loading/llmviz.js";
export {
  fetchPretrainedWeights,
  fetchBytes,
  modelBaseUrl,
  type FetchModelOptions,
  type LoadProgress,
} from "./fetch-model.js";
