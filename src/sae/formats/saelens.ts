// SAELens's folder format: cfg.json + sae_weights.safetensors (+ optional sparsity.safetensors, log10 feature
// densities). The byte-level half works anywhere; the folder half is Node (node:fs).
import { readSafetensors, writeSafetensors } from "../../loading/safetensors.js";
import { readSafetensorsFile } from "../../loading/safetensors-file.js";
import { readJsonFile } from "../../loading/json-file.js";
import type { Tensor } from "../../tensor/index.js";
import { saeConfigFromJson, saeConfigToJson } from "../config.js";
import { SaeError } from "../errors.js";
import { SAE } from "../sae.js";

export const SAE_CFG_FILE = "cfg.json";
export const SAE_WEIGHTS_FILE = "sae_weights.safetensors";
export const SAE_SPARSITY_FILE = "sparsity.safetensors";

/** An SAE with the feature log10-densities SAELens may ship beside it. */
export interface LoadedSae {
  sae: SAE;
  /** [d_sae] log10 feature density (sparsity.safetensors), or null when the folder has none */
  sparsity: Tensor | null;
}

/** An SAE from a parsed cfg.json and the bytes of sae_weights.safetensors. */
export function saeFromSaeLens(cfgJson: unknown, weights: Uint8Array, where = "SAE"): SAE {
  const cfg = saeConfigFromJson(cfgJson, `${where}/${SAE_CFG_FILE}`);
  const { tensors } = readSafetensors(weights, `${where}/${SAE_WEIGHTS_FILE}`);
  return withWhere(where, () => new SAE(cfg, tensors));
}

function withWhere<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SaeError) e.message = `${where}: ${e.message}`;
    throw e;
  }
}

/** The folder's files by name: cfg.json (SAELens 6 layout), sae_weights.safetensors, and sparsity.safetensors when
 *  given ([d_sae] log10 densities). */
export function saeLensFiles(sae: SAE, sparsity: Tensor | null = null): Record<string, string | Uint8Array> {
  const files: Record<string, string | Uint8Array> = {
    [SAE_CFG_FILE]: JSON.stringify(saeConfigToJson(sae.cfg)),
    [SAE_WEIGHTS_FILE]: writeSafetensors(sae.stateDict()),
  };
  if (sparsity) {
    if (sparsity.numel !== sae.cfg.dSae)
      throw new SaeError(`saveSae: sparsity has ${sparsity.numel} values, d_sae is ${sae.cfg.dSae}`);
    files[SAE_SPARSITY_FILE] = writeSafetensors({ sparsity: sparsity.reshape(sae.cfg.dSae) });
  }
  return files;
}

/** Loads a SAELens folder (load_from_disk): SaeError / LoadError naming the file that is missing or wrong. */
export async function loadSaeFromDisk(dir: string): Promise<LoadedSae> {
  const { join } = await import("node:path");
  const { access } = await import("node:fs/promises");
  const cfg = saeConfigFromJson(await readJsonFile(join(dir, SAE_CFG_FILE)), join(dir, SAE_CFG_FILE));
  const weightsFile = join(dir, SAE_WEIGHTS_FILE);
  const { tensors } = await readSafetensorsFile(weightsFile);
  const sae = withWhere(weightsFile, () => new SAE(cfg, tensors));
  const sparsityFile = join(dir, SAE_SPARSITY_FILE);
  const hasSparsity = await access(sparsityFile).then(
    () => true,
    () => false,
  );
  const sparsity = hasSparsity ? ((await readSafetensorsFile(sparsityFile)).tensors.get("sparsity") ?? null) : null;
  return { sae, sparsity };
}

/** Writes a SAELens folder (save_model), creating it when missing. */
export async function saveSae(sae: SAE, dir: string, opts: { sparsity?: Tensor | null } = {}): Promise<void> {
  const { mkdir, writeFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  await mkdir(dir, { recursive: true });
  for (const [name, data] of Object.entries(saeLensFiles(sae, opts.sparsity ?? null)))
    await writeFile(join(dir, name), data);
}
