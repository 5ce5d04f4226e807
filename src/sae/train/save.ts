// Saves a trained SAE as a SAELens folder: cfg.json, sae_weights.safetensors (W_enc [d_in, d_sae], W_dec
// [d_sae, d_in], b_enc, b_dec) and sparsity.safetensors (log10 of each feature's firing frequency, as SAELens's
// training writes it).
import { writeSafetensors } from "../../loading/safetensors.js";
import { Tensor } from "../../tensor/index.js";
import type { TrainedSae } from "./trainer.js";

export interface SaeLensConfigInfo {
  modelName: string;
  /** the token rows' length */
  contextSize: number;
  /** where the training text came from */
  datasetPath?: string;
}

/** The SAELens cfg.json of a trained SAE (flat, SAELens ≤ 5 style, with `architecture`; activations already
 *  un-normalised, so normalize_activations is "none"). */
export function saeLensConfig(sae: TrainedSae, info: SaeLensConfigInfo): Record<string, unknown> {
  const { params: p, options: o } = sae;
  const topk = o.sparsity.kind === "topk" ? o.sparsity.k : null;
  const layer = /^blocks\.(\d+)\./.exec(o.hookName);
  return {
    architecture: topk === null ? "standard" : "topk",
    d_in: p.dIn, d_sae: p.dSae, dtype: "float32", device: "cpu",
    model_name: info.modelName, hook_name: o.hookName, hook_layer: layer ? Number(layer[1]) : 0, hook_head_index: null,
    activation_fn_str: topk === null ? "relu" : "topk", activation_fn_kwargs: topk === null ? {} : { k: topk }, ...(topk === null ? {} : { k: topk }),
    apply_b_dec_to_input: true, finetuning_scaling_factor: false, normalize_activations: "none",
    context_size: info.contextSize, prepend_bos: true, dataset_path: info.datasetPath ?? "", dataset_trust_remote_code: false,
    sae_lens_training_version: "tlens", neuronpedia_id: null,
  };
}

/** The three files' contents, by file name. */
export function saeLensFiles(sae: TrainedSae, info: SaeLensConfigInfo): Record<string, Uint8Array | string> {
  const p = sae.params;
  const weights = writeSafetensors({
    W_enc: Tensor.fromTypedArray(p.W_enc, [p.dIn, p.dSae]),
    W_dec: Tensor.fromTypedArray(p.W_dec, [p.dSae, p.dIn]),
    b_enc: Tensor.fromTypedArray(p.b_enc, [p.dSae]),
    b_dec: Tensor.fromTypedArray(p.b_dec, [p.dIn]),
  });
  // a feature that never fired gets log10 of 1e-10 (as SAELens adds 1e-10 before the log)
  const logFreq = Float32Array.from(sae.featureFrequency, (f) => Math.log10(f + 1e-10));
  return {
    "cfg.json": JSON.stringify(saeLensConfig(sae, info), null, 2) + "\n",
    "sae_weights.safetensors": weights,
    "sparsity.safetensors": writeSafetensors({ sparsity: Tensor.fromTypedArray(logFreq, [p.dSae]) }),
  };
}

/** Writes the SAELens folder `dir` (created when missing). */
export async function saveSaeLens(sae: TrainedSae, dir: string, info: SaeLensConfigInfo): Promise<void> {
  const { mkdir, writeFile } = await import("node:fs/promises");
  const path = await import("node:path");
  await mkdir(dir, { recursive: true });
  for (const [name, data] of Object.entries(saeLensFiles(sae, info))) await writeFile(path.join(dir, name), data);
}
