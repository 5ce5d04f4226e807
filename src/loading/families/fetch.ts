// Fetching a Hugging Face model repo ("org/name") of any family through the hub code (src/loading/hub.ts): config.json,
// the weights (model.safetensors, or model.safetensors.index.json and the shards it lists) and, when the repo has
// them, tokenizer.json and tokenizer_config.json. Node only.
import { LoadError } from "../../errors.js";
import { readJsonFile } from "../json-file.js";
import { downloadModel, findCachedSnapshot, hubOffline, type DownloadOptions } from "../hub.js";
import { parseShardIndex } from "./safetensors-source.js";

const isMissing = (e: unknown): boolean => e instanceof LoadError && /HTTP 404\b/.test(e.message);

/**
 * The snapshot holding `files`: from the cache, else downloaded; null when the hub answers 404 for one of them, or
 * (offline) when the cache lacks one.
 */
async function fetchOptional(repo: string, files: string[], opts: DownloadOptions): Promise<string | null> {
  if (!opts.force) {
    const hit = await findCachedSnapshot(repo, opts.revision ?? "main", files, { cacheDir: opts.cacheDir });
    if (hit !== null) return hit;
  }
  if (opts.offline ?? hubOffline()) return null;
  try {
    return await downloadModel(repo, { ...opts, files });
  } catch (e) {
    if (isMissing(e)) return null;
    throw e;
  }
}

/** The shard files `model.safetensors.index.json` lists (its weight_map values), each once. */
async function shardFiles(indexFile: string): Promise<string[]> {
  return [...parseShardIndex(await readJsonFile(indexFile), indexFile).keys()];
}

/** Downloads (or finds in the HF cache) what a model folder needs and returns the snapshot folder. */
export async function downloadHfFolder(repo: string, opts: DownloadOptions = {}): Promise<string> {
  const path = await import("node:path");
  let files = ["config.json", "model.safetensors"];
  let dir = await fetchOptional(repo, files, opts);
  const offline = opts.offline ?? hubOffline();
  if (
    dir === null &&
    offline &&
    (await findCachedSnapshot(repo, opts.revision ?? "main", ["config.json"], { cacheDir: opts.cacheDir })) === null
  ) {
    dir = await downloadModel(repo, { ...opts, files }); // offline and nothing cached: downloadModel's error says what to do
  }
  if (dir === null) {
    const index = "model.safetensors.index.json";
    const indexDir = await downloadModel(repo, { ...opts, files: ["config.json", index] });
    files = ["config.json", index, ...(await shardFiles(path.join(indexDir, index)))];
    dir = await downloadModel(repo, { ...opts, files });
  }
  for (const extra of ["tokenizer.json", "tokenizer_config.json"]) {
    const got = await fetchOptional(repo, [...files, extra], opts);
    if (got !== null) {
      files.push(extra);
      dir = got;
    }
  }
  return dir;
}
