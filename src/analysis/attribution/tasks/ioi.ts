// The IOI task for attribution: the IOI dataset and its ABC-flipped twin (makeIoiData), the metric the IOI logit
// difference logit[IO] − logit[S] at each prompt's `end`, as a tensor (ioi/metric.ts computes the same number).
import type { HookedTransformer } from "../../../model/hooked-transformer.js";
import { makeIoiData, type IoiDataOptions } from "../../ioi/data.js";
import { logitDiffMetric } from "./metrics.js";
import { checkPair, int32, type AttributionTask } from "./task.js";

/** The IOI task for attribution: clean prompts, their ABC-flipped corrupted pairs (IOIDataset), and the IO − S logit difference metric at the end position. */
export function ioiTask(model: HookedTransformer, opts: IoiDataOptions = {}): AttributionTask {
  const { dataset, cleanTokens, flippedTokens, ends } = makeIoiData(model, opts);
  checkPair("ioiTask", cleanTokens, flippedTokens);
  const n = dataset.N;
  const io = dataset.ioTokenIDs.slice(0, n);
  const s = dataset.sTokenIDs.slice(0, n);
  return {
    name: "ioi",
    clean: cleanTokens,
    corrupted: flippedTokens,
    answers: int32(io),
    positions: ends.end,
    metric: logitDiffMetric("ioiTask", ends.end, io, s),
    labels: dataset.ioiPrompts.slice(0, n).map((p) => p.text),
  };
}
