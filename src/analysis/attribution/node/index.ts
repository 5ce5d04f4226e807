// Node attribution patching (AtP, AtP*): estimates of every activation-patching result from one forward + backward,
// named after the patching functions they estimate, with the same shapes: (model, { clean, corrupted, metric,
// convention, qkFix, gradDrop }) → the grid, summed over the batch (one patch replaces the activation in every row).
import type { Tensor } from "../../../tensor/index.js";
import type { HookedTransformer } from "../../../model/hooked-transformer.js";
import { estimate, type AttributionOptions, type KindSpec } from "./estimate.js";

export { gradRun, type AttributionMetric, type GradRun, type GradRunOptions } from "./grad-run.js";
export type { AttributionOptions, Convention } from "./estimate.js";

type AttrFn = (model: HookedTransformer, opts: AttributionOptions) => Promise<Tensor>;
const attr = (spec: KindSpec): AttrFn => (model, opts) => estimate(model, spec, opts);

// the product's shape → the grid row of one layer
const byPos = (t: Tensor): Tensor => t.sum([0, 2]); //              [batch, pos, d] → [pos]
const byPosHead = (t: Tensor): Tensor => t.sum([0, 3]); //          [batch, pos, head, d_head] → [pos, head]
const byHead = (t: Tensor): Tensor => t.sum([0, 1, 3]); //          [batch, pos, head, d_head] → [head]
const byBatch = (t: Tensor): Tensor => t.sum(0); //                 [batch, ...] → [...]
const patternByDest = (t: Tensor): Tensor => t.sum([0, 3]); //      [batch, head, dest, src] → [head, dest]
const patternByHead = (t: Tensor): Tensor => t.sum([0, 2, 3]); //   [batch, head, dest, src] → [head]
const neuronsAllPos = (t: Tensor): Tensor => t.sum([0, 1]); //      [batch, pos, d_mlp] → [d_mlp]

/** [n_layers, pos] */
export const attrPatchResidPre = attr({ act: "resid_pre", reduce: byPos });
export const attrPatchResidMid = attr({ act: "resid_mid", reduce: byPos });
export const attrPatchAttnOut = attr({ act: "attn_out", reduce: byPos });
export const attrPatchMlpOut = attr({ act: "mlp_out", reduce: byPos });
/** [n_layers, pos, n_heads] (hook_z, q, k, v; summed over d_head) */
export const attrPatchAttnHeadOutByPos = attr({ act: "z", reduce: byPosHead });
export const attrPatchAttnHeadQByPos = attr({ act: "q", reduce: byPosHead, qk: "q" });
export const attrPatchAttnHeadKByPos = attr({ act: "k", reduce: byPosHead, qk: "k" });
export const attrPatchAttnHeadVByPos = attr({ act: "v", reduce: byPosHead });
/** [n_layers, n_heads] */
export const attrPatchAttnHeadOutAllPos = attr({ act: "z", reduce: byHead });
export const attrPatchAttnHeadQAllPos = attr({ act: "q", reduce: byHead, qk: "q" });
export const attrPatchAttnHeadKAllPos = attr({ act: "k", reduce: byHead, qk: "kAllPos" });
export const attrPatchAttnHeadVAllPos = attr({ act: "v", reduce: byHead });
export const attrPatchAttnHeadPatternAllPos = attr({ act: "pattern", reduce: patternByHead });
/** [n_layers, n_heads, dest_pos] */
export const attrPatchAttnHeadPatternByPos = attr({ act: "pattern", reduce: patternByDest });
/** [n_layers, n_heads, dest_pos, src_pos] */
export const attrPatchAttnHeadPatternDestSrcPos = attr({ act: "pattern", reduce: byBatch });
/** MLP neurons (hook_post): [n_layers, pos, d_mlp] and [n_layers, d_mlp] */
export const attrPatchMlpNeuronsByPos = attr({ act: "post", reduce: byBatch });
export const attrPatchMlpNeuronsAllPos = attr({ act: "post", reduce: neuronsAllPos });
