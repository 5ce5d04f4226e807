// The patching grids a sweep can compute: each names a public get_act_patch_* function and its result's axes.
import * as patching from "../analysis/patching/index.js";
import type { HookedTransformer } from "../model/hooked-transformer.js";
import type { ActivationCache } from "../model/activation-cache.js";
import type { Tensor } from "../tensor/index.js";

type PatchFn = (
  model: HookedTransformer,
  corruptedTokens: Tensor,
  cleanCache: ActivationCache,
  metric: patching.MetricFn,
  opts?: patching.PatchingOptions,
) => Promise<Tensor>;

export interface SweepKindInfo {
  fn: PatchFn;
  axes: readonly string[];
}

export const SWEEP_KINDS = {
  resid_pre: { fn: patching.getActPatchResidPre, axes: ["layer", "pos"] },
  resid_mid: { fn: patching.getActPatchResidMid, axes: ["layer", "pos"] },
  attn_out: { fn: patching.getActPatchAttnOut, axes: ["layer", "pos"] },
  mlp_out: { fn: patching.getActPatchMlpOut, axes: ["layer", "pos"] },
  head_out: { fn: patching.getActPatchAttnHeadOutAllPos, axes: ["layer", "head"] },
  head_q: { fn: patching.getActPatchAttnHeadQAllPos, axes: ["layer", "head"] },
  head_k: { fn: patching.getActPatchAttnHeadKAllPos, axes: ["layer", "head"] },
  head_v: { fn: patching.getActPatchAttnHeadVAllPos, axes: ["layer", "head"] },
  head_pattern: { fn: patching.getActPatchAttnHeadPatternAllPos, axes: ["layer", "head"] },
  head_out_by_pos: { fn: patching.getActPatchAttnHeadOutByPos, axes: ["layer", "pos", "head"] },
} as const satisfies Record<string, SweepKindInfo>;

export type SweepKind = keyof typeof SWEEP_KINDS;
