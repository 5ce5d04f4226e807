// TransformerLens's get_act_patch_* functions, camelCased, same argument order: (model, corruptedTokens,
// cleanCache, metric, opts?). Results: [layer, pos], [layer, head], [layer, pos, head], [layer, head, dest_pos], ...
import { rearrange, stack, type Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { ActivationCache } from "../../model/activation-cache.js";
import type { MetricFn } from "./engine.js";
import { genericActivationPatch, type AxisName, type PatchingOptions } from "./generic.js";
import {
  layerHeadDestSrcPosPatternPatchSetter,
  layerHeadPatternPatchSetter,
  layerHeadPosPatternPatchSetter,
  layerHeadVectorPatchSetter,
  layerPosHeadVectorPatchSetter,
  layerPosPatchSetter,
  type PatchSetter,
} from "./setters.js";

export { genericActivationPatch, type AxisName, type GenericPatchOptions, type PatchingOptions } from "./generic.js";
export * from "./setters.js";
export type { MetricFn } from "./engine.js";

type PatchFn = (
  model: HookedTransformer,
  corruptedTokens: Tensor,
  cleanCache: ActivationCache,
  metric: MetricFn,
  opts?: PatchingOptions,
) => Promise<Tensor>;

function patcher(activationName: string, patchSetter: PatchSetter, indexAxisNames: AxisName[]): PatchFn {
  return (model, corruptedTokens, cleanCache, metric, opts = {}) =>
    genericActivationPatch(model, corruptedTokens, cleanCache, metric, {
      ...opts,
      activationName,
      patchSetter,
      indexAxisNames,
    });
}

/** [layer, pos] */
export const getActPatchResidPre = patcher("resid_pre", layerPosPatchSetter, ["layer", "pos"]);
export const getActPatchResidMid = patcher("resid_mid", layerPosPatchSetter, ["layer", "pos"]);
export const getActPatchAttnOut = patcher("attn_out", layerPosPatchSetter, ["layer", "pos"]);
export const getActPatchMlpOut = patcher("mlp_out", layerPosPatchSetter, ["layer", "pos"]);
/** [layer, pos, head] */
export const getActPatchAttnHeadOutByPos = patcher("z", layerPosHeadVectorPatchSetter, ["layer", "pos", "head"]);
export const getActPatchAttnHeadQByPos = patcher("q", layerPosHeadVectorPatchSetter, ["layer", "pos", "head"]);
export const getActPatchAttnHeadKByPos = patcher("k", layerPosHeadVectorPatchSetter, ["layer", "pos", "head"]);
export const getActPatchAttnHeadVByPos = patcher("v", layerPosHeadVectorPatchSetter, ["layer", "pos", "head"]);
/** [layer, head, dest_pos] */
export const getActPatchAttnHeadPatternByPos = patcher("pattern", layerHeadPosPatternPatchSetter, [
  "layer",
  "head_index",
  "dest_pos",
]);
/** [layer, head, dest_pos, src_pos] */
export const getActPatchAttnHeadPatternDestSrcPos = patcher("pattern", layerHeadDestSrcPosPatternPatchSetter, [
  "layer",
  "head_index",
  "dest_pos",
  "src_pos",
]);
/** [layer, head] */
export const getActPatchAttnHeadOutAllPos = patcher("z", layerHeadVectorPatchSetter, ["layer", "head"]);
export const getActPatchAttnHeadQAllPos = patcher("q", layerHeadVectorPatchSetter, ["layer", "head"]);
export const getActPatchAttnHeadKAllPos = patcher("k", layerHeadVectorPatchSetter, ["layer", "head"]);
export const getActPatchAttnHeadVAllPos = patcher("v", layerHeadVectorPatchSetter, ["layer", "head"]);
export const getActPatchAttnHeadPatternAllPos = patcher("pattern", layerHeadPatternPatchSetter, [
  "layer",
  "head_index",
]);

/** `[3, layer, pos]`: resid_pre, attn_out, mlp_out */
export async function getActPatchBlockEvery(
  model: HookedTransformer,
  corruptedTokens: Tensor,
  cleanCache: ActivationCache,
  metric: MetricFn,
  opts: PatchingOptions = {},
): Promise<Tensor> {
  const parts: Tensor[] = [];
  for (const f of [getActPatchResidPre, getActPatchAttnOut, getActPatchMlpOut])
    parts.push(await f(model, corruptedTokens, cleanCache, metric, opts));
  return stack(parts);
}

/** `[5, layer, head]`: output (z), q, k, v, pattern */
export async function getActPatchAttnHeadAllPosEvery(
  model: HookedTransformer,
  corruptedTokens: Tensor,
  cleanCache: ActivationCache,
  metric: MetricFn,
  opts: PatchingOptions = {},
): Promise<Tensor> {
  const parts: Tensor[] = [];
  for (const f of [
    getActPatchAttnHeadOutAllPos,
    getActPatchAttnHeadQAllPos,
    getActPatchAttnHeadKAllPos,
    getActPatchAttnHeadVAllPos,
    getActPatchAttnHeadPatternAllPos,
  ]) {
    parts.push(await f(model, corruptedTokens, cleanCache, metric, opts));
  }
  return stack(parts);
}

/** `[5, layer, pos, head]`: output (z), q, k, v by position, and the pattern by destination position */
export async function getActPatchAttnHeadByPosEvery(
  model: HookedTransformer,
  corruptedTokens: Tensor,
  cleanCache: ActivationCache,
  metric: MetricFn,
  opts: PatchingOptions = {},
): Promise<Tensor> {
  const parts: Tensor[] = [];
  for (const f of [
    getActPatchAttnHeadOutByPos,
    getActPatchAttnHeadQByPos,
    getActPatchAttnHeadKByPos,
    getActPatchAttnHeadVByPos,
  ]) {
    parts.push(await f(model, corruptedTokens, cleanCache, metric, opts));
  }
  const pattern = await getActPatchAttnHeadPatternByPos(model, corruptedTokens, cleanCache, metric, opts);
  parts.push(rearrange(pattern, "layer head pos -> layer pos head").contiguous());
  return stack(parts);
}
