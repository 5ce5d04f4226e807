// An SAE's config: SAELens's fields camelCased, read from and written to SAELens's cfg.json (6.x nested `metadata`,
// and the flat pre-6 layout that SAELens's handle_pre_6_0_config converts).
import { SaeError } from "./errors.js";

export const ARCHITECTURES = ["standard", "gated", "jumprelu", "topk"] as const;
export type SaeArchitecture = (typeof ARCHITECTURES)[number];
export const NORMALIZATIONS = ["none", "expected_average_only_in", "constant_norm_rescale", "layer_norm"] as const;
/** Run-time activation normalisation. "expected_average_only_in" does nothing at inference (SAELens: the factor
 *  lives in training's ActivationScaler, and is folded into the weights when saved). */
export type NormalizeActivations = (typeof NORMALIZATIONS)[number];
export type SaeDtype = "float32" | "float64";

export interface SaeConfig {
  architecture: SaeArchitecture;
  dIn: number;
  dSae: number;
  /** TopK's k (topk only) */
  k?: number;
  /** TopK: multiply pre-activations by ‖W_dec[j]‖ before the selection (and divide in decode) */
  rescaleActsByDecoderNorm: boolean;
  /** the TransformerLens hook the SAE reads, e.g. "blocks.2.hook_resid_pre" */
  hookName: string;
  /** the block of hookName (from the name when not given; 0 outside blocks) */
  hookLayer: number;
  hookHeadIndex: number | null;
  /** subtract b_dec from the (normalised) input before encoding */
  applyBDecToInput: boolean;
  normalizeActivations: NormalizeActivations;
  /** "hook_z": the input is attn.hook_z [..., n_heads, d_head], flattened to d_in = n_heads·d_head and back */
  reshapeActivations: "none" | "hook_z";
  dtype: SaeDtype;
  device: string;
  modelName: string;
  contextSize: number | null;
  prependBos: boolean;
  datasetPath: string | null;
  neuronpediaId: string | null;
  saeLensVersion: string | null;
  saeLensTrainingVersion: string | null;
  modelFromPretrainedKwargs: Record<string, unknown>;
}

/** What a caller must give: the rest has SAELens's defaults. */
export type SaeConfigInput = Pick<SaeConfig, "dIn" | "dSae" | "hookName"> & Partial<SaeConfig>;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function layerOfHook(hookName: string): number {
  const m = /^blocks\.(\d+)\./.exec(hookName);
  return m ? Number(m[1]) : 0;
}

/** The full config, with defaults filled and every field checked. */
export function makeSaeConfig(c: SaeConfigInput): SaeConfig {
  const architecture = c.architecture ?? "standard";
  if (!ARCHITECTURES.includes(architecture)) {
    throw new SaeError(
      `unknown SAE architecture "${String(architecture)}"; expected one of ${ARCHITECTURES.join(", ")}`,
    );
  }
  const normalizeActivations = c.normalizeActivations ?? "none";
  if (!NORMALIZATIONS.includes(normalizeActivations)) {
    throw new SaeError(
      `unknown normalize_activations "${String(normalizeActivations)}"; expected one of ${NORMALIZATIONS.join(", ")}`,
    );
  }
  for (const [name, v] of [
    ["d_in", c.dIn],
    ["d_sae", c.dSae],
  ] as const) {
    if (!(Number.isInteger(v) && v > 0))
      throw new SaeError(`SAE config: ${name} must be a positive integer, got ${String(v)}`);
  }
  if (typeof c.hookName !== "string" || c.hookName === "") throw new SaeError("SAE config: hook_name is missing");
  if (architecture === "topk" && !(Number.isInteger(c.k) && (c.k as number) > 0 && (c.k as number) <= c.dSae)) {
    throw new SaeError(`SAE config: topk needs an integer k in 1..d_sae (${c.dSae}), got ${String(c.k)}`);
  }
  const reshapeActivations = c.reshapeActivations ?? "none";
  if (reshapeActivations !== "none" && reshapeActivations !== "hook_z")
    throw new SaeError(`SAE config: unknown reshape_activations "${String(reshapeActivations)}" (none, hook_z)`);
  const dtype = c.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float64")
    throw new SaeError(`SAE config: dtype "${String(dtype)}" is not supported (float32, float64)`);
  return {
    architecture,
    dIn: c.dIn,
    dSae: c.dSae,
    ...(architecture === "topk" ? { k: c.k } : {}),
    rescaleActsByDecoderNorm: c.rescaleActsByDecoderNorm ?? false,
    hookName: c.hookName,
    hookLayer: c.hookLayer ?? layerOfHook(c.hookName),
    hookHeadIndex: c.hookHeadIndex ?? null,
    applyBDecToInput: c.applyBDecToInput ?? true,
    normalizeActivations,
    reshapeActivations,
    dtype,
    device: c.device ?? "cpu",
    modelName: c.modelName ?? "",
    contextSize: c.contextSize ?? null,
    prependBos: c.prependBos ?? true,
    datasetPath: c.datasetPath ?? null,
    neuronpediaId: c.neuronpediaId ?? null,
    saeLensVersion: c.saeLensVersion ?? null,
    saeLensTrainingVersion: c.saeLensTrainingVersion ?? null,
    modelFromPretrainedKwargs: c.modelFromPretrainedKwargs ?? {},
  };
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : undefined);

/** The architecture a pre-6 config names: `architecture`, else its activation function (topk / jumprelu). */
function legacyArchitecture(j: Record<string, unknown>): unknown {
  if (j.architecture !== undefined) return j.architecture;
  const fn = str(j.activation_fn_str) ?? str(j.activation_fn);
  return fn === "topk" || fn === "jumprelu" ? fn : "standard";
}

/** A SAELens cfg.json (6.x, or the flat pre-6 layout: hook_point → hook_name, apply_b_dec_to_input defaults to true,
 *  k from activation_fn_kwargs) as a config. `where` names the file in errors. */
export function saeConfigFromJson(json: unknown, where = "cfg.json"): SaeConfig {
  if (!isObj(json)) throw new SaeError(`${where}: expected a JSON object`);
  const meta = isObj(json.metadata) ? json.metadata : json;
  const modern =
    isObj(json.metadata) &&
    typeof json.metadata.sae_lens_version === "string" &&
    Number.parseInt(json.metadata.sae_lens_version, 10) >= 6;
  const kwargs = isObj(json.activation_fn_kwargs) ? json.activation_fn_kwargs : {};
  const hookName = str(meta.hook_name) ?? str(json.hook_name) ?? str(json.hook_point);
  if (hookName === undefined) throw new SaeError(`${where}: no hook_name (or hook_point)`);
  try {
    return makeSaeConfig({
      architecture: (modern ? json.architecture : legacyArchitecture(json)) as SaeArchitecture,
      dIn: num(json.d_in) as number,
      dSae: num(json.d_sae) as number,
      k: num(json.k) ?? num(kwargs.k),
      rescaleActsByDecoderNorm: bool(json.rescale_acts_by_decoder_norm),
      hookName,
      hookLayer: num(meta.hook_layer) ?? num(json.hook_layer),
      hookHeadIndex: num(meta.hook_head_index) ?? num(json.hook_head_index),
      applyBDecToInput: bool(json.apply_b_dec_to_input),
      normalizeActivations: (str(json.normalize_activations) ?? "none") as NormalizeActivations,
      reshapeActivations: (str(json.reshape_activations) ??
        (hookName.endsWith("hook_z") && !modern ? "hook_z" : "none")) as SaeConfig["reshapeActivations"],
      dtype: (str(json.dtype) ?? "float32").replace(/^torch\./, "") as SaeDtype,
      device: str(json.device),
      modelName: str(meta.model_name),
      contextSize: num(meta.context_size),
      prependBos: bool(meta.prepend_bos),
      datasetPath: str(meta.dataset_path),
      neuronpediaId: str(meta.neuronpedia_id),
      saeLensVersion: str(meta.sae_lens_version),
      saeLensTrainingVersion: str(meta.sae_lens_training_version),
      modelFromPretrainedKwargs: isObj(meta.model_from_pretrained_kwargs)
        ? meta.model_from_pretrained_kwargs
        : undefined,
    });
  } catch (e) {
    if (e instanceof SaeError) e.message = `${where}: ${e.message}`;
    throw e;
  }
}

/** The config as SAELens 6's cfg.json (what SAE.save_model writes; load_from_disk reads it back). */
export function saeConfigToJson(c: SaeConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    d_in: c.dIn,
    d_sae: c.dSae,
    dtype: c.dtype,
    device: c.device,
    apply_b_dec_to_input: c.applyBDecToInput,
    normalize_activations: c.normalizeActivations,
    reshape_activations: c.reshapeActivations,
    metadata: {
      sae_lens_version: "6.18.0",
      sae_lens_training_version: c.saeLensTrainingVersion ?? "tlens",
      model_name: c.modelName,
      hook_name: c.hookName,
      hook_head_index: c.hookHeadIndex,
      context_size: c.contextSize,
      prepend_bos: c.prependBos,
      seqpos_slice: [null],
      model_from_pretrained_kwargs: c.modelFromPretrainedKwargs,
      ...(c.datasetPath !== null ? { dataset_path: c.datasetPath } : {}),
      ...(c.neuronpediaId !== null ? { neuronpedia_id: c.neuronpediaId } : {}),
    },
  };
  if (c.architecture === "topk")
    Object.assign(out, { k: c.k, rescale_acts_by_decoder_norm: c.rescaleActsByDecoderNorm });
  out.architecture = c.architecture;
  return out;
}
