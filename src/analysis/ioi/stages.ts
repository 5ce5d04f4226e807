// The stages of the IOI pipeline that read the two runs: logit differences, logit lens and DLA, activation patching,
// attention of the top heads, head detectors, copy scores, and the attention data of the viewers. Each returns its
// part of IoiResults.
import { stack, type Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { ActivationCache } from "../../model/activation-cache.js";
import * as patching from "../patching/index.js";
import { dlaByLayer, logitLens } from "../logit-lens.js";
import { detectHead } from "../head-detector.js";
import { fullOvCopyingScore, ovCopyingScore } from "../circuits.js";
import { getCopyingScores } from "../copy-scores.js";
import type { Head } from "../path-patching.js";
import { attentionToWords, attentionVsProjection, ioiHeadDla, valueWeightedPattern } from "../ioi-circuit.js";
import type { IoiData } from "./data.js";
import { ioiLogitDiffs, ioiMetric, meanAtEnds } from "./metric.js";
import { patchByWord, POSITION_LABELS, sweepByEndGroups, type WordActivation } from "./sweeps.js";
import type { IoiResults } from "./results.js";

/** What the stages share: the model, the data, the clean run's cache and the two mean logit differences. */
export interface IoiRuns {
  model: HookedTransformer;
  data: IoiData;
  cache: ActivationCache;
  clean: number;
  flipped: number;
  progressBar: boolean;
}

// the clean cache keeps what the analyses read (not the MLP hidden states, the raw scores or the rotary q/k)
const keep = (n: string): boolean =>
  !/mlp\.hook_(pre|post|pre_linear)$/.test(n) && !/hook_attn_scores$/.test(n) && !/hook_rot_[qk]$/.test(n);

/** The clean run (with cache) and the flipped run; the logit difference of each prompt on both. */
export async function runBoth(
  model: HookedTransformer,
  data: IoiData,
  progressBar: boolean,
): Promise<{ runs: IoiRuns; logitDiff: IoiResults["logitDiff"] }> {
  const N = data.dataset.N;
  const [cleanLogits, cache] = await model.runWithCache(data.cleanTokens, { namesFilter: keep });
  const flippedLogits = (await model.forward(data.flippedTokens)) as Tensor;
  const metric = ioiMetric(model, data.dataset);
  const perPrompt = (logits: Tensor): number[] => Array.from(metric.perPrompt(logits).to("float64").dataSync());
  const cleanPerPrompt = perPrompt(cleanLogits);
  const flippedPerPrompt = perPrompt(flippedLogits);
  const clean = metric(cleanLogits);
  const flipped = metric(flippedLogits);
  const accuracy = (v: number[]): number => v.filter((x) => x > 0).length / N;
  return {
    runs: { model, data, cache, clean, flipped, progressBar },
    logitDiff: {
      clean,
      flipped,
      cleanPerPrompt,
      flippedPerPrompt,
      cleanAccuracy: accuracy(cleanPerPrompt),
      flippedAccuracy: accuracy(flippedPerPrompt),
    },
  };
}

/** The logit lens and DLA per layer (means at `end`) and DLA per head. */
export function attribution({ model, data, cache }: IoiRuns): Pick<IoiResults, "logitLens" | "dlaLayers" | "dlaHeads"> {
  const { io, s } = ioiLogitDiffs(data.dataset);
  const target = { tokens: io, incorrectTokens: s };
  const lens = logitLens(model, cache, { posSlice: data.ends.positions, ...target });
  const byLayer = dlaByLayer(model, cache, { target, posSlice: data.ends.positions });
  const hd = ioiHeadDla(model, cache, data.dataset);
  return {
    logitLens: { labels: lens.labels, logitDiff: meanAtEnds(lens.logitDiff!, data.ends) },
    dlaLayers: { labels: byLayer.labels, values: meanAtEnds(byLayer.attrs, data.ends) },
    dlaHeads: { perHead: hd.perHead, rest: hd.rest, unembedBias: hd.unembedBias, logitDiff: hd.logitDiff },
  };
}

/** resid_pre / attn_out / mlp_out patched at each word position ([layer, word]). */
export async function wordPatching({
  model,
  data,
  cache,
  clean,
  flipped,
  progressBar,
}: IoiRuns): Promise<Omit<IoiResults["patching"], "heads">> {
  const positions = POSITION_LABELS.filter((w) => data.dataset.wordIdx[w] !== undefined);
  const sweep = (a: WordActivation): Promise<Tensor> =>
    patchByWord(model, data, cache, clean, flipped, a, positions, { progressBar });
  const residPre = await sweep("resid_pre");
  const attnOut = await sweep("attn_out");
  const mlpOut = await sweep("mlp_out");
  return { positions, residPre, attnOut, mlpOut };
}

/** Every head's output, query, key, value and pattern patched at every position: [5, layer, head]. */
export function headPatching({ model, data, cache, clean, flipped, progressBar }: IoiRuns): Promise<Tensor> {
  return sweepByEndGroups(data, cache, clean, flipped, (tokens, c, m, metricPositions) =>
    patching.getActPatchAttnHeadAllPosEvery(model, tokens, c, m, { metricPositions, progressBar }),
  );
}

/** The k heads with the largest key(score) ([layer, head] scores; heads before minLayer skipped; ties by position). */
export function topHeadsBy(scores: Tensor, k: number, key: (v: number) => number, minLayer = 0): Head[] {
  const [L, H] = scores.shape as [number, number];
  const d = scores.dataSync();
  const all: [number, number, number][] = [];
  for (let l = minLayer; l < L; l++) for (let h = 0; h < H; h++) all.push([l, h, key(d[l * H + h]!)]);
  all.sort((a, b) => b[2] - a[2] || a[0] - b[0] || a[1] - b[1]);
  return all.slice(0, k).map(([l, h]) => [l, h] as Head);
}

/** Attention from `end` to each word for `heads`, and Figure 3(c)'s data for `projectionHead`. */
export function attention(
  { model, data, cache }: IoiRuns,
  heads: readonly Head[],
  projectionHead: Head,
): IoiResults["attention"] {
  const words = Object.keys(data.dataset.wordIdx).filter((w) => w !== "starts");
  const toWords = attentionToWords(cache, data.dataset, heads, { words });
  const projection = attentionVsProjection(model, cache, data.dataset, projectionHead[0], projectionHead[1]);
  return { words, toWords, projectionHead, projection };
}

/** detectHead's previous-token, duplicate-token and induction scores (induction on each prompt repeated twice). */
export async function headDetectors({ model, data }: IoiRuns, prompts: number): Promise<IoiResults["headDetectors"]> {
  const n = Math.min(prompts, data.dataset.N);
  const sentences = data.dataset.sentences.slice(0, n);
  const previousToken = await detectHead(model, sentences, "previous_token_head");
  const duplicateToken = await detectHead(model, sentences, "duplicate_token_head");
  const induction = await detectHead(
    model,
    sentences.map((s) => `${s}. ${s}`),
    "induction_head",
  );
  return { previousToken, duplicateToken, induction, prompts: n };
}

/** OV copying scores (eigenvalues) and seed 002's copying scores (names through each OV circuit, top 5). */
export async function copyScores({ model }: IoiRuns): Promise<IoiResults["copyScores"]> {
  const k = 5;
  const copying = await getCopyingScores(model, { k });
  return {
    ovCopying: ovCopyingScore(model),
    fullOvCopying: fullOvCopyingScore(model),
    positive: copying.positive,
    negative: copying.negative,
    k,
    names: copying.names.length,
  };
}

/** Valid (unpadded) length of row `b` of tokens [batch, pos], at least minLen. */
function rowLength(tokens: Tensor, b: number, pad: number, minLen: number): number {
  const row = tokens.get(b).dataSync();
  let n = row.length;
  while (n > minLen && row[n - 1] === pad) n--;
  return n;
}

/** The first prompt's tokens and attention patterns, and the value-weighted patterns of `heads`. */
export function viewerData({ model, data, cache }: IoiRuns, heads: readonly Head[]): IoiResults["viewers"] {
  const ds = data.dataset;
  const len = rowLength(data.cleanTokens, 0, 50256, ds.wordIdx.end![0]! + 1);
  const tokens = model.toStrTokens(data.cleanTokens.get(0).narrow(0, 0, len));
  const patterns = stack(
    Array.from({ length: model.cfg.nLayers }, (_, l) =>
      cache.get(`blocks.${l}.attn.hook_pattern`).get(0).narrow(1, 0, len).narrow(2, 0, len),
    ),
  ); // [layer, head, pos, pos]
  const valueWeighted = stack(
    heads.map(([l, h]) => valueWeightedPattern(cache, l, h).get(0).narrow(0, 0, len).narrow(1, 0, len)),
  ); // [k, pos, pos]
  return { sentence: ds.sentences[0]!, tokens, patterns, valueWeighted };
}
