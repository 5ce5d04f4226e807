// Access to the SAELens goldens (../shared/golden/sae): each SAE folder, its outputs (with `same_as` resolved) and
// the model it was computed on.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Tensor } from "../../src/index.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";

export const SAE_GOLDEN_DIR = fileURLToPath(new URL("../../../shared/golden/sae", import.meta.url));

export interface SaeGoldenCase {
  model: string;
  name: string;
  dir: string;
}

/** Every <model>/<sae> folder that has outputs.safetensors (empty when the goldens are absent). */
export function saeGoldenCases(): SaeGoldenCase[] {
  if (!existsSync(SAE_GOLDEN_DIR)) return [];
  const out: SaeGoldenCase[] = [];
  for (const model of readdirSync(SAE_GOLDEN_DIR, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const sae of readdirSync(`${SAE_GOLDEN_DIR}/${model.name}`, { withFileTypes: true }).filter((d) =>
      d.isDirectory(),
    )) {
      const dir = `${SAE_GOLDEN_DIR}/${model.name}/${sae.name}`;
      if (existsSync(`${dir}/outputs.safetensors`)) out.push({ model: model.name, name: sae.name, dir });
    }
  }
  return out;
}

/** A tensor file with its index.json's `same_as` links resolved: get(name) is the stored value. */
export async function goldenTensors(file: string, indexFile: string): Promise<(name: string) => Tensor> {
  const tensors = (await readSafetensorsFile(file)).tensors;
  const index = JSON.parse(readFileSync(indexFile, "utf8")) as { tensors: Record<string, { same_as?: string }> };
  return (name) => {
    const t = tensors.get(index.tensors[name]?.same_as ?? name);
    if (!t) throw new Error(`golden tensor ${name} is missing from ${file}`);
    return t;
  };
}

/** Where each golden model lives (toy-ioi: processed as from_pretrained; tl-random-3L: raw). */
export const GOLDEN_MODELS: Record<string, { path: string; raw: boolean }> = {
  "toy-ioi": { path: "toy-ioi", raw: false },
  "tl-random-3L": { path: fileURLToPath(new URL("../../../shared/golden/tl", import.meta.url)), raw: true },
};
