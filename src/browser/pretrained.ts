// The browser build's stand-in for src/model/pretrained.ts (scripts/build-browser.mjs substitutes it): a pretrained
// model is a URL serving config.json + model.safetensors, so `HookedTransformer.fromPretrained(url)` works in a page.
// Fetch options (progress, abort) reach a load through `withFetchOptions`, which `fromPretrained` of the browser
// entry uses.
import type * as NodePretrained from "../model/pretrained.js";
import { LoadError } from "../errors.js";
import { fetchPretrainedWeights, modelBaseUrl, type FetchModelOptions } from "./fetch-model.js";

export type { PretrainedWeights } from "../model/pretrained.js";

/** No model files ship inside the browser bundle: every model is a URL. */
export const EMBEDDED_MODELS: typeof NodePretrained.EMBEDDED_MODELS = [];

const pending = new Map<string, FetchModelOptions>();

export const loadPretrainedWeights: typeof NodePretrained.loadPretrainedWeights = (url) =>
  fetchPretrainedWeights(url, pending.get(modelBaseUrl(url)) ?? {});

/** Runs body with fetch options for loads of `url` (keyed by the model's base URL). */
export async function withFetchOptions<T>(url: string, opts: FetchModelOptions, body: () => Promise<T>): Promise<T> {
  const key = modelBaseUrl(url);
  if (pending.has(key)) throw new LoadError(`tlens: ${key} is already being loaded`);
  pending.set(key, opts);
  try {
    return await body();
  } finally {
    pending.delete(key);
  }
}
