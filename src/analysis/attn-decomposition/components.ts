// The residual-stream components at positions (W_E, W_pos, every head, every MLP, biases), normalised as ln1 sees them.
import type { ActivationCache, HookedTransformer } from "../../model/index.js";
import { stack, Tensor, zeros } from "../../tensor/index.js";
import { type Resolved, atPositions } from "./targets.js";
import { centre, lnScaleAt } from "./head-inputs.js";

/** Component labels of a decomposition of the stream into layer L: W_E, W_pos, the bias of the decomposed side
 *  (b_K or b_Q), the summed b_O of the layers before L, then for each layer l < L its heads `L{l}H{h}` and `MLP{l}`. */
export function attnDecompositionLabels(model: HookedTransformer, layer: number, side: "keys" | "queries"): string[] {
  const labels = ["W_E", "W_pos", side === "keys" ? "b_K" : "b_Q", "b_O"];
  for (let l = 0; l < layer; l++) {
    for (let h = 0; h < model.cfg.nHeads; h++) labels.push(`L${l}H${h}`);
    if (!model.cfg.attnOnly) labels.push(`MLP${l}`);
  }
  return labels;
}

/** Index of the bias term (b_K / b_Q) among the labels. */
export const BIAS = 2;

/** `[batch, n_heads, d_model]`: each head's output z·W_O (without b_O) at the positions; hook_result when cached. */
export function headResultsAt(
  model: HookedTransformer,
  cache: ActivationCache,
  layer: number,
  pos: readonly number[],
): Tensor {
  const what = "headResultsAt";
  const resultName = `blocks.${layer}.attn.hook_result`;
  if (cache.has(resultName)) return atPositions(cache.get(resultName), pos, what);
  const z = atPositions(cache.get(`blocks.${layer}.attn.hook_z`), pos, what); // [batch, heads, d_head]
  return z.permute(1, 0, 2).matmul(model.blocks[layer]!.attn.W_O).permute(1, 0, 2).contiguous();
}

/** [C, batch, d_model] raw stream components at the positions, in label order (the bias slot is zero). */
function componentsAt(
  model: HookedTransformer,
  cache: ActivationCache,
  layer: number,
  pos: readonly number[],
  what: string,
): Tensor {
  const batch = pos.length;
  const d = model.cfg.dModel;
  const parts: Tensor[] = [
    atPositions(cache.get("hook_embed"), pos, what),
    atPositions(cache.get("hook_pos_embed"), pos, what),
    zeros([batch, d]),
  ];
  let bO = zeros([d]);
  for (let l = 0; l < layer; l++) bO = bO.add(model.blocks[l]!.attn.b_O);
  parts.push(bO.unsqueeze(0).expand(batch, d));
  for (let l = 0; l < layer; l++) {
    const heads = headResultsAt(model, cache, l, pos);
    for (let h = 0; h < model.cfg.nHeads; h++) parts.push(heads.get(":", h));
    if (!model.cfg.attnOnly) parts.push(atPositions(cache.get(`blocks.${l}.hook_mlp_out`), pos, what));
  }
  return stack(parts);
}

/** [C, batch, d_model]: the components centred and divided by ln1's scale at the positions (they sum to u). */
export function normalizedComponentsAt(
  model: HookedTransformer,
  cache: ActivationCache,
  r: Resolved,
  pos: readonly number[],
  what: string,
): Tensor {
  const comps = componentsAt(model, cache, r.layer, pos, what);
  return centre(model, comps).div(lnScaleAt(model, cache, r.layer, r.head, pos, what).unsqueeze(0));
}
