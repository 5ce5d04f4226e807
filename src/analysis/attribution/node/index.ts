// Node attribution patching (AtP, AtP*): estimates of every activation-patching result from one forward + backward,
// named after the patching functions they estimate, with the same shapes: (model, { clean, corrupted, metric,
// convention, qkFix, gradDrop }) → the grid, summed over the batch (one patch replaces the activation in every row);
// attrPatchNodes gives several kinds from the passes of one.
import type { Tensor } from "../../../tensor/index.js";
import type { HookedTransformer } from "../../../model/hooked-transformer.js";
import { AttributionError } from "../errors.js";
import { estimateKinds, type AttributionOptions, type KindSpec } from "./estimate.js";

export { gradRun, type AttributionMetric, type GradRun, type GradRunOptions } from "./grad-run.js";
export type { AttributionOptions, Convention } from "./estimate.js";

// the product's shape → the grid row of one layer
const byPos = (t: Tensor): Tensor => t.sum([0, 2]); //              [batch, pos, d] → [pos]
const byPosHead = (t: Tensor): Tensor => t.sum([0, 3]); //          [batch, pos, head, d_head] → [pos, head]
const byHead = (t: Tensor): Tensor => t.sum([0, 1, 3]); //          [batch, pos, head, d_head] → [head]
const byBatch = (t: Tensor): Tensor => t.sum(0); //                 [batch, ...] → [...]
const patternByDest = (t: Tensor): Tensor => t.sum([0, 3]); //      [batch, head, dest, src] → [head, dest]
const patternByHead = (t: Tensor): Tensor => t.sum([0, 2, 3]); //   [batch, head, dest, src] → [head]
const neuronsAllPos = (t: Tensor): Tensor => t.sum([0, 1]); //      [batch, pos, d_mlp] → [d_mlp]

/** Every node kind, named as its function without "attrPatch" (attrPatchResidPre ↔ "residPre"). */
const KINDS = {
  /** [n_layers, pos] */
  residPre: { act: "resid_pre", reduce: byPos },
  residMid: { act: "resid_mid", reduce: byPos },
  attnOut: { act: "attn_out", reduce: byPos },
  mlpOut: { act: "mlp_out", reduce: byPos },
  /** [n_layers, pos, n_heads] (hook_z, q, k, v; summed over d_head) */
  attnHeadOutByPos: { act: "z", reduce: byPosHead },
  attnHeadQByPos: { act: "q", reduce: byPosHead, qk: "q" },
  attnHeadKByPos: { act: "k", reduce: byPosHead, qk: "k" },
  attnHeadVByPos: { act: "v", reduce: byPosHead },
  /** [n_layers, n_heads] */
  attnHeadOutAllPos: { act: "z", reduce: byHead },
  attnHeadQAllPos: { act: "q", reduce: byHead, qk: "q" },
  attnHeadKAllPos: { act: "k", reduce: byHead, qk: "kAllPos" },
  attnHeadVAllPos: { act: "v", reduce: byHead },
  attnHeadPatternAllPos: { act: "pattern", reduce: patternByHead },
  /** [n_layers, n_heads, dest_pos] */
  attnHeadPatternByPos: { act: "pattern", reduce: patternByDest },
  /** [n_layers, n_heads, dest_pos, src_pos] */
  attnHeadPatternDestSrcPos: { act: "pattern", reduce: byBatch },
  /** MLP neurons (hook_post): [n_layers, pos, d_mlp] and [n_layers, d_mlp] */
  mlpNeuronsByPos: { act: "post", reduce: byBatch },
  mlpNeuronsAllPos: { act: "post", reduce: neuronsAllPos },
} as const satisfies Record<string, KindSpec>;

/** A node kind of attrPatchNodes: the name of its single-kind function without "attrPatch". */
export type AttrPatchKind = keyof typeof KINDS;
export const ATTR_PATCH_KINDS = Object.keys(KINDS) as AttrPatchKind[];

export interface AttrPatchNodesOptions<K extends AttrPatchKind> extends AttributionOptions {
  nodes: readonly K[];
}

/** Several node attributions from the passes of one: one forward of the other run and one forward + backward of
 *  the base run (L with gradDrop) for all of `nodes` together; each result as its attrPatch<Kind> gives it. */
export async function attrPatchNodes<K extends AttrPatchKind>(
  model: HookedTransformer,
  opts: AttrPatchNodesOptions<K>,
): Promise<Record<K, Tensor>> {
  const unknown = opts.nodes.filter((k) => !Object.hasOwn(KINDS, k));
  if (unknown.length)
    throw new AttributionError(
      `attrPatchNodes: unknown node kind(s) ${unknown.map((k) => `"${String(k)}"`).join(", ")}; known: ${ATTR_PATCH_KINDS.join(", ")}`,
    );
  return estimateKinds(model, new Map(opts.nodes.map((k) => [k, KINDS[k] as KindSpec])), opts);
}

type AttrFn = (model: HookedTransformer, opts: AttributionOptions) => Promise<Tensor>;
const attr =
  (kind: AttrPatchKind): AttrFn =>
  async (model, opts) =>
    (await attrPatchNodes(model, { ...opts, nodes: [kind] }))[kind];

export const attrPatchResidPre = attr("residPre");
export const attrPatchResidMid = attr("residMid");
export const attrPatchAttnOut = attr("attnOut");
export const attrPatchMlpOut = attr("mlpOut");
export const attrPatchAttnHeadOutByPos = attr("attnHeadOutByPos");
export const attrPatchAttnHeadQByPos = attr("attnHeadQByPos");
export const attrPatchAttnHeadKByPos = attr("attnHeadKByPos");
export const attrPatchAttnHeadVByPos = attr("attnHeadVByPos");
export const attrPatchAttnHeadOutAllPos = attr("attnHeadOutAllPos");
export const attrPatchAttnHeadQAllPos = attr("attnHeadQAllPos");
export const attrPatchAttnHeadKAllPos = attr("attnHeadKAllPos");
export const attrPatchAttnHeadVAllPos = attr("attnHeadVAllPos");
export const attrPatchAttnHeadPatternAllPos = attr("attnHeadPatternAllPos");
export const attrPatchAttnHeadPatternByPos = attr("attnHeadPatternByPos");
export const attrPatchAttnHeadPatternDestSrcPos = attr("attnHeadPatternDestSrcPos");
export const attrPatchMlpNeuronsByPos = attr("mlpNeuronsByPos");
export const attrPatchMlpNeuronsAllPos = attr("mlpNeuronsAllPos");
