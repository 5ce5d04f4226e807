// Circuit evaluation (EAP-IG's evaluate_graph): run the clean input with only the circuit's edges; every other
// edge is patched from the corrupted run. Each receiver input (a head's q/k/v input, an MLP input, the logits'
// final residual; split inputs make them separate) has Σ (this run's − the corrupted run's sender activation)
// subtracted over its senders whose edge is not in the circuit. All edges in: the clean run; none: the corrupted.
import { noGrad, stack, type Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { ActivationCache } from "../../model/activation-cache.js";
import type { HookFn } from "../../model/hook-point.js";
import type { Graph, GraphNode } from "./graph.js";
import { INPUT, splitModel } from "./eap.js";
import type { AttributionMetric } from "./node/grad-run.js";

export interface EvaluateOptions {
  clean: Tensor;
  corrupted: Tensor;
  metric: AttributionMetric;
}

const isSender = (n: string): boolean => n === INPUT || /\.attn\.hook_result$|\.hook_mlp_out$/.test(n);

/** A sender's activation [batch, pos, d_model] from the activations seen so far (hook name → tensor). */
function senderAct(acts: (name: string) => Tensor, n: GraphNode): Tensor {
  if (n.kind === "attn") return acts(n.outHook!).get(":", ":", n.head!);
  return acts(n.outHook!);
}

/** The receiver input minus Σ (current − corrupted) over the excluded edges into `child` (through input qkv). */
function patched(
  g: Graph,
  child: string,
  qkv: "q" | "k" | "v" | null,
  input: Tensor,
  cur: Map<string, Tensor>,
  corr: ActivationCache,
): Tensor {
  let out = input;
  for (const e of g.parentEdges(child)) {
    if (e.inGraph || e.qkv !== qkv) continue;
    const p = g.node(e.parent);
    out = out.sub(senderAct((n) => cur.get(n)!, p).sub(senderAct((n) => corr.get(n), p)));
  }
  return out;
}

/** The receiver hooks' edits for this graph, reading the current run's senders from `cur`. */
function receiverHooks(
  model: HookedTransformer,
  g: Graph,
  cur: Map<string, Tensor>,
  corr: ActivationCache,
): [string, HookFn][] {
  const hooks: [string, HookFn][] = [];
  const { nLayers, nHeads, attnOnly } = model.cfg;
  for (let l = 0; l < nLayers; l++) {
    for (const x of ["q", "k", "v"] as const) {
      hooks.push([
        `blocks.${l}.hook_${x}_input`,
        (act: Tensor) =>
          // [batch, pos, head, d_model]
          stack(
            [...Array(nHeads).keys()].map((h) => patched(g, `a${l}.h${h}`, x, act.get(":", ":", h), cur, corr)),
            2,
          ),
      ]);
    }
    if (!attnOnly) hooks.push([`blocks.${l}.hook_mlp_in`, (act: Tensor) => patched(g, `m${l}`, null, act, cur, corr)]);
  }
  hooks.push([`blocks.${nLayers - 1}.hook_resid_post`, (act: Tensor) => patched(g, "logits", null, act, cur, corr)]);
  return hooks;
}

/** metric of the clean run with only the graph's in-graph edges (the rest from the corrupted run). */
export async function evaluateCircuit(model: HookedTransformer, g: Graph, o: EvaluateOptions): Promise<number> {
  const restore = splitModel(model);
  try {
    return await noGrad(async () => {
      const [, corr] = await model.runWithCache(o.corrupted, { namesFilter: isSender });
      const cur = new Map<string, Tensor>();
      const record: [(n: string) => boolean, HookFn][] = [
        [
          isSender,
          (act: Tensor, hook) => {
            cur.set(hook.name, act);
          },
        ],
      ];
      const logits = await model.runWithHooks(o.clean, {
        fwdHooks: [...record, ...receiverHooks(model, g, cur, corr)],
      });
      return (await o.metric(logits)).item();
    });
  } finally {
    restore();
  }
}
