// loadSae: an SAE from a local folder, or from a hub repo (a release: one subfolder per SAE) through the Hugging Face
// cache and download of src/loading (served from the cache when it holds the files, offline included).
import { LoadError } from "../../errors.js";
import { downloadModel, type DownloadOptions } from "../../loading/hub.js";
import { readSafetensorsFile } from "../../loading/safetensors-file.js";
import type { SaeConfigInput } from "../config.js";
import { gemmaScopeHookName, saeFromNpz } from "./gemma-scope.js";
import { loadSaeFromDisk, SAE_CFG_FILE, SAE_SPARSITY_FILE, SAE_WEIGHTS_FILE, type LoadedSae } from "./saelens.js";

export const GEMMA_SCOPE_FILE = "params.npz";

export interface LoadSaeOptions extends DownloadOptions {
  /** the SAE's subfolder in the folder or repo (e.g. "blocks.8.hook_resid_pre" or "layer_12/width_16k/average_l0_82") */
  folder?: string;
  /** default: "gemma-scope" when the folder holds params.npz (or the repo id names gemma-scope), else "saelens" */
  format?: "saelens" | "gemma-scope";
  /** Gemma Scope: config fields params.npz does not carry (the hook is read from the repo and folder otherwise) */
  config?: Partial<SaeConfigInput>;
}

async function exists(file: string): Promise<boolean> {
  const { access } = await import("node:fs/promises");
  return access(file).then(
    () => true,
    () => false,
  );
}

async function fromFolder(
  dir: string,
  format: "saelens" | "gemma-scope",
  source: string,
  opts: LoadSaeOptions,
): Promise<LoadedSae> {
  if (format === "saelens") return loadSaeFromDisk(dir);
  const { readFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const file = join(dir, GEMMA_SCOPE_FILE);
  const hookName = opts.config?.hookName ?? gemmaScopeHookName(source, opts.folder ?? dir);
  return { sae: saeFromNpz(new Uint8Array(await readFile(file)), { ...opts.config, hookName }, file), sparsity: null };
}

/** An SAE from `source`: a local folder (SAELens's cfg.json + sae_weights.safetensors, or Gemma Scope's params.npz),
 *  or a hub repo id "org/name" with opts.folder naming the SAE inside it. */
export async function loadSae(source: string, opts: LoadSaeOptions = {}): Promise<LoadedSae> {
  const { join } = await import("node:path");
  const local = opts.folder ? join(source, opts.folder) : source;
  if (await exists(local)) {
    const format =
      opts.format ??
      ((await exists(join(local, GEMMA_SCOPE_FILE))) && !(await exists(join(local, SAE_CFG_FILE)))
        ? "gemma-scope"
        : "saelens");
    return fromFolder(local, format, source, opts);
  }
  if (!/^[\w.-]+\/[\w.-]+$/.test(source))
    throw new LoadError(`loadSae: "${source}" is neither a folder nor a hub repo id ("org/name")`);
  const format = opts.format ?? (/gemma-scope/.test(source) ? "gemma-scope" : "saelens");
  const prefix = opts.folder ? `${opts.folder.replace(/\/+$/, "")}/` : "";
  const files = format === "saelens" ? [SAE_CFG_FILE, SAE_WEIGHTS_FILE] : [GEMMA_SCOPE_FILE];
  const snapshot = await downloadModel(source, { ...opts, files: files.map((f) => prefix + f) });
  const loaded = await fromFolder(join(snapshot, prefix), format, source, opts);
  if (format === "gemma-scope") return loaded;
  return { ...loaded, sparsity: loaded.sparsity ?? (await optionalSparsity(source, prefix, opts)) };
}

/** sparsity.safetensors when the repo has it (many releases do not: a missing file is no error). */
async function optionalSparsity(source: string, prefix: string, opts: LoadSaeOptions): Promise<LoadedSae["sparsity"]> {
  const { join } = await import("node:path");
  try {
    const snap = await downloadModel(source, { ...opts, files: [prefix + SAE_SPARSITY_FILE] });
    return (await readSafetensorsFile(join(snap, prefix, SAE_SPARSITY_FILE))).tensors.get("sparsity") ?? null;
  } catch (e) {
    if (e instanceof LoadError) return null;
    throw e;
  }
}
