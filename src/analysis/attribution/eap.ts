// Edge attribution patching (EAP, Syed et al. 2023) and EAP with integrated gradients on the inputs (EAP-IG,
// Hanna et al. 2024, hannamw/EAP-IG's "EAP-IG-inputs"): the score of edge sender → receiver is
// Σ_{batch,pos,d} Δsender · ∂metric/∂(receiver input), Δ = other − base sender activation ("denoise", the default:
// clean − corrupted with gradients at the corrupted run; "noise": corrupted − clean at the clean run, EAP-IG's).
// One backward gives every receiver's input gradient, through the split inputs (use_split_qkv_input: each head's
// q/k/v input is its own copy of the residual stream; use_hook_mlp_in; the final resid_post for the logits), and
// the senders are hook_result per head (use_attn_result), hook_mlp_out and the input (blocks.0.hook_resid_pre).
// EAP-IG averages the gradients over `steps` runs whose input embedding goes from the base run's to the other's.
import { cat, noGrad, type Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { ActivationCache } from "../../model/activation-cache.js";
import { progressReporter, type ProgressOptions } from "../progress.js";
import { AttributionError } from "./errors.js";
import { Graph } from "./graph.js";
import { gradRun, type AttributionMetric, type GradRun } from "./node/grad-run.js";
import { checkPairAndConvention, checkSignal, type Convention } from "./node/estimate.js";

export interface EdgeAttributionOptions extends ProgressOptions {
  clean: Tensor;
  corrupted: Tensor;
  metric: AttributionMetric;
  convention?: Convention;
  /** "eap" (default) or "eap-ig" (integrated gradients on the input embeddings). */
  method?: "eap" | "eap-ig";
  /** EAP-IG's number of interpolation steps (default 5): α = k / steps, k = 1..steps. */
  steps?: number;
  signal?: AbortSignal;
}

export const INPUT = "blocks.0.hook_resid_pre";

/** The flags that make every sender and receiver a hook point; returns a function restoring the model's own. */
export function splitModel(model: HookedTransformer): () => void {
  const { useAttnResult, useSplitQkvInput, useHookMlpIn } = model.cfg;
  model.setUseAttnResult(true);
  model.setUseSplitQkvInput(true);
  if (!model.cfg.attnOnly) model.setUseHookMlpIn(true);
  return () => {
    model.setUseAttnResult(useAttnResult);
    model.setUseSplitQkvInput(useSplitQkvInput);
    if (!model.cfg.attnOnly) model.setUseHookMlpIn(useHookMlpIn);
  };
}

/** Receiver hooks in the graph's column order groups: per layer q, k, v inputs ([batch, pos, head, d_model]) and
 *  mlp_in ([batch, pos, d_model]); last the final residual (the logits' input). */
function receiverHooks(model: HookedTransformer): string[] {
  const { nLayers, attnOnly } = model.cfg;
  const perLayer = (l: number): string[] => [...["q", "k", "v"].map((x) => `blocks.${l}.hook_${x}_input`), ...(attnOnly ? [] : [`blocks.${l}.hook_mlp_in`])];
  return [...[...Array(nLayers).keys()].flatMap(perLayer), `blocks.${nLayers - 1}.hook_resid_post`];
}

/** Sender activations in the graph's sender order, flattened: [nSenders, batch * pos * d_model]. */
function senderMatrix(model: HookedTransformer, cache: ActivationCache): Tensor {
  const rows: Tensor[] = [cache.get(INPUT).unsqueeze(0)];
  for (let l = 0; l < model.cfg.nLayers; l++) {
    rows.push(cache.get(`blocks.${l}.attn.hook_result`).permute(2, 0, 1, 3)); // [head, batch, pos, d_model]
    if (!model.cfg.attnOnly) rows.push(cache.get(`blocks.${l}.hook_mlp_out`).unsqueeze(0));
  }
  const all = cat(rows, 0);
  return all.reshape(all.shape[0], -1);
}

/** A receiver hook's gradient as columns: [batch * pos * d_model, heads] (1 column for mlp_in and the logits). */
function receiverColumns(grad: Tensor): Tensor {
  const g = grad.ndim === 4 ? grad.permute(2, 0, 1, 3) : grad.unsqueeze(0); // [cols, batch, pos, d_model]
  return g.reshape(g.shape[0], -1).transpose(0, 1);
}

function checkOptions(o: EdgeAttributionOptions): number {
  checkPairAndConvention("edge attribution", o.clean, o.corrupted, o.convention);
  if (o.method !== undefined && o.method !== "eap" && o.method !== "eap-ig") throw new AttributionError(`edge attribution: method must be "eap" or "eap-ig", got "${String(o.method)}"`);
  const steps = o.method === "eap-ig" ? o.steps ?? 5 : 1;
  if (!Number.isInteger(steps) || steps < 1) throw new AttributionError(`edge attribution: steps must be a positive integer, got ${String(o.steps)}`);
  return steps;
}

/** The graph of the model with every edge scored by EAP or EAP-IG, summed over the batch and positions. */
export async function attributeEdges(model: HookedTransformer, o: EdgeAttributionOptions): Promise<Graph> {
  const steps = checkOptions(o);
  const graph = Graph.fromConfig(model.cfg);
  const denoise = (o.convention ?? "denoise") === "denoise";
  const [baseTokens, otherTokens] = denoise ? [o.corrupted, o.clean] : [o.clean, o.corrupted];
  const receivers = receiverHooks(model);
  const report = progressReporter(`edge attribution (${o.method ?? "eap"})`, steps + 1, o);
  const restore = splitModel(model);
  try {
    checkSignal(o.signal);
    const names = (n: string): boolean => n === INPUT || /\.attn\.hook_result$|\.hook_mlp_out$/.test(n);
    const [[, other], [, base]] = await noGrad(async () => [
      await model.runWithCache(otherTokens, { namesFilter: names }), await model.runWithCache(baseTokens, { namesFilter: names })]);
    const delta = senderMatrix(model, other).sub(senderMatrix(model, base)); // [nSenders, batch * pos * d_model]
    report(1, steps + 1);
    const sum = new Map<string, Tensor>();
    for (let k = 1; k <= steps; k++) {
      checkSignal(o.signal);
      let replace: Map<string, Tensor> | undefined;
      if (o.method === "eap-ig") {
        const [b0, b1] = [base.get(INPUT), other.get(INPUT)];
        replace = new Map([[INPUT, b0.add(b1.sub(b0).mul(k / steps))]]);
      }
      const run: GradRun = await gradRun(model, baseTokens, o.metric, receivers, { replace });
      for (const r of receivers) sum.set(r, sum.has(r) ? sum.get(r)!.add(run.grads.get(r)!) : run.grads.get(r)!);
      report(k + 1, steps + 1);
    }
    const matrix = cat(receivers.map((r) => delta.matmul(receiverColumns(sum.get(r)!))), 1).div(steps); // [nSenders, nReceivers]
    graph.setScoresFromMatrix(matrix.to("float64").dataSync());
    return graph;
  } finally {
    restore();
  }
}
