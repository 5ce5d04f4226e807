// File-system loaders (Node only; `node:` modules are imported dynamically so the pure parsers stay browser-safe).
import { LoadError } from "../errors.js";
import type { Tensor } from "../tensor/index.js";
import type { HookedTransformerConfig } from "./config.js";
import { detectModelFiles } from "./detect.js";
import { convertFamilyWeights } from "./families/index.js";
import { convertGpt2Weights, type ConvertGpt2Options } from "./gpt2.js";
import { hfConfigExtras, hfConfigToTL, type HfConfigOptions } from "./hf-config.js";
import { LazySafetensors } from "./families/lazy-safetensors.js";
import { readJsonFile } from "./json-file.js";
import type { ReadSafetensorsOptions } from "./safetensors.js";

/**
 * Reads the HF tensors of a model folder: `model.safetensors`, or the shards listed by
 * `model.safetensors.index.json` (`weight_map`: tensor name → shard file). Returns the raw HF tensors and dtypes.
 */
export async function readHfSafetensors(
  dir: string,
  weightsFile: string,
  options: ReadSafetensorsOptions = {},
): Promise<{ tensors: Map<string, Tensor>; dtypes: Map<string, string> }> {
  const lazy = await LazySafetensors.open(dir, weightsFile, options);
  try {
    const tensors = new Map<string, Tensor>();
    for (const name of lazy.keys()) tensors.set(name, lazy.get(name)!);
    return { tensors, dtypes: lazy.dtypes() };
  } finally {
    lazy.close();
  }
}

export interface LoadedHfModel {
  cfg: HookedTransformerConfig;
  /** TL-named float32 weights (`convertGpt2Weights`). */
  weights: Map<string, Tensor>;
  /** The parsed config.json. */
  hfConfig: unknown;
  /** Each HF tensor's dtype as stored (F32, F16, ...). */
  dtypes: Map<string, string>;
  /** The folder the model came from. */
  dir: string;
}

/**
 * Loads a Hugging Face folder (GPT-2 or a family of src/loading/families) (config.json + model.safetensors, or sharded safetensors): the TL config and
 * the weights converted to TL names. `dir` may also be a file inside the folder.
 */
export async function loadHfModelDir(
  dir: string,
  options: HfConfigOptions &
    Pick<ConvertGpt2Options, "extraKeys"> &
    Pick<ReadSafetensorsOptions, "allowTrailingBytes"> & {
      /** Accept NaN and ±Inf weights (default: refused, naming the tensor). */
      allowNonFinite?: boolean;
    } = {},
): Promise<LoadedHfModel> {
  const path = await import("node:path");
  const found = await detectModelFiles(dir);
  if (found.format !== "hf-safetensors") {
    throw new LoadError(
      `${dir}: expected a Hugging Face model (config.json + model.safetensors), found the ${found.format} format`,
    );
  }
  const configPath = path.join(found.dir, found.files.config!);
  const hfConfig = await readJsonFile(configPath);
  const cfg = hfConfigToTL(hfConfig, configPath, options);
  const extras = hfConfigExtras(hfConfig, configPath);
  const read = { checkFinite: !options.allowNonFinite, allowTrailingBytes: options.allowTrailingBytes };
  const weightsPath = path.join(found.dir, found.files.weights!);
  if (extras.architecture === "GPT2LMHeadModel") {
    const { tensors, dtypes } = await readHfSafetensors(found.dir, found.files.weights!, read);
    const weights = convertGpt2Weights(tensors, cfg, weightsPath, {
      tieWordEmbeddings: extras.tieWordEmbeddings,
      extraKeys: options.extraKeys,
    });
    return { cfg, weights, hfConfig, dtypes, dir: found.dir };
  }
  // the other families read each tensor when its conversion step asks for it: the HF and TL copies are never both whole
  const lazy = await LazySafetensors.open(found.dir, found.files.weights!, read);
  const dtypes = lazy.dtypes();
  let weights: Map<string, Tensor>;
  try {
    weights = convertFamilyWeights(lazy, cfg, hfConfig as Record<string, unknown>, weightsPath);
  } finally {
    lazy.close();
  }
  return { cfg, weights, hfConfig, dtypes, dir: found.dir };
}
