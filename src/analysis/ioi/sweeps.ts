// Activation-patching sweeps of the IOI data, run once per group of prompts sharing an `end` position (so each
// patched run unembeds one position), and patching at word positions (each prompt at its own IO, S1, S2, ...).
import { AnalysisError } from "../../errors.js";
import { Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { ActivationCache } from "../../model/activation-cache.js";
import * as patching from "../patching/index.js";
import type { IoiData } from "./data.js";
import { ioiLogitDiffs } from "./metric.js";

function int32(values: readonly number[]): Tensor {
  return Tensor.fromTypedArray(Int32Array.from(values), [values.length]);
}

/** One sweep on a group of rows: corrupted tokens [rows, pos], the clean cache of those rows, the group's mean logit
 *  difference as the metric, the group's one `end` position as metricPositions. Returns any shape of scores. */
export type GroupSweep = (
  tokens: Tensor,
  cache: ActivationCache,
  metric: (logits: Tensor) => number,
  metricPositions: number[],
  rows: number[],
) => Promise<Tensor>;

/**
 * Runs `sweep` once per group of prompts sharing an `end` position; the groups' mean logit differences, weighted by
 * group size, give the mean over all prompts, which is normalised as the fraction restored ("denoising":
 * (LD − flipped) / (clean − flipped)). Equal, up to float rounding, to one sweep over every prompt with
 * `ioiMetric(model, data.dataset, { clean, corrupted: flipped, normalization: "denoising" })` and
 * `metricPositions: data.ends.positions`.
 */
export async function sweepByEndGroups(
  data: IoiData,
  cleanCache: ActivationCache,
  clean: number,
  flipped: number,
  sweep: GroupSweep,
): Promise<Tensor> {
  const N = data.dataset.N;
  let acc: Tensor | null = null;
  for (let g = 0; g < data.ends.positions.length; g++) {
    const rows = data.ends.slot.flatMap((slot, b) => (slot === g ? [b] : []));
    const tokens = data.flippedTokens.get(int32(rows));
    const cache = cleanCache.applySliceToBatchDim(rows);
    const ld = ioiLogitDiffs(data.dataset, rows);
    const metric = (logits: Tensor): number => ld.perPrompt(logits).to("float64").mean().item();
    const part = (await sweep(tokens, cache, metric, [data.ends.positions[g]!], rows))
      .to("float64")
      .mul(rows.length / N);
    acc = acc ? acc.add(part) : part;
  }
  // normalizeLogitDiff(·, clean, flipped, "denoising") on a tensor
  return acc!
    .sub(flipped)
    .div(clean - flipped)
    .to("float32");
}

/** Word labels patched one at a time (keys of IOIDataset.wordIdx), in sentence order for ABBA prompts. */
export const POSITION_LABELS = ["IO", "IO+1", "S1", "S1+1", "punct", "S2", "end"] as const;

export type WordActivation = "resid_pre" | "attn_out" | "mlp_out";

/**
 * Patches activation `name` of each layer at one labelled word position per row (wordIdx[label][row]): [layer, word],
 * the fraction of the logit difference restored.
 */
export async function patchByWord(
  model: HookedTransformer,
  data: IoiData,
  cleanCache: ActivationCache,
  clean: number,
  flipped: number,
  activation: WordActivation,
  labels: readonly string[],
  opts: { progressBar?: boolean } = {},
): Promise<Tensor> {
  const N = data.dataset.N;
  const L = model.cfg.nLayers;
  const pos = labels.map((w) => {
    const idx = data.dataset.wordIdx[w];
    if (!idx) throw new AnalysisError(`IOI: the dataset has no word "${w}"`);
    return idx.slice(0, N);
  });
  const indices: number[][] = [];
  for (let l = 0; l < L; l++) for (let p = 0; p < labels.length; p++) indices.push([l, p]);
  const flat = await sweepByEndGroups(
    data,
    cleanCache,
    clean,
    flipped,
    (tokens, cache, metric, metricPositions, rows) =>
      patching.genericActivationPatch(model, tokens, cache, metric, {
        activationName: activation,
        indices,
        metricPositions,
        ...opts,
        startPos: ([, p]) => Math.min(...rows.map((b) => pos[p!]![b]!)),
        patchSetter: (corrupted, [, p], cleanAct, offset) => {
          rows.forEach((b, i) => corrupted.set([i, pos[p!]![b]! - offset], cleanAct.get(i, pos[p!]![b]!)));
        },
      }),
  );
  return flat.reshape(L, labels.length);
}
