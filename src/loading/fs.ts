// File-system loaders (Node only; `node:` modules are imported dynamically so the pure parsers stay browser-safe).
import { LoadError } from "../errors.js";
import type { Tensor } from "../tensor/index.js";
import type { HookedTransformerConfig } from "./config.js";
import { detectModelFiles } from "./detect.js";
import { convertFamilyWeights } from "./families/index.js";
import { convertGpt2Weights, type ConvertGpt2Options } from "./gpt2.js";
import { hfConfigExtras, hfConfigToTL, type HfConfigOptions } from "./hf-config.js";
import { readSafetensorsFile } from "./safetensors.js";

/** Reads and parses a JSON file; LoadError naming the file when it is missing or not JSON. */
export async function readJsonFile(file: string): Promise<unknown> {
  const { readFile } = await import("node:fs/promises");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new LoadError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new LoadError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Reads the HF tensors of a model folder: `model.safetensors`, or the shards listed by
 * `model.safetensors.index.json` (`weight_map`: tensor name → shard file). Returns the raw HF tensors and dtypes.
 */
export async function readHfSafetensors(dir: string, weightsFile: string): Promise<{ tensors: Map<string, Tensor>; dtypes: Map<string, string> }> {
  const path = await import("node:path");
  const full = path.join(dir, weightsFile);
  if (!weightsFile.endsWith(".index.json")) {
    const { tensors, dtypes } = await readSafetensorsFile(full);
    return { tensors, dtypes };
  }
  const index = await readJsonFile(full);
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw new LoadError(`${full}: "weight_map" must be an object of tensor name → shard file`);
  }
  const shards = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== "string" || shard.length === 0 || path.isAbsolute(shard) || shard.split(/[\\/]/).includes("..")) {
      throw new LoadError(`${full}: tensor "${name}" maps to an invalid shard file ${JSON.stringify(shard)}`);
    }
    shards.set(shard, [...(shards.get(shard) ?? []), name]);
  }
  const tensors = new Map<string, Tensor>();
  const dtypes = new Map<string, string>();
  for (const [shard, names] of shards) {
    const shardPath = path.join(dir, shard);
    const got = await readSafetensorsFile(shardPath);
    for (const name of names) {
      const t = got.tensors.get(name);
      if (!t) throw new LoadError(`${shardPath}: tensor "${name}" listed in ${weightsFile} is not in this shard`);
      tensors.set(name, t);
      dtypes.set(name, got.dtypes.get(name)!);
    }
    for (const name of got.tensors.keys()) {
      if (!tensors.has(name) && !Object.hasOwn(map, name)) {
        throw new LoadError(`${shardPath}: tensor "${name}" is not listed in ${weightsFile}`);
      }
    }
  }
  return { tensors, dtypes };
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
  options: HfConfigOptions & Pick<ConvertGpt2Options, "extraKeys"> = {},
): Promise<LoadedHfModel> {
  const path = await import("node:path");
  const found = await detectModelFiles(dir);
  if (found.format !== "hf-safetensors") {
    throw new LoadError(`${dir}: expected a Hugging Face model (config.json + model.safetensors), found the ${found.format} format`);
  }
  const configPath = path.join(found.dir, found.files.config);
  const hfConfig = await readJsonFile(configPath);
  const cfg = hfConfigToTL(hfConfig, configPath, options);
  const extras = hfConfigExtras(hfConfig, configPath);
  const { tensors, dtypes } = await readHfSafetensors(found.dir, found.files.weights);
  const weightsPath = path.join(found.dir, found.files.weights);
  // the other families consume `tensors` as they convert, so the HF and TL copies are never both whole
  const weights = extras.architecture === "GPT2LMHeadModel"
    ? convertGpt2Weights(tensors, cfg, weightsPath, { tieWordEmbeddings: extras.tieWordEmbeddings, extraKeys: options.extraKeys })
    : convertFamilyWeights(tensors, cfg, hfConfig as Record<string, unknown>, weightsPath);
  return { cfg, weights, hfConfig, dtypes, dir: found.dir };
}
