// The lab's attribution panel: attribution patching (AtP, denoising) of a prompt pair — resid_pre by position and
// head outputs over every position from one attrPatchNodes call — normalised as the patching sweep is (the fraction
// of the metric restored), and optionally the EAP / EAP-IG edge graph as a circuit viewer. No HTTP here (it runs in
// the lab's Web Worker too).
import type { HookedTransformer } from "../model/hooked-transformer.js";
import { noGrad, Tensor } from "../tensor/index.js";
import { applyTopN } from "../analysis/attribution/prune.js";
import { attrPatchNodes } from "../analysis/attribution/node/index.js";
import { attributeEdges } from "../analysis/attribution/eap.js";
import * as viz from "../viz/index.js";
import type { AttributionResponse, TokenInfo } from "./protocol.js";
import { LabError, type ValidAttribution } from "./validate.js";

type Nested = number[][];

/** logit[answer] − logit[other] (or logit[answer]) at the last position of logits [1, n, d_vocab]: a 0-d tensor
 *  built from tensor ops, so it is differentiable. */
function lastLogitDiff(answer: number, other: number | null): (logits: Tensor) => Tensor {
  return (logits) => {
    const last = logits.get(0, -1); // [d_vocab]
    const a = last.get(answer);
    return other === null ? a : a.sub(last.get(other));
  };
}

/** The response to an attribution request; `tokens` label the positions of the clean prompt. */
export async function attributionOf(
  model: HookedTransformer,
  req: ValidAttribution,
  tokens: readonly TokenInfo[],
): Promise<AttributionResponse> {
  const ids = (p: number[]): Tensor => Tensor.fromTypedArray(Int32Array.from(p), [1, p.length]);
  const [clean, corrupted] = [ids(req.clean.ids), ids(req.corrupted.ids)];
  const metric = lastLogitDiff(req.answer.id, req.other?.id ?? null);
  const value = async (t: Tensor): Promise<number> =>
    metric((await noGrad(() => model.forward(t, { logitPositions: "last" }))) as Tensor).item();
  const [mClean, mCorrupted] = [await value(clean), await value(corrupted)];
  if (!(Math.abs(mClean - mCorrupted) > 1e-6)) {
    throw new LabError(
      400,
      `the metric is the same on the clean and the corrupted prompt (${mClean.toFixed(4)}): there is nothing to restore`,
    );
  }
  const o = { clean, corrupted, metric, progressBar: false };
  const est = await attrPatchNodes(model, { ...o, logitPositions: "last", nodes: ["residPre", "attnHeadOutAllPos"] });
  const norm = (t: Tensor): Nested => t.div(mClean - mCorrupted).toArray() as Nested;
  const [residPre, heads] = [norm(est.residPre), norm(est.attnHeadOutAllPos)];
  const what = req.other ? "the logit difference" : "the logit";
  const residPreFigure = viz.imshow(residPre, {
    x: tokens.map((t, i) => `${i}: ${t.text}`),
    labels: { x: "Position", y: "Layer", color: "restored" },
    aspect: "auto",
    title: `Attribution patching (estimate): resid_pre by position — fraction of ${what} restored`,
  });
  const headsFigure = viz.imshow(heads, {
    labels: { x: "Head", y: "Layer", color: "restored" },
    aspect: "auto",
    title: `Attribution patching (estimate): head outputs (every position) — fraction of ${what} restored`,
  });
  const base = { clean: mClean, corrupted: mCorrupted, residPre, heads, residPreFigure, headsFigure };
  if (req.circuit === "none") return { ...base, circuit: null, edges: 0, circuitEdges: 0 };
  const graph = await attributeEdges(model, { ...o, method: req.circuit });
  const circuitEdges = applyTopN(graph, req.topN);
  const circuit = viz.circuitViewer(graph, {
    title: `Circuit (${req.circuit.toUpperCase()}): the ${req.topN} strongest edges, ${circuitEdges} on an input → logits path`,
  });
  return { ...base, circuit, edges: graph.edges.length, circuitEdges };
}
