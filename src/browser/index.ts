/**
 * tlens in the browser (`tlens/browser`, bundled by `npm run build:browser` into dist/browser/tlens.js): the public
 * API of the Node entry — tensors, HookedTransformer (forward, runWithCache, runWithHooks), the analyses, the figures
 * — with models loaded from a URL over fetch, the wasm kernels, and a Web Worker that runs a model off the main
 * thread.
 * @module tlens/browser
 */
import { HookedTransformer, type FromPretrainedOptions } from "../model/hooked-transformer.js";
import { initBackend } from "./backend.js";
import type { FetchModelOptions } from "./fetch-model.js";
import { withFetchOptions } from "./pretrained.js";

export * from "../api.js";
/** The pure parsers and conversions of `loading`, and the fetch loader (no file system, no hub cache). */
export * as loading from "./loading.js";
export { loadWasmBackend, initBackend, type WasmLoadOptions } from "./backend.js";
export type { LoadProgress, FetchModelOptions } from "./fetch-model.js";
export { createWorkerModel, WorkerModel, type WorkerModelOptions, type CallOptions } from "./client.js";
export type {
  AnalysisName,
  AnalysisOptions,
  AnalysisResult,
  LoadedInfo,
  WireInput,
  WorkerForwardOptions,
} from "./protocol.js";

export type BrowserFromPretrainedOptions = FromPretrainedOptions & FetchModelOptions;

/**
 * Loads a model from a URL serving config.json + model.safetensors (a Hugging Face GPT-2 folder), with TL's default
 * weight processing, on the wasm backend when it loads (else JS). `HookedTransformer.fromPretrained(url)` works too;
 * this adds download progress and abort.
 */
export async function fromPretrained(url: string, opts: BrowserFromPretrainedOptions = {}): Promise<HookedTransformer> {
  const { onProgress, signal, ...processing } = opts;
  if (!processing.backend) await initBackend();
  return withFetchOptions(url, { onProgress, signal }, () => HookedTransformer.fromPretrained(url, processing));
}
