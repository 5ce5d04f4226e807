// `tlens ioi`: the IOI analysis of seed 002 on any GPT-2-vocabulary model, written as a self-contained HTML report
// (index.html) and the raw numbers (results.json). Every number comes from a library function; runIoiAnalysis is
// the whole analysis as a function (the tests call it and compare with the library).
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { TlensError } from "../errors.js";
import { arange, stack, Tensor } from "../tensor/index.js";
import { HookedTransformer } from "../model/hooked-transformer.js";
import type { ActivationCache } from "../model/activation-cache.js";
import { IOIDataset } from "../datasets/ioi.js";
import { ABC_FLIP } from "../datasets/ioi-data.js";
import { commandArgs, intFlag, parseFlags, stringFlag } from "./args.js";
import * as patching from "../analysis/patching/index.js";
import { dlaByLayer, logitLens } from "../analysis/logit-lens.js";
import { detectHead } from "../analysis/head-detector.js";
import { fullOvCopyingScore, ovCopyingScore } from "../analysis/circuits.js";
import { getPathPatchHeadToFinalResidPost, getPathPatchHeadToHeads, type Head } from "../analysis/path-patching.js";
import { attentionToWords, attentionVsProjection, ioiHeadDla, ioiMetric, valueWeightedPattern } from "../analysis/ioi-circuit.js";
import { getCopyingScores } from "../analysis/copy-scores.js";
import { computeMeansByTemplate, getAllMinimalityScores, getCircuitScores, type Circuit } from "../analysis/mean-ablation.js";
import * as viz from "../viz/index.js";

/** Word positions patched one at a time (keys of IOIDataset.wordIdx), in sentence order for ABBA prompts. */
export const POSITION_LABELS = ["IO", "IO+1", "S1", "S1+1", "punct", "S2", "end"] as const;

export interface IoiOptions {
  /** Number of prompts (default 100) and the dataset seed (default 1). */
  n?: number;
  seed?: number;
  promptType?: string;
  prependBos?: boolean;
  /** How many heads the viewers and receiver choices use (default 4, at most n_layers × n_heads). */
  topHeads?: number;
  /** Prompts the head detectors read (default 10). */
  detectorPrompts?: number;
  /** Skip path patching (the slowest part on big models). */
  skipPathPatching?: boolean;
  /** Stage lines and progress bars on stderr. */
  log?: (line: string) => void;
  progressBar?: boolean;
}

type Nested = number | Nested[];

function nested(t: Tensor): Nested {
  return (t.dtype === "float32" || t.dtype === "float64" ? t : t.to("float32")).toArray() as Nested;
}

function int32(values: readonly number[]): Tensor {
  return Tensor.fromTypedArray(Int32Array.from(values), [values.length]);
}

/** The IOI inputs of a run: the dataset, its XYZ-corrupted twin and where each row's `end` is. */
export interface IoiData {
  dataset: IOIDataset;
  flipped: IOIDataset;
  cleanTokens: Tensor;
  flippedTokens: Tensor;
  /** Sorted distinct `end` positions (patching computes logits only there) and each row's slot among them. */
  endPositions: number[];
  endSlot: number[];
}

export function makeIoiData(model: HookedTransformer, opts: { n?: number; seed?: number; promptType?: string; prependBos?: boolean } = {}): IoiData {
  const dataset = new IOIDataset({ promptType: opts.promptType ?? "mixed", N: opts.n ?? 100, seed: opts.seed ?? 1, prependBos: opts.prependBos ?? false });
  const flipped = dataset.genFlippedPrompts(ABC_FLIP);
  if (dataset.toks.shape[1] !== flipped.toks.shape[1]) {
    throw new TlensError(`tlens ioi: the flipped prompts tokenize to ${flipped.toks.shape[1]} positions, the clean ones to ${dataset.toks.shape[1]}`);
  }
  const vocab = model.cfg.dVocab;
  if (vocab < 50257) throw new TlensError(`tlens ioi needs a model with the GPT-2 vocabulary (d_vocab ${vocab} < 50257): the IOI prompts are GPT-2 tokens`);
  const maxLen = dataset.toks.shape[1];
  if (model.cfg.nCtx < maxLen) throw new TlensError(`tlens ioi: the prompts have ${maxLen} tokens but the model's context is ${model.cfg.nCtx}`);
  const end = dataset.wordIdx.end.slice(0, dataset.N);
  const endPositions = [...new Set(end)].sort((a, b) => a - b);
  return { dataset, flipped, cleanTokens: dataset.toks, flippedTokens: flipped.toks, endPositions, endSlot: end.map((p) => endPositions.indexOf(p)) };
}

/**
 * The patching metric: the fraction of the clean logit difference restored, (LD − flipped) / (clean − flipped), with
 * LD the mean over prompts of logit[IO] − logit[S] at each prompt's `end`. It reads logits at `data.endPositions`
 * (pass `metricPositions: data.endPositions` to the patching functions).
 */
export function restoredFraction(data: IoiData, clean: number, flipped: number): (logits: Tensor) => number {
  const N = data.dataset.N;
  const rows = arange(0, N, 1, "int32");
  const io = int32(data.dataset.ioTokenIDs.slice(0, N));
  const s = int32(data.dataset.sTokenIDs.slice(0, N));
  const slots = int32(data.endSlot);
  const ends = int32(data.dataset.wordIdx.end.slice(0, N));
  return (logits: Tensor) => {
    const pos = logits.shape[1] === data.endPositions.length ? slots : ends;
    const ld = logits.get(rows, pos, io).sub(logits.get(rows, pos, s)).to("float64").mean().item();
    return (ld - flipped) / (clean - flipped);
  };
}

/** Gathers [component, batch, k] at each row's end slot → mean over rows [component]. */
function meanAtEnd(t: Tensor, data: IoiData): number[] {
  const [C, B] = t.shape;
  const d = t.to("float64").dataSync();
  const k = t.shape[2];
  const out: number[] = [];
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let b = 0; b < B; b++) sum += d[(c * B + b) * k + data.endSlot[b]];
    out.push(sum / B);
  }
  return out;
}

type Sweep = (tokens: Tensor, cache: ActivationCache, metric: (logits: Tensor) => number, metricPositions: number[], rows: number[]) => Promise<Tensor>;

/**
 * Runs a patching sweep once per group of prompts sharing an `end` position, so that each patched run unembeds one
 * position instead of every distinct `end`; the groups' mean logit differences, weighted by group size, give the mean
 * over all prompts, which is then normalised as `restoredFraction` does. Equal (up to float rounding) to one sweep
 * over every prompt with `restoredFraction(data, clean, flipped)` and `metricPositions: data.endPositions`.
 */
export async function sweepByEndGroups(data: IoiData, cleanCache: ActivationCache, clean: number, flipped: number, sweep: Sweep): Promise<Tensor> {
  const N = data.dataset.N;
  const io = data.dataset.ioTokenIDs;
  const s = data.dataset.sTokenIDs;
  let acc: Tensor | null = null;
  for (let g = 0; g < data.endPositions.length; g++) {
    const rows = data.endSlot.flatMap((slot, b) => (slot === g ? [b] : []));
    const tokens = data.flippedTokens.get(int32(rows));
    const cache = cleanCache.applySliceToBatchDim(rows);
    const r = arange(0, rows.length, 1, "int32");
    const zero = int32(rows.map(() => 0));
    const ioT = int32(rows.map((b) => io[b]));
    const sT = int32(rows.map((b) => s[b]));
    const metric = (logits: Tensor): number => logits.get(r, zero, ioT).sub(logits.get(r, zero, sT)).to("float64").mean().item();
    const part = (await sweep(tokens, cache, metric, [data.endPositions[g]], rows)).to("float64").mul(rows.length / N);
    acc = acc ? acc.add(part) : part;
  }
  return acc!.sub(flipped).div(clean - flipped).to("float32");
}

/**
 * Patches activation `name` of each layer at one labelled word position per row (wordIdx[label][row]): [layer, word],
 * the fraction of the logit difference restored.
 */
export async function patchByWord(model: HookedTransformer, data: IoiData, cleanCache: ActivationCache, clean: number, flipped: number,
  activation: "resid_pre" | "attn_out" | "mlp_out", labels: readonly string[], opts: { progressBar?: boolean } = {}): Promise<Tensor> {
  const N = data.dataset.N;
  const L = model.cfg.nLayers;
  const pos = labels.map((w) => {
    const idx = data.dataset.wordIdx[w];
    if (!idx) throw new TlensError(`tlens ioi: the dataset has no word "${w}"`);
    return idx.slice(0, N);
  });
  const indices: number[][] = [];
  for (let l = 0; l < L; l++) for (let p = 0; p < labels.length; p++) indices.push([l, p]);
  const flat = await sweepByEndGroups(data, cleanCache, clean, flipped, (tokens, cache, metric, metricPositions, rows) =>
    patching.genericActivationPatch(model, tokens, cache, metric, {
      activationName: activation, indices, metricPositions, ...opts,
      startPos: ([, p]) => Math.min(...rows.map((b) => pos[p][b])),
      patchSetter: (corrupted, [, p], cleanAct, offset) => {
        rows.forEach((b, i) => corrupted.set([i, pos[p][b] - offset], cleanAct.get(i, pos[p][b])));
      },
    }));
  return flat.reshape(L, labels.length);
}

function headName(l: number, h: number): string {
  return `L${l}H${h}`;
}

function topHeadsBy(scores: Tensor, k: number, key: (v: number) => number, minLayer = 0): Head[] {
  const [L, H] = scores.shape;
  const d = scores.dataSync();
  const all: [number, number, number][] = [];
  for (let l = minLayer; l < L; l++) for (let h = 0; h < H; h++) all.push([l, h, key(d[l * H + h])]);
  all.sort((a, b) => b[2] - a[2] || a[0] - b[0] || a[1] - b[1]);
  return all.slice(0, k).map(([l, h]) => [l, h] as Head);
}

/** Valid (unpadded) length of row `b`. */
function rowLength(tokens: Tensor, b: number, pad: number, minLen: number): number {
  const row = tokens.get(b).dataSync();
  let n = row.length;
  while (n > minLen && row[n - 1] === pad) n--;
  return n;
}

export interface IoiResults {
  model: { name: string; nLayers: number; nHeads: number; dModel: number; dVocab: number; nCtx: number };
  dataset: { N: number; seed: number; promptType: string; prependBos: boolean; flip: string; maxLen: number; sentences: string[]; flippedSentences: string[] };
  logit_diff: { clean: number; flipped: number; clean_per_prompt: number[]; flipped_per_prompt: number[]; clean_accuracy: number; flipped_accuracy: number };
  logit_lens: { labels: string[]; logit_diff: number[] };
  dla_layers: { labels: string[]; values: number[] };
  dla_heads: Nested;
  patching: {
    metric: string; positions: string[];
    resid_pre: Nested; attn_out: Nested; mlp_out: Nested;
    head_out: Nested; head_q: Nested; head_k: Nested; head_v: Nested; head_pattern: Nested;
  };
  path_patching?: {
    metric: string; baseline: number;
    to_logits: Nested;
    name_movers: string[]; to_name_mover_queries: Nested;
    s_inhibition: string[]; to_s_inhibition_values: Nested | null;
  };
  head_detectors: { previous_token: Nested; duplicate_token: Nested; induction: Nested; prompts: number };
  copy_scores: { ov_copying: Nested; full_ov_copying: Nested; positive: Nested; negative: Nested; k: number };
  circuit: {
    heads: Record<string, string[]>; positions: string; threshold: number;
    /** Mean logit difference with everything outside the circuit mean-ablated (by template, over the flipped prompts). */
    circuit_score: number; full_model_score: number; no_heads_score: number; faithfulness: number;
    minimality: { head: string; class: string; score: number }[];
  };
  top_heads: { by_patching: string[]; by_dla: string[] };
  attention_to_words: { head: string; mean: Record<string, number>; std: Record<string, number> }[];
  timings_s: Record<string, number>;
}

export interface IoiAnalysis {
  results: IoiResults;
  /** The report's items (headings, explanations, figures, viewers), for toHtml. */
  items: viz.Item[];
}

/** Runs the whole IOI analysis on a loaded model. */
export async function runIoiAnalysis(model: HookedTransformer, modelName: string, opts: IoiOptions = {}): Promise<IoiAnalysis> {
  const log = opts.log ?? (() => {});
  const progressBar = opts.progressBar ?? false;
  const cfg = model.cfg;
  const L = cfg.nLayers;
  const H = cfg.nHeads;
  const timings: Record<string, number> = {};
  const STAGES = opts.skipPathPatching ? 9 : 10;
  let stage = 0;
  let t0 = Date.now();
  const step = (name: string): void => {
    stage++;
    t0 = Date.now();
    log(`[${stage}/${STAGES}] ${name}`);
  };
  const done = (key: string): void => {
    timings[key] = (Date.now() - t0) / 1000;
    log(`      ${timings[key].toFixed(1)}s`);
  };
  const items: viz.Item[] = [];
  const section = (title: string, id: string, explanation: string): void => {
    items.push(viz.heading(title, 2, id), viz.text(explanation));
  };
  const headLabels = Array.from({ length: L * H }, (_, i) => headName(Math.floor(i / H), i % H));
  const layerOfHead = Array.from({ length: L * H }, (_, i) => Math.floor(i / H));

  // ------------------------------------------------------------------ data and the two runs
  step("dataset and the clean / flipped runs");
  const data = makeIoiData(model, opts);
  const { dataset: ds, flipped } = data;
  const N = ds.N;
  const keep = (n: string): boolean => !/mlp\.hook_(pre|post|pre_linear)$/.test(n) && !/hook_attn_scores$/.test(n) && !/hook_rot_[qk]$/.test(n);
  const [cleanLogits, cache] = await model.runWithCache(data.cleanTokens, { namesFilter: keep });
  const flippedLogits = await model.forward(data.flippedTokens) as Tensor;
  const metric = ioiMetric(model, ds);
  const cleanPer = Array.from(metric.perPrompt(cleanLogits).to("float64").dataSync());
  const flippedPer = Array.from(metric.perPrompt(flippedLogits).to("float64").dataSync());
  const clean = await metric(cleanLogits);
  const flippedLd = await metric(flippedLogits);
  const logitDiff = {
    clean, flipped: flippedLd, clean_per_prompt: cleanPer, flipped_per_prompt: flippedPer,
    clean_accuracy: cleanPer.filter((v) => v > 0).length / N, flipped_accuracy: flippedPer.filter((v) => v > 0).length / N,
  };
  if (!(clean - flippedLd > 1e-6)) log(`      note: the clean logit difference (${clean.toFixed(3)}) is not above the flipped one (${flippedLd.toFixed(3)}); normalised patching scores are not meaningful`);
  done("runs");

  items.push(viz.text(
    `Model **${modelName}** (${L} layers × ${H} heads, d_model ${cfg.dModel}); ${N} IOI prompts (\`${opts.promptType ?? "mixed"}\` templates, seed ${opts.seed ?? 1}). ` +
    `The corrupted prompts are the dataset's \`genFlippedPrompts("${ABC_FLIP}")\`: all three names replaced by fresh ones, so the answer is gone from the context. ` +
    "Positions are aligned across templates by the dataset's word labels (IO, S1, S2, end, ...), as in the IOI paper. All numbers are in `results.json` beside this file.",
  ));
  items.push(viz.html(`<nav class="tlens-toc">${[
    ["logit-diff", "Logit difference"], ["logit-lens", "Logit lens"], ["dla", "Direct logit attribution"], ["act-patching", "Activation patching"],
    ["head-patching", "Head patching"], ...(opts.skipPathPatching ? [] : [["path-patching", "Path patching"]]), ["attention", "Attention of the top heads"],
    ["detectors", "Head detectors"], ["copy", "Copy scores"], ["circuit", "Circuit validation"], ["viewers", "Attention viewers"],
  ].map(([id, t]) => `<a href="#${id}">${t}</a>`).join("<br>")}</nav>`));

  section("Logit difference", "logit-diff",
    "logit[IO] − logit[S] at each prompt's `end` token (the position before the answer), on the clean prompts and on the XYZ-corrupted ones. " +
    "A model that does IOI puts the clean distribution well above zero; the corrupted prompts, which no longer contain the answer, sit near zero.");
  items.push(viz.table([
    ["clean", clean, logitDiff.clean_accuracy], ["flipped (XYZ)", flippedLd, logitDiff.flipped_accuracy],
  ], { columns: ["prompts", "mean logit diff", "fraction > 0"] }));
  items.push(viz.table(Array.from({ length: Math.min(5, N) }, (_, i) => [ds.sentences[i], flipped.sentences[i], cleanPer[i], flippedPer[i]]),
    { columns: ["clean prompt", "flipped prompt", "clean LD", "flipped LD"], caption: "The first prompts" }));
  items.push(viz.hist([cleanPer, flippedPer], {
    names: ["clean", "flipped (XYZ)"], labels: { variable: "prompts", value: "logit[IO] − logit[S] at end" }, opacity: 0.6, marginal: "box",
    nbins: 40, template: "simple_white", title: "Per-prompt logit difference", height: 450,
  }));

  // ------------------------------------------------------------------ logit lens and DLA
  step("logit lens and direct logit attribution");
  const target = { tokens: int32(ds.ioTokenIDs.slice(0, N)), incorrectTokens: int32(ds.sTokenIDs.slice(0, N)) };
  const lens = logitLens(model, cache, { posSlice: data.endPositions, ...target });
  const lensLd = meanAtEnd(lens.logitDiff!, data);
  const byLayer = dlaByLayer(model, cache, { target, posSlice: data.endPositions });
  const dlaLayers = meanAtEnd(byLayer.attrs, data);
  const headDla = ioiHeadDla(model, cache, ds);
  done("dla");
  section("Logit lens", "logit-lens",
    "The residual stream after each layer, put through the final layer norm and the unembedding: the logit difference the model " +
    "would output if it stopped there (`logitLens`, mean over prompts at `end`). Where it rises is where the answer gets written.");
  items.push(viz.line(lensLd, {
    x: lens.labels.map((_, i) => i / 2), hoverName: lens.labels, labels: { x: "Layer", y: "Logit Diff" },
    title: "Logit Difference From Accumulated Residual Stream", markers: true,
  }));
  section("Direct logit attribution", "dla",
    "Each component's direct contribution to the logit difference: its output at `end`, divided by the final norm's scale, " +
    "dotted with W_U[IO] − W_U[S] (`dlaByLayer`, `ioiHeadDla`). Positive heads push the answer (name movers), negative ones push against it.");
  items.push(viz.line(dlaLayers, {
    hoverName: byLayer.labels, x: byLayer.labels, labels: { x: "Layer Activation (Attention/MLP)", y: "Logit Diff" }, title: "Logit Difference From Each Layer", markers: true,
  }));
  items.push(viz.imshow(headDla.perHead, { labels: { x: "Head", y: "Layer", color: "Logit diff" }, title: "Logit Difference From Each Head", textAuto: ".2f" }));

  // ------------------------------------------------------------------ activation patching by position
  step("activation patching: resid_pre / attn_out / mlp_out at word positions");
  const labels = POSITION_LABELS.filter((w) => ds.wordIdx[w] !== undefined);
  const po = { progressBar };
  const residPre = await patchByWord(model, data, cache, clean, flippedLd, "resid_pre", labels, po);
  const attnOut = await patchByWord(model, data, cache, clean, flippedLd, "attn_out", labels, po);
  const mlpOut = await patchByWord(model, data, cache, clean, flippedLd, "mlp_out", labels, po);
  done("act_patching_positions");
  section("Activation patching", "act-patching",
    "Run the corrupted prompts, patch in one clean activation (the residual stream entering a layer, an attention layer's output or an " +
    "MLP's output) at one word position, and measure the fraction of the clean logit difference restored: " +
    "(LD − LD_flipped) / (LD_clean − LD_flipped); 1 = fully restored, 0 = no effect. Each prompt is patched at its own position of that word.");
  items.push(viz.imshow([nested(residPre), nested(attnOut), nested(mlpOut)] as number[][][], {
    facetCol: 0, facetLabels: ["Residual Stream", "Attn Output", "MLP Output"], x: [...labels], labels: { x: "Position", y: "Layer", color: "restored" },
    title: "Fraction of logit difference restored by patching at each word position", aspect: "auto", height: 380,
  }));

  // ------------------------------------------------------------------ head patching
  step("activation patching: head outputs / queries / keys / values / patterns");
  const every = await sweepByEndGroups(data, cache, clean, flippedLd, (tokens, c, m, metricPositions) =>
    patching.getActPatchAttnHeadAllPosEvery(model, tokens, c, m, { metricPositions, progressBar }));
  const [headOut, headQ, headK, headV, headPattern] = every.unbind(0);
  done("head_patching");
  section("Head patching", "head-patching",
    "The same, patching one head's output (z), query, key, value or attention pattern at every position (`getActPatchAttnHeadAllPosEvery`). " +
    "Output patching finds the heads that matter; comparing it with value and pattern patching tells whether a head matters for what it moves or for where it looks.");
  items.push(viz.imshow(every, {
    facetCol: 0, facetLabels: ["Output", "Query", "Key", "Value", "Attn Pattern"], labels: { x: "Head", y: "Layer", color: "restored" },
    title: "Activation Patching Per Head (All Pos)", height: 320,
  }));
  items.push(viz.scatter(headV.flatten(), headOut.flatten(), {
    xaxis: "Value Patch", yaxis: "Output Patch", caxis: "Layer", hoverName: headLabels, color: layerOfHead,
    title: "Output patching vs value patching", width: 620, height: 480,
  }));
  items.push(viz.scatter(headPattern.flatten(), headOut.flatten(), {
    xaxis: "Attention Patch", yaxis: "Output Patch", caxis: "Layer", hoverName: headLabels, color: layerOfHead,
    title: "Output patching vs attention-pattern patching", width: 620, height: 480,
  }));

  const k = Math.max(1, Math.min(opts.topHeads ?? 4, L * H));
  const topByPatching = topHeadsBy(headOut, k, Math.abs);
  const topByDla = topHeadsBy(headDla.perHead, k, Math.abs);

  // ------------------------------------------------------------------ path patching
  let pathResults: IoiResults["path_patching"];
  let nameMovers: Head[] = [];
  if (!opts.skipPathPatching) {
    step("path patching: heads → logits, → name movers' queries, → S-inhibition values");
    const ppMetric = ioiMetric(model, ds, { clean, corrupted: flippedLd });
    const common = { origDataset: ds, newDataset: flipped, origCache: cache, progressBar };
    const toLogits = await getPathPatchHeadToFinalResidPost(model, ppMetric, common);
    // name movers: the heads whose direct path to the logits matters most (largest drop), past layer 0
    nameMovers = L > 1 ? topHeadsBy(toLogits.scores, Math.min(3, (L - 1) * H), (v) => -v, 1).filter(([l, h]) => toLogits.scores.get(l, h).item() < 0) : [];
    let toNmQ: Tensor | null = null;
    let sInhibition: Head[] = [];
    let toSiV: Tensor | null = null;
    if (nameMovers.length) {
      toNmQ = (await getPathPatchHeadToHeads(model, ppMetric, { ...common, receiverHeads: nameMovers, receiverInput: "q", positions: "end" })).scores;
      const minNm = Math.min(...nameMovers.map(([l]) => l));
      if (minNm >= 2) {
        sInhibition = topHeadsBy(toNmQ.narrow(0, 0, minNm), Math.min(2, minNm * H), (v) => -v, 1);
        if (sInhibition.length) {
          toSiV = (await getPathPatchHeadToHeads(model, ppMetric, { ...common, receiverHeads: sInhibition, receiverInput: "v", positions: "S2" })).scores;
        }
      }
    }
    done("path_patching");
    pathResults = {
      metric: "(LD − LD_clean) / (LD_clean − LD_flipped): 0 = unchanged, −1 = as corrupted", baseline: toLogits.baseline,
      to_logits: nested(toLogits.scores), name_movers: nameMovers.map(([l, h]) => headName(l, h)), to_name_mover_queries: toNmQ ? nested(toNmQ) : [],
      s_inhibition: sInhibition.map(([l, h]) => headName(l, h)), to_s_inhibition_values: toSiV ? nested(toSiV) : null,
    };
    section("Path patching", "path-patching",
      "Patch one sender head's output from the corrupted run while every other head stays frozen, and let the effect reach only " +
      "the receiver: the logits (the head's direct effect), or the queries (at `end`) of the name movers — the heads with the largest direct effect — or the values (at S2) of the S-inhibition heads " +
      "that most affect those queries. Scores are the change in logit difference relative to clean − corrupted, in percent (−100% = as bad as the corrupted run).");
    items.push(viz.imshow(toLogits.scores.mul(100), { title: "Direct effect on logit difference", labels: { x: "Head", y: "Layer", color: "Logit diff. variation (%)" }, textAuto: ".1f", width: 600 }));
    if (toNmQ) {
      items.push(viz.imshow(toNmQ.mul(100), {
        title: `Direct effect on Name Mover Heads' queries (${pathResults.name_movers.join(", ")})`, labels: { x: "Head", y: "Layer", color: "Logit diff.<br>variation (%)" },
        y: Array.from({ length: toNmQ.shape[0] }, (_, i) => i), textAuto: ".1f", width: 600,
      }));
    }
    if (toSiV) {
      items.push(viz.imshow(toSiV.mul(100), {
        title: `Direct effect on S-Inhibition Heads' values (${pathResults.s_inhibition.join(", ")})`, labels: { x: "Head", y: "Layer", color: "Logit diff.<br>variation (%)" },
        y: Array.from({ length: toSiV.shape[0] }, (_, i) => i), textAuto: ".1f", width: 600,
      }));
    }
  }

  // ------------------------------------------------------------------ attention of the top heads
  step("attention of the top heads");
  const attnHeads = [...topByPatching];
  const words = Object.keys(ds.wordIdx).filter((w) => w !== "starts");
  const toWords = attentionToWords(cache, ds, attnHeads, { words });
  const nm = nameMovers[0] ?? topByDla[0];
  const avp = attentionVsProjection(model, cache, ds, nm[0], nm[1]);
  done("attention");
  section("Attention of the top heads", "attention",
    "Where the heads that matter most for output patching attend from `end`: the mean attention probability to each word (error bars: one standard deviation over prompts). " +
    "Then the IOI paper's Figure 3(c) for the head with the largest direct effect: attention to a name against how much the head's output writes that name's unembedding.");
  items.push(viz.bar(toWords.map((w) => words.map((x) => w.mean[x])), {
    x: words, names: toWords.map((w) => headName(w.head[0], w.head[1])), errorY: toWords.map((w) => words.map((x) => w.std[x])),
    labels: { x: "word", y: "attention from end", variable: "head" }, title: "Attention from END to each word (top heads by output patching)",
  }));
  items.push(viz.scatter([...avp.attnToIO, ...avp.attnToS], [...avp.projectionIO, ...avp.projectionS], {
    color: [...avp.attnToIO.map(() => "IO"), ...avp.attnToS.map(() => "S")], labels: { x: "Attn prob on name", y: "Dot w Name Embed", color: "Name type" },
    colorDiscreteSequence: ["#72FF64", "#C9A5F7"], title: `Projection of the output of ${headName(nm[0], nm[1])} along the name embedding vs attention probability on name`, width: 650,
  }));

  // ------------------------------------------------------------------ head detectors
  step("head detectors");
  const nDet = Math.min(opts.detectorPrompts ?? 10, N);
  const detSentences = ds.sentences.slice(0, nDet);
  const prev = await detectHead(model, detSentences, "previous_token_head");
  const dup = await detectHead(model, detSentences, "duplicate_token_head");
  const ind = await detectHead(model, detSentences.map((s) => `${s}. ${s}`), "induction_head");
  done("detectors");
  section("Head detectors", "detectors",
    `TransformerLens's head detector scores (\`detectHead\`) on ${nDet} prompts: the attention mass on the previous token, on an earlier copy of the current token, ` +
    "and (on each prompt repeated twice) on the token after an earlier copy — the induction pattern. Early IOI heads are of these kinds.");
  items.push(viz.imshow([nested(prev), nested(dup), nested(ind)] as number[][][], {
    facetCol: 0, facetLabels: ["Previous token", "Duplicate token", "Induction"], labels: { x: "Head", y: "Layer", color: "score" },
    title: "Head detector scores", colorContinuousScale: "Blues", colorContinuousMidpoint: null, zmin: 0, zmax: 1, height: 320,
  }));

  // ------------------------------------------------------------------ copy scores
  step("copy scores");
  const ovCopy = ovCopyingScore(model);
  const fullOvCopy = fullOvCopyingScore(model);
  const copying = await getCopyingScores(model, { k: 5 });
  done("copy_scores");
  section("Copy scores", "copy",
    "How much each head's OV circuit copies: Re(Σλ)/Σ|λ| over the eigenvalues of W_V·W_O (`ovCopyingScore`) and of the full circuit W_E·W_V·W_O·W_U (`fullOvCopyingScore`). " +
    "Near 1: the head writes what it attends to (name movers); near −1: it suppresses it (negative name movers, copy suppression).");
  items.push(viz.imshow([nested(ovCopy), nested(fullOvCopy)] as number[][][], {
    facetCol: 0, facetLabels: ["OV copying score", "Full OV copying score"], labels: { x: "Head", y: "Layer", color: "score" },
    title: "OV copying scores", zmin: -1, zmax: 1, textAuto: ".2f", height: 360,
  }));
  items.push(viz.scatter(fullOvCopy.flatten(), ovCopy.flatten(), {
    hoverName: headLabels, xaxis: "Full OV Copying Score", yaxis: "OV Copying Score", title: "OV copying score for each head", width: 560, height: 480,
  }));
  items.push(viz.text(
    `Seed 002's copying scores (\`getCopyingScores\`): each of ${copying.names.length} names' embedding, plus MLP0's output on it, through the head's OV circuit ` +
    "(or its negative), the final norm and the unembedding; the score is the fraction of names that land in their own top 5.",
  ));
  items.push(viz.imshow([nested(copying.positive), nested(copying.negative)] as number[][][], {
    facetCol: 0, facetLabels: ["Positive copying scores", "Negative copying scores"], labels: { x: "Head", y: "Layer", color: "score" },
    title: "Copying scores of attention heads' OV circuits", colorContinuousScale: "Blues", colorContinuousMidpoint: null, zmin: 0, zmax: 1, textAuto: ".2f", height: 360,
  }));

  // ------------------------------------------------------------------ circuit validation
  step("circuit validation by mean ablation");
  const threshold = 0.05;
  const headOutD = headOut.dataSync();
  const toLogitsD = pathResults ? (pathResults.to_logits as number[][]).flat() : [];
  const important: Head[] = [];
  for (let l = 0; l < L; l++) for (let h = 0; h < H; h++) {
    const i = l * H + h;
    if (Math.abs(headOutD[i]) >= threshold || Math.abs(toLogitsD[i] ?? 0) >= threshold) important.push([l, h]);
  }
  if (!important.length) important.push(...topByPatching);
  const key = ([l, h]: Head): string => `${l}.${h}`;
  const nmSet = new Set(nameMovers.map(key));
  const siSet = new Set((pathResults?.s_inhibition ?? []).map((n) => n.replace(/^L(\d+)H(\d+)$/, "$1.$2")));
  const circuit: Record<string, Head[]> = {};
  const classOf = (hd: Head): string => (nmSet.has(key(hd)) ? "name mover" : siSet.has(key(hd)) ? "S-inhibition" : "other");
  for (const hd of [...important, ...nameMovers.filter((x) => !important.some((y) => key(y) === key(x)))]) (circuit[classOf(hd)] ??= []).push(hd);
  const circuitHeads = Object.values(circuit).flat();
  const seqPosToKeep = Object.fromEntries(Object.keys(circuit).map((c) => [c, "all"]));
  const means = await computeMeansByTemplate(model, flipped);
  const circ = { dataset: ds, meansDataset: flipped, circuit: circuit as Circuit, seqPosToKeep, means, progressBar };
  const [circuitScore, noHeads] = await getCircuitScores(model, [[], circuitHeads], circ);
  const minimality = await getAllMinimalityScores(model, { ...circ, kForEachComponent: circuitHeads.map((hd) => [hd, []] as const) });
  done("circuit");
  const circuitResults: IoiResults["circuit"] = {
    heads: Object.fromEntries(Object.entries(circuit).map(([c, hs]) => [c, hs.map(([l, h]) => headName(l, h))])), positions: "all", threshold,
    circuit_score: circuitScore, full_model_score: minimality.fullModelScore, no_heads_score: noHeads, faithfulness: circuitScore / minimality.fullModelScore,
    minimality: minimality.scores.map((m) => ({ head: headName(m.head[0], m.head[1]), class: classOf(m.head), score: m.score })),
  };
  section("Circuit validation", "circuit",
    `The circuit: every head whose output patching or direct path to the logits moves the metric by at least ${threshold} ` +
    "(classes from the path patching above). Every other head's output is replaced by its mean over the flipped prompts of the same template " +
    "(`getCircuitScores`, IOI paper §4); F(C) is the logit difference that remains. Minimality: how much F drops when one circuit head is ablated too, " +
    "as a fraction of F(M), the whole model (`getAllMinimalityScores` with K = ∅).");
  items.push(viz.table([
    ["F(M): the whole model", circuitResults.full_model_score],
    [`F(C): the circuit (${circuitHeads.length} heads)`, circuitScore],
    ["F(∅): every head mean-ablated", noHeads],
    ["faithfulness F(C) / F(M)", circuitResults.faithfulness],
  ], { columns: ["", "mean logit diff"] }));
  items.push(viz.bar(circuitResults.minimality.map((m) => m.score), {
    x: circuitResults.minimality.map((m) => m.head), color: circuitResults.minimality.map((m) => `${m.class} head`),
    labels: { x: "Attention head", y: "Change in logit diff", color: "Head type" }, template: "ggplot2", colorDiscreteSequence: viz.qualitative.Dark2,
    bargap: 0.02, yaxis_tickformat: ".0%", legend_title_text: "", title: "Minimality scores (as percentages of full model logit diff)", width: 800, hovermode: "x unified",
  }));

  // ------------------------------------------------------------------ viewers
  step("attention viewers");
  const len = rowLength(data.cleanTokens, 0, 50256, ds.wordIdx.end[0] + 1);
  const tokens = model.toStrTokens(data.cleanTokens.get(0).narrow(0, 0, len));
  const patternOf = ([l, h]: Head): Tensor => cache.get(`blocks.${l}.attn.hook_pattern`).get(0, h).narrow(0, 0, len).narrow(1, 0, len);
  const vwOf = ([l, h]: Head): Tensor => valueWeightedPattern(cache, l, h).get(0).narrow(0, 0, len).narrow(1, 0, len);
  const viewers: viz.Item[] = [
    viz.attentionHeads({ tokens, attention: stack(topByPatching.map(patternOf)), headNames: topByPatching.map(([l, h]) => headName(l, h)), title: `Top ${k} heads by output patching` }),
    viz.valueWeightedPatterns({ tokens, attention: stack(topByPatching.map(vwOf)), headNames: topByPatching.map(([l, h]) => headName(l, h)), title: "The same heads, value-weighted (α·‖v‖)" }),
    viz.attentionHeads({ tokens, attention: stack(topByDla.map(patternOf)), headNames: topByDla.map(([l, h]) => headName(l, h)), title: `Top ${k} heads by |direct logit attribution|` }),
  ];
  for (let l = 0; l < L; l++) {
    viewers.push(viz.attentionPatterns({
      tokens, attention: cache.get(`blocks.${l}.attn.hook_pattern`).get(0).narrow(1, 0, len).narrow(2, 0, len),
      headNames: Array.from({ length: H }, (_, h) => headName(l, h)), title: `Layer ${l}`,
    }));
  }
  done("viewers");
  section("Attention viewers", "viewers",
    `Attention patterns on the first prompt (“${ds.sentences[0]}”). Hover a head to enlarge it (click to lock), hover a cell for its value, ` +
    "hover a token to colour the others by how much it attends to them (or, with the selector, how much they attend to it).");
  items.push(...viewers);

  const results: IoiResults = {
    model: { name: modelName, nLayers: L, nHeads: H, dModel: cfg.dModel, dVocab: cfg.dVocab, nCtx: cfg.nCtx },
    dataset: {
      N, seed: opts.seed ?? 1, promptType: opts.promptType ?? "mixed", prependBos: opts.prependBos ?? false, flip: ABC_FLIP, maxLen: data.cleanTokens.shape[1],
      sentences: ds.sentences.slice(0, N), flippedSentences: flipped.sentences.slice(0, N),
    },
    logit_diff: logitDiff,
    logit_lens: { labels: lens.labels, logit_diff: lensLd },
    dla_layers: { labels: byLayer.labels, values: dlaLayers },
    dla_heads: nested(headDla.perHead),
    patching: {
      metric: "(LD − LD_flipped) / (LD_clean − LD_flipped): 1 = clean restored, 0 = as corrupted", positions: [...labels],
      resid_pre: nested(residPre), attn_out: nested(attnOut), mlp_out: nested(mlpOut),
      head_out: nested(headOut), head_q: nested(headQ), head_k: nested(headK), head_v: nested(headV), head_pattern: nested(headPattern),
    },
    head_detectors: { previous_token: nested(prev), duplicate_token: nested(dup), induction: nested(ind), prompts: nDet },
    copy_scores: { ov_copying: nested(ovCopy), full_ov_copying: nested(fullOvCopy), positive: nested(copying.positive), negative: nested(copying.negative), k: 5 },
    circuit: circuitResults,
    top_heads: { by_patching: topByPatching.map(([l, h]) => headName(l, h)), by_dla: topByDla.map(([l, h]) => headName(l, h)) },
    attention_to_words: toWords.map((w) => ({ head: headName(w.head[0], w.head[1]), mean: w.mean, std: w.std })),
    timings_s: timings,
  };
  if (pathResults) results.path_patching = pathResults;
  return { results, items };
}

// ----------------------------------------------------------------------------------------------------------------
// the command

export const IOI_USAGE = `usage: tlens ioi [--model <name|dir>] [--out <dir>] [options]

Runs the IOI analysis (seed 002) on a model and writes <dir>/index.html (a self-contained report: open it as a file,
offline) and <dir>/results.json (every number).

options:
  --model <name|dir>   model name (toy-ioi, gpt2-small, ...) or a model folder (default toy-ioi)
  --out <dir>          output folder (default report)
  --n <N>              number of IOI prompts (default 100)
  --seed <S>           dataset seed (default 1)
  --prompt-type <T>    IOI templates: mixed, ABBA, BABA (default mixed)
  --prepend-bos        put BOS before each prompt (default off)
  --top-heads <K>      heads shown in the viewers (default 4)
  --no-path-patching   skip path patching
  --device <d>         cpu (the only device for now)
  -h, --help           this help`;

interface ParsedArgs {
  model: string;
  out: string;
  opts: IoiOptions;
}

function parseArgs(argv: readonly string[]): ParsedArgs | string {
  const r: ParsedArgs = { model: "toy-ioi", out: "report", opts: {} };
  const error = parseFlags(argv, {
    "--model": stringFlag((v) => { r.model = v; }),
    "--out": stringFlag((v) => { r.out = v; }),
    "--n": intFlag(1, Infinity, (n) => { r.opts.n = n; }),
    "--seed": intFlag(0, Infinity, (n) => { r.opts.seed = n; }),
    "--top-heads": intFlag(1, Infinity, (n) => { r.opts.topHeads = n; }),
    "--prompt-type": stringFlag((v) => { r.opts.promptType = v; }),
    "--prepend-bos": () => { r.opts.prependBos = true; },
    "--no-path-patching": () => { r.opts.skipPathPatching = true; },
    "--device": (value) => {
      const v = value();
      if (v !== "cpu") return `--device: only "cpu" is available (got ${v ?? "nothing"})`;
    },
  });
  return error ?? r;
}

/** `tlens ioi ...`: returns the exit code. */
export async function ioiCommand(argv: string[]): Promise<number> {
  const parsed = commandArgs("ioi", IOI_USAGE, argv, parseArgs);
  if (typeof parsed === "number") return parsed;
  const start = Date.now();
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  try {
    log(`tlens ioi: loading ${parsed.model}`);
    const model = await HookedTransformer.fromPretrained(parsed.model);
    const { results, items } = await runIoiAnalysis(model, parsed.model, { ...parsed.opts, log, progressBar: Boolean(process.stderr.isTTY) });
    const out = resolve(parsed.out);
    await mkdir(out, { recursive: true });
    const page = viz.toHtml(items, { title: `IOI report: ${parsed.model}` });
    await writeFile(join(out, "index.html"), page);
    await writeFile(join(out, "report.html"), page);
    await writeFile(join(out, "results.json"), JSON.stringify(results, null, 1));
    log(`tlens ioi: wrote ${join(out, "index.html")} and ${join(out, "results.json")} in ${((Date.now() - start) / 1000).toFixed(1)}s ` +
      `(logit diff clean ${results.logit_diff.clean.toFixed(3)}, flipped ${results.logit_diff.flipped.toFixed(3)})`);
    return 0;
  } catch (e) {
    console.error(`tlens ioi: ${e instanceof TlensError ? e.message : e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return 1;
  }
}
