// Gemma Scope's params.npz (JumpReLU SAEs; SAELens's gemma_2_sae_huggingface_loader): W_enc [d_in, d_sae], W_dec
// [d_sae, d_in], b_enc, b_dec, threshold, no b_dec subtraction, no normalisation; the hook from the repo and folder.
import type { Tensor } from "../../tensor/index.js";
import { SaeError } from "../errors.js";
import { SAE } from "../sae.js";
import type { SaeConfigInput } from "../config.js";
import { parseNpz } from "./npy.js";

/** The TL hook of a Gemma Scope SAE: "google/gemma-scope-2b-pt-res" + "layer_12/width_16k/average_l0_82" →
 *  blocks.12.hook_resid_post (-mlp → hook_mlp_out, -att → attn.hook_z; "embedding" → hook_embed). */
export function gemmaScopeHookName(repoId: string, folder: string): string {
  if (/embedding/.test(folder)) return "hook_embed";
  const layer = /layer_(\d+)/.exec(folder)?.[1];
  if (layer === undefined) throw new SaeError(`Gemma Scope folder "${folder}" names no layer_N; pass hookName`);
  if (/-res\b/.test(repoId)) return `blocks.${layer}.hook_resid_post`;
  if (/-mlp\b/.test(repoId)) return `blocks.${layer}.hook_mlp_out`;
  if (/-att\b/.test(repoId)) return `blocks.${layer}.attn.hook_z`;
  throw new SaeError(
    `cannot tell the hook of Gemma Scope repo "${repoId}" (expected -res, -mlp or -att); pass hookName`,
  );
}

export interface GemmaScopeOptions extends Partial<SaeConfigInput> {
  hookName: string;
}

/** A JumpReLU SAE from params.npz's arrays (keys w_* become W_*; cast to float32). The embedding SAEs' hook_embed
 *  weights are rescaled as SAELens does (W_enc / √d_in, W_dec · √d_in). */
export function saeFromGemmaScope(arrays: ReadonlyMap<string, Tensor>, opts: GemmaScopeOptions): SAE {
  const w = new Map([...arrays].map(([k, t]) => [k.startsWith("w_") ? `W_${k.slice(2)}` : k, t.to("float32")]));
  const W_enc = w.get("W_enc");
  if (!W_enc || W_enc.ndim !== 2)
    throw new SaeError(`Gemma Scope params: W_enc [d_in, d_sae] is missing (have ${[...arrays.keys()].join(", ")})`);
  const [dIn, dSae] = W_enc.shape as [number, number];
  if (opts.hookName === "hook_embed") {
    w.set("W_enc", W_enc.div(Math.sqrt(dIn)));
    const W_dec = w.get("W_dec");
    if (W_dec) w.set("W_dec", W_dec.mul(Math.sqrt(dIn)));
  }
  return new SAE(
    { architecture: "jumprelu", dIn, dSae, applyBDecToInput: false, normalizeActivations: "none", ...opts },
    w,
  );
}

/** saeFromGemmaScope on the bytes of a params.npz. */
export function saeFromNpz(bytes: Uint8Array, opts: GemmaScopeOptions, where = "params.npz"): SAE {
  return saeFromGemmaScope(parseNpz(bytes, where), opts);
}
