// Edge attribution patching (EAP, Syed et al. 2023) and EAP with integrated gradients on the inputs (EAP-IG,
// Hanna et al. 2024, hannamw/EAP-IG's "EAP-IG-inputs"): the score of edge sender → receiver is
// Σ_{batch,pos,d} Δsender · ∂metric/∂(receiver input), Δ = other − base sender activation ("denoise", the default:
// clean − corrupted with gradients at the corrupted run; "noise": corrupted − clean at the clean run, EAP-IG's).
// One backward gives every receiver's input gradient, through the split inputs (use_split_qkv_input: each head's
// q/k/v input is its own copy of the residual stream; use_hook_mlp_in; the final resid_post for the logits), and
// the senders are hook_result per head (use_attn_result), hook_mlp_out and the input (blocks.0.hook_resid_pre).
// EAP-IG averages the gradients over `steps` runs whose input embedding goes from the base run's to the other's;
// EAP-IG on activations ("EAP-IG-activations") does the same for each sender group's output in turn (the input,
// each layer's heads, each MLP), the rest of the model recomputed from it.
import { cat, noGrad, type Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { ActivationCache } from "../../model/activation-cache.js";
import { progressReporter, type ProgressOptions } from "../progress.js";
import { AttributionError } from "./errors.js";
import { Graph } from "./graph.js";
import { gradRun, type AttributionMetric, type GradRun, type GradRunOptions } from "./node/grad-run.js";
import { checkPairAndConvention, checkSignal, type Convention } from "./node/estimate.js";

export interface EdgeAttributionOptions extends ProgressOptions {
  clean: Tensor;
  corrupted: Tensor;
  metric: AttributionMetric;
  convention?: Convention;
  /** "eap" (default), "eap-ig" (integrated gradients on the input embeddings) or "eap-ig-activations"
   *  (integrated gradients on each sender group's output in turn). */
  method?: EdgeMethod;
  /** EAP-IG's number of interpolation steps (default 5): α = k / steps, k = 1..steps. */
  steps?: number;
  signal?: AbortSignal;
}

export type EdgeMethod = "eap" | "eap-ig" | "eap-ig-activations";
export const EDGE_METHODS: readonly EdgeMethod[] = ["eap", "eap-ig", "eap-ig-activations"];

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
  const perLayer = (l: number): string[] => [
    ...["q", "k", "v"].map((x) => `blocks.${l}.hook_${x}_input`),
    ...(attnOnly ? [] : [`blocks.${l}.hook_mlp_in`]),
  ];
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
  return all.reshape(all.shape[0]!, -1);
}

/** A receiver hook's gradient as columns: [batch * pos * d_model, heads] (1 column for mlp_in and the logits). */
function receiverColumns(grad: Tensor): Tensor {
  const g = grad.ndim === 4 ? grad.permute(2, 0, 1, 3) : grad.unsqueeze(0); // [cols, batch, pos, d_model]
  return g.reshape(g.shape[0]!, -1).transpose(0, 1);
}

function checkOptions(o: EdgeAttributionOptions): number {
  checkPairAndConvention("edge attribution", o.clean, o.corrupted, o.convention);
  if (o.method !== undefined && !EDGE_METHODS.includes(o.method)) {
    throw new AttributionError(
      `edge attribution: method must be one of ${EDGE_METHODS.map((m) => `"${m}"`).join(", ")}, got "${String(o.method)}"`,
    );
  }
  const steps = o.method === "eap-ig" || o.method === "eap-ig-activations" ? (o.steps ?? 5) : 1;
  if (!Number.isInteger(steps) || steps < 1)
    throw new AttributionError(`edge attribution: steps must be a positive integer, got ${String(o.steps)}`);
  return steps;
}

/** The sender groups EAP-IG on activations interpolates in turn, by output hook: the input, then per layer the
 *  heads' results and the MLP's output. */
function senderGroups(model: HookedTransformer): string[] {
  const perLayer = (l: number): string[] => [
    `blocks.${l}.attn.hook_result`,
    ...(model.cfg.attnOnly ? [] : [`blocks.${l}.hook_mlp_out`]),
  ];
  return [INPUT, ...[...Array(model.cfg.nLayers).keys()].flatMap(perLayer)];
}

/** One backward run of the average: its options (built when it runs, to hold one offset tensor at a time) and how
 *  many of the averaged runs it stands for (its gradients are scaled by that count, the sum by the total once). */
interface WeightedRun {
  opts: () => GradRunOptions;
  count: number;
}

/** The runs whose receiver gradients are averaged. EAP: the base run. EAP-IG on the inputs: `steps` runs with the
 *  input embedding base + (k / steps)(other − base), k = 1 … steps. On activations (hannamw/EAP-IG's
 *  get_scores_ig_activations: output α·base + (1 − α)·other, α = k / steps): for each sender group `steps` runs with
 *  its output shifted by (1 − k / steps)(other − base); the k = steps run has no shift and is the same for every
 *  group, so it runs once, counted for every group. */
function averagedRuns(
  model: HookedTransformer,
  method: EdgeMethod,
  steps: number,
  base: ActivationCache,
  other: ActivationCache,
): WeightedRun[] {
  if (method === "eap") return [{ opts: () => ({}), count: 1 }];
  const k1 = [...Array(steps).keys()].map((i) => i + 1);
  if (method === "eap-ig") {
    const [b0, b1] = [base.get(INPUT), other.get(INPUT)];
    return k1.map((k) => ({
      opts: () => ({ replace: new Map([[INPUT, b0.add(b1.sub(b0).mul(k / steps))]]) }),
      count: 1,
    }));
  }
  const groups = senderGroups(model);
  const runs: WeightedRun[] = [{ opts: () => ({}), count: groups.length }];
  for (const g of groups) {
    for (const k of k1.slice(0, -1)) {
      runs.push({
        opts: () => ({
          shift: new Map([
            [
              g,
              other
                .get(g)
                .sub(base.get(g))
                .mul(1 - k / steps),
            ],
          ]),
        }),
        count: 1,
      });
    }
  }
  return runs;
}

/** The graph of the model with every edge scored by EAP or EAP-IG, summed over the batch and positions. */
export async function attributeEdges(model: HookedTransformer, o: EdgeAttributionOptions): Promise<Graph> {
  const steps = checkOptions(o);
  const method = o.method ?? "eap";
  const graph = Graph.fromConfig(model.cfg);
  const denoise = (o.convention ?? "denoise") === "denoise";
  const [baseTokens, otherTokens] = denoise ? [o.corrupted, o.clean] : [o.clean, o.corrupted];
  const receivers = receiverHooks(model);
  const restore = splitModel(model);
  try {
    checkSignal(o.signal);
    const names = (n: string): boolean => n === INPUT || /\.attn\.hook_result$|\.hook_mlp_out$/.test(n);
    const [[, other], [, base]] = await noGrad(async () => [
      await model.runWithCache(otherTokens, { namesFilter: names }),
      await model.runWithCache(baseTokens, { namesFilter: names }),
    ]);
    const delta = senderMatrix(model, other).sub(senderMatrix(model, base)); // [nSenders, batch * pos * d_model]
    const runs = averagedRuns(model, method, steps, base, other);
    const report = progressReporter(`edge attribution (${method})`, runs.length + 1, o);
    report(1, runs.length + 1);
    const sum = new Map<string, Tensor>();
    for (const [i, r] of runs.entries()) {
      checkSignal(o.signal);
      const run: GradRun = await gradRun(model, baseTokens, o.metric, receivers, r.opts());
      for (const name of receivers) {
        const grad = run.grads.get(name)!;
        const g = r.count === 1 ? grad : grad.mul(r.count);
        sum.set(name, sum.has(name) ? sum.get(name)!.add(g) : g);
      }
      report(i + 2, runs.length + 1);
    }
    const total = runs.reduce((n, r) => n + r.count, 0);
    const matrix = cat(
      receivers.map((r) => delta.matmul(receiverColumns(sum.get(r)!))),
      1,
    ).div(total); // [nSenders, nReceivers]
    graph.setScoresFromMatrix(matrix.to("float64").dataSync());
    return graph;
  } finally {
    restore();
  }
}
