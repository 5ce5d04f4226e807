// Seed 002: the IOI circuit end to end (Wang et al. 2022, in ARENA 1.4's code). IOIDataset (mixed, N = 100,
// seed 1) and its name-swapped twin (ABB → BAB: the notebook's swap_names_in_prompt) and ABC twin; the logit
// difference clean / flipped / ABC; the logit lens and DLA per layer; DLA per head; activation patching of
// resid_pre / attn_out / mlp_out by position and of every head (z, q, k, v, pattern); OV copying scores; head
// detectors; backup name movers; copy scores and check_copy_circuit; path patching to the logits and to receiver
// heads' q/k/v; circuit validation by mean ablation per template with minimality scores; and `generate` with the
// mean-ablation hook in place (the notebook's last cell, which failed there).
//
// All positions are each prompt's own (`wordIdx.end` etc.): the notebook read logits at −1, which is `end` only for
// unpadded prompts.
//
//   npx tsx examples/ioi-circuit.ts                       # toy-ioi
//   npx tsx examples/ioi-circuit.ts --model gpt2-small    # the notebook's model and circuit
//   npx tsx examples/ioi-circuit.ts --n 40 --seed 1
import {
  addMeanAblationHook, backupNameMoverAnalysis, checkCopyCircuit, detectHead, fullOvCopyingScore, generateDataAndCaches,
  generateRepeatedTokens, getAllMinimalityScores, getCircuitScore, getCopyingScores, getPathPatchHeadToFinalResidPost,
  getPathPatchHeadToHeads, ioiHeadDla, ioiMetric, ovCopyingScore, patching, Tensor,
  type ActivationCache, type Circuit, type Head, type HookedTransformer, type IOIDataset, type QkvInput, type SeqPosToKeep,
} from "../src/index.js";
import { fmt, headName, intArg, isGpt2Small, isMain, layerHeadTable, loadModel, matrixTable, parseArgs, table, topHeads } from "./common.js";

const int32 = (a: readonly number[]): Tensor => Tensor.fromTypedArray(Int32Array.from(a), [a.length]);

/** The circuit the tools find (docs/ioi.md) on toy-ioi, and the IOI paper's on GPT-2 small (the notebook's CIRCUIT). */
export function defaultCircuit(model: HookedTransformer): { circuit: Circuit; seqPosToKeep: SeqPosToKeep; kForEachComponent: [Head, Head[]][] } {
  if (isGpt2Small(model)) {
    const circuit: Circuit = {
      "name mover": [[9, 9], [10, 0], [9, 6]],
      "backup name mover": [[10, 10], [10, 6], [10, 2], [10, 1], [11, 2], [9, 7], [9, 0], [11, 9]],
      "negative name mover": [[10, 7], [11, 10]],
      "s2 inhibition": [[7, 3], [7, 9], [8, 6], [8, 10]],
      "induction": [[5, 5], [5, 8], [5, 9], [6, 9]],
      "duplicate token": [[0, 1], [0, 10], [3, 0]],
      "previous token": [[2, 2], [4, 11]],
    };
    const seqPosToKeep: SeqPosToKeep = {
      "name mover": "end", "backup name mover": "end", "negative name mover": "end", "s2 inhibition": "end",
      "induction": "S2", "duplicate token": "S2", "previous token": "S1+1",
    };
    // the notebook's K_FOR_EACH_COMPONENT
    const k: [Head, Head[]][] = [
      [[9, 9], []],
      [[10, 0], [[9, 9]]],
      [[9, 6], [[9, 9], [10, 0]]],
      [[10, 7], [[11, 10]]],
      [[11, 10], [[10, 7]]],
      [[8, 10], [[7, 9], [8, 6], [7, 3]]],
      [[7, 9], [[8, 10], [8, 6], [7, 3]]],
      [[8, 6], [[7, 9], [8, 10], [7, 3]]],
      [[7, 3], [[7, 9], [8, 10], [8, 6]]],
      [[5, 5], [[5, 9], [6, 9], [5, 8]]],
      [[5, 9], [[11, 10], [10, 7]]],
      [[6, 9], [[5, 9], [5, 5], [5, 8]]],
      [[5, 8], [[11, 10], [10, 7]]],
      [[0, 1], [[0, 10], [3, 0]]],
      [[0, 10], [[0, 1], [3, 0]]],
      [[3, 0], [[0, 1], [0, 10]]],
      [[4, 11], [[2, 2]]],
      [[2, 2], [[4, 11]]],
      [[11, 2], [[9, 9], [10, 0], [9, 6]]],
      [[10, 6], [[9, 9], [10, 0], [9, 6], [11, 2]]],
      [[10, 10], [[9, 9], [10, 0], [9, 6], [11, 2], [10, 6]]],
      [[10, 2], [[9, 9], [10, 0], [9, 6], [11, 2], [10, 6], [10, 10]]],
      [[9, 7], [[9, 9], [10, 0], [9, 6], [11, 2], [10, 6], [10, 10], [10, 2]]],
      [[10, 1], [[9, 9], [10, 0], [9, 6], [11, 2], [10, 6], [10, 10], [10, 2], [9, 7]]],
      [[11, 9], [[9, 9], [10, 0], [9, 6], [9, 0]]],
      [[9, 0], [[9, 9], [10, 0], [9, 6], [11, 9]]],
    ];
    return { circuit, seqPosToKeep, kForEachComponent: k };
  }
  // toy-ioi (docs/ioi.md "toy-ioi's IOI circuit, as these tools read it")
  return {
    circuit: { "recent name": [[0, 3]], "recent name (S1+1)": [[0, 3]], "mover": [[1, 1]], "pair": [[2, 0], [2, 2]] },
    seqPosToKeep: { "recent name": "end", "recent name (S1+1)": "S1+1", "mover": "end", "pair": "end" },
    kForEachComponent: [[[0, 3], []], [[1, 1], []], [[2, 0], [[2, 2]]], [[2, 2], [[2, 0]]]],
  };
}

export interface IoiCircuitOptions {
  N?: number;
  seed?: number;
  print?: boolean;
  /** activation patching runs on the first patchN prompts (default 20) */
  patchN?: number;
}

export interface IoiCircuitResults {
  ioiDataset: IOIDataset;
  cleanLogitDiff: number;
  flippedLogitDiff: number;
  swappedLogitDiff: number;
  abcLogitDiff: number;
  /** per-layer DLA at end: labels, values (mean over prompts), b_U term */
  dlaByLayer: { labels: string[]; values: number[]; unembedBias: number };
  headDla: { perHead: Tensor; rest: number; unembedBias: number; logitDiff: number };
  pathToLogits: Tensor;
  circuitScore: number;
  fullModelScore: number;
}

export async function runIoiCircuit(model: HookedTransformer, o: IoiCircuitOptions = {}): Promise<IoiCircuitResults> {
  const N = o.N ?? 100;
  const print = o.print ?? true;
  const log = (s = ""): void => { if (print) console.log(s); };
  const L = model.cfg.nLayers;

  // ---- dataset: IOI (mixed), its name-swapped twin, its ABC twin ----
  const r = await generateDataAndCaches(model, { N, seed: o.seed ?? 1, prependBos: true });
  const ds = r.ioiDataset;
  const abc = r.abcDataset;
  // the notebook's swap_names_in_prompt: both names swap everywhere, so the right answer swaps too
  const swapped = ds.genFlippedPrompts("ABB -> BAA, BAB -> ABA");
  // the positional flip of docs/ioi.md: IO and S1 swap places, S2 stays (the answer stays IO)
  const flipped = ds.genFlippedPrompts("ABB -> BAB, BAB -> ABB");
  const cache = r.ioiCache;
  log(`model: ${model.cfg.modelName}; IOIDataset(prompt_type="mixed", N=${N}, seed=${ds.seed}, prepend_bos=True)`);
  const stripLast = (s: string): string => s.split(" ").slice(0, -1).join(" ");
  for (let i = 0; i < 4; i++) {
    log(`Original: ${stripLast(ds.sentences[i])}`);
    log(`Corrupt:  ${stripLast(swapped.sentences[i])}`);
    log(`Corr Answers: (' ${ds.ioiPrompts[i].S}', ' ${ds.ioiPrompts[i].IO}')`);
    log("-".repeat(40));
  }

  // ---- logit differences ----
  const end = ds.wordIdx.end;
  const rows = int32(Array.from({ length: N }, (_, i) => i));
  const ends = int32(end);
  const io = int32(ds.ioTokenIDs);
  const s = int32(ds.sTokenIDs);
  const diffsAtEnd = (logits: Tensor, ioT: Tensor, sT: Tensor): Tensor => {
    const last = logits.get(rows, ends); // [batch, vocab]
    return last.get(rows, ioT).sub(last.get(rows, sT));
  };
  const cleanDiffs = diffsAtEnd(r.ioiLogits, io, s);
  const cleanLogitDiff = cleanDiffs.to("float64").mean().item();
  const flippedLogits = await model.forward(flipped.toks);
  const flippedOwn = diffsAtEnd(flippedLogits, int32(flipped.ioTokenIDs), int32(flipped.sTokenIDs));
  const flippedLogitDiff = flippedOwn.to("float64").mean().item();
  const swappedLogits = await model.forward(swapped.toks);
  const swappedWithClean = diffsAtEnd(swappedLogits, io, s).to("float64").mean().item();
  const abcLogitDiff = r.abcAverageLogitDiff!;
  log(`Average logit diff (IOI dataset): ${fmt(cleanLogitDiff)}`);
  log(`Average logit diff (flipped "ABB -> BAB, BAB -> ABB", its own IO − S): ${fmt(flippedLogitDiff)}`);
  log(`Average logit diff (names swapped "ABB -> BAA, BAB -> ABA", the clean IO − S): ${fmt(swappedWithClean)}`);
  log(`Average logit diff (ABC dataset, the clean IO − S): ${fmt(abcLogitDiff)}`);
  const top1 = r.ioiLogits.get(rows, ends).argmax(-1);
  const correct = Array.from(top1.dataSync(), Number).filter((t, i) => t === ds.ioTokenIDs[i]).length;
  log(`IO is the top-1 prediction in ${correct}/${N} prompts`);
  log("");
  log(table(["Prompt", "Correct", "Incorrect", "Logit Difference"], Array.from({ length: 5 }, (_, i) => [
    stripLast(ds.sentences[i]), `' ${ds.ioiPrompts[i].IO}'`, `' ${ds.ioiPrompts[i].S}'`, cleanDiffs.get(i).item(),
  ]), "Logit differences", 3));

  // ---- logit lens and DLA per layer (at each prompt's end) ----
  const dir = model.W_U.get(":", io).sub(model.W_U.get(":", s)).transpose(0, 1); // [batch, d_model]
  const bU = model.b_U.get(io).sub(model.b_U.get(s)).to("float64").mean().item();
  const centre = (x: Tensor): Tensor => (model.cfg.normalizationType === "LN" || model.cfg.normalizationType === "LNPre" ? x.sub(x.mean(-1, true)) : x);
  const finalScale = cache.get("ln_final.hook_scale").get(rows, ends); // [batch, 1]
  const atEnd = (stack: Tensor): Tensor => stack.get(":", rows, ends); // [c, batch, pos, d] → [c, batch, d]
  const toDiff = (x: Tensor, scale: Tensor): number[] => Array.from(x.mul(dir).sum(-1).to("float64").mean(-1).dataSync(), Number);
  const [accum, accLabels] = cache.accumulatedResid({ layer: -1, inclMid: true, returnLabels: true }) as [Tensor, string[]];
  const accEnd = centre(atEnd(accum)); // [c, batch, d]
  // the logit lens: each stream through ln_final with its own scale
  const ownScale = accEnd.mul(accEnd).mean(-1, true).add(model.cfg.eps).sqrt();
  const lens = toDiff(accEnd.div(ownScale), ownScale).map((v) => v + bU);
  // the notebook's accumulated DLA: the cached final scale
  const accDla = toDiff(accEnd.div(finalScale.unsqueeze(0)), finalScale).map((v) => v + bU);
  log("");
  log(table(["component", "logit lens (own ln_final scale)", "accumulated DLA (cached final scale)"],
    accLabels.map((l, i) => [l, lens[i], accDla[i]]), "Logit Difference From Accumulated Residual Stream (+ b_U term)"));
  const [dec, decLabels] = cache.decomposeResid({ layer: -1, returnLabels: true }) as [Tensor, string[]];
  const perLayer = toDiff(centre(atEnd(dec)).div(finalScale.unsqueeze(0)), finalScale);
  log("");
  log(table(["component", "logit diff"], [...decLabels.map((l, i) => [l, perLayer[i]]), ["b_U", bU], ["total", perLayer.reduce((a, b) => a + b, 0) + bU]],
    "Logit Difference From Each Layer"));

  // ---- DLA per head ----
  const hd = ioiHeadDla(model, cache, ds);
  log("");
  log(layerHeadTable(hd.perHead, "Logit Difference From Each Head (direct, at end)"));
  log(`Σ heads ${fmt(hd.perHead.to("float64").sum().item())} + rest ${fmt(hd.rest)} + b_U ${fmt(hd.unembedBias)} = ${fmt(hd.logitDiff)} (logit diff ${fmt(cleanLogitDiff)})`);
  log(`top heads by |DLA|: ${topHeads(hd.perHead, 5).map((t) => `${headName(t.head)} ${fmt(t.value)}`).join(", ")}`);

  // ---- activation patching: clean (IOI) into corrupted (names swapped), normalised logit diff ----
  // on the first `patchN` prompts: the metric reads every prompt's own end, so the sweep unembeds at each distinct
  // end position (the full vocabulary), which dominates its cost
  const pN = Math.min(o.patchN ?? 20, N);
  const pRows = int32(Array.from({ length: pN }, (_, i) => i));
  const pEnd = end.slice(0, pN);
  const pIo = io.narrow(0, 0, pN);
  const pS = s.narrow(0, 0, pN);
  const pCache = pN === N ? cache : cache.applySliceToBatchDim(`0:${pN}`);
  const pClean = diffsAtEnd(r.ioiLogits, io, s).narrow(0, 0, pN).to("float64").mean().item();
  const pCorrupt = diffsAtEnd(swappedLogits, io, s).narrow(0, 0, pN).to("float64").mean().item();
  const corruptTokens = swapped.toks.narrow(0, 0, pN);
  const uniqEnds = [...new Set(pEnd)].sort((a, b) => a - b);
  const slots = int32(pEnd.map((e) => uniqEnds.indexOf(e)));
  const ioiNormalized = (logits: Tensor): number => { // logits [pN, uniqEnds, vocab]
    const last = logits.get(pRows, slots);
    const ld = last.get(pRows, pIo).sub(last.get(pRows, pS)).to("float64").mean().item();
    return (ld - pCorrupt) / (pClean - pCorrupt);
  };
  const popts = { metricPositions: uniqEnds, progressBar: false };
  const posLabels = model.toStrTokens(ds.toks.get(0)).map((t, i) => `${i}${JSON.stringify(t)}`.slice(0, 10));
  const t0 = performance.now();
  const block = await patching.getActPatchBlockEvery(model, corruptTokens, pCache, ioiNormalized, popts);
  const layers = Array.from({ length: L }, (_, l) => `L${l}`);
  log("");
  log(`Activation patching on the first ${pN} prompts: clean logit diff ${fmt(pClean)}, corrupted (names swapped) ${fmt(pCorrupt)}`);
  log(`(metric: (patched − corrupted) / (clean − corrupted); positions labelled with prompt 0's tokens; ends at ${uniqEnds.join("/")})`);
  ["resid_pre", "attn_out", "mlp_out"].forEach((name, i) => {
    log("");
    log(matrixTable(block.get(i), layers, posLabels, `${name} Activation Patching`, 2, "layer"));
  });
  const every = await patching.getActPatchAttnHeadAllPosEvery(model, corruptTokens, pCache, ioiNormalized, popts);
  log("");
  log(layerHeadTable(every.get(0), "attn_head_out Activation Patching (All Pos)"));
  ["query", "key", "value", "pattern"].forEach((name, i) => {
    log("");
    log(layerHeadTable(every.get(i + 1), `Activation Patching Per Head (All Pos): ${name}`));
  });
  if (print) console.error(`(activation patching: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  // ---- OV copying scores ----
  log("");
  log(layerHeadTable(ovCopyingScore(model), "OV Copying Score for each head (eigenvalues of W_V W_O)", 3));
  log("");
  log(layerHeadTable(fullOvCopyingScore(model), "Full OV Copying Score for each head (eigenvalues of W_E W_V W_O W_U)", 3));

  // ---- head detectors on repeated random tokens ----
  const rep = generateRepeatedTokens(model, 20, { batch: 4, seed: 0 });
  for (const kind of ["previous_token_head", "duplicate_token_head", "induction_head"] as const) {
    log("");
    log(layerHeadTable(await detectHead(model, rep, kind), `${kind} scores (detectHead on 4 × [BOS] + r + r, |r| = 20)`, 3));
  }

  // ---- backup name movers ----
  const bnm = await backupNameMoverAnalysis(model, ds, { cache });
  const [tl, th] = bnm.ablated[0];
  log("");
  log(`Top Name Mover to ablate: L${tl}H${th}`);
  log(`Original logit diff: ${fmt(bnm.clean.logitDiff, 2)}`);
  log(`Post ablation logit diff: ${fmt(bnm.afterAblation.logitDiff, 2)}`);
  log(`Direct Logit Attribution of top name mover head: ${fmt(bnm.clean.perHead.get(tl, th).item(), 2)}`);
  log(`Naive prediction of post ablation logit diff: ${fmt(bnm.naivePrediction, 2)}`);
  log(`Average LN scaling ratio: ${fmt(bnm.lnScaleRatio, 3)}`);
  log(layerHeadTable(bnm.change, "Change in each head's DLA after the ablation"));

  // ---- copy scores ----
  const cs = await getCopyingScores(model);
  log("");
  log(layerHeadTable(cs.positive, `Positive copying scores (top-5 over ${cs.names.length} names)`, 2));
  log("");
  log(layerHeadTable(cs.negative, "Negative copying scores", 2));
  const copyCache = cache as ActivationCache;
  const copyRows: (string | number)[][] = [];
  for (const { head: [l, h] } of topHeads(cs.positive, 3, "pos")) {
    const c = await checkCopyCircuit(model, l, h, ds, { cache: copyCache });
    copyRows.push([`L${l}H${h}`, "positive", c.percent, c.byWord.IO, c.byWord.S1, c.byWord.S2]);
  }
  for (const { head: [l, h] } of topHeads(cs.negative, 2, "pos")) {
    const c = await checkCopyCircuit(model, l, h, ds, { cache: copyCache, neg: true });
    copyRows.push([`L${l}H${h}`, "negative", c.percent, c.byWord.IO, c.byWord.S1, c.byWord.S2]);
  }
  log("");
  log(table(["head", "sign", "% in top 5", "IO", "S1", "S2"], copyRows, "check_copy_circuit (blocks.0.hook_resid_post → OV → unembed)", 1));

  // ---- path patching (ABC as the new run, 0 = clean, −1 = the ABC level) ----
  const metric = ioiMetric(model, ds, { clean: r.ioiAverageLogitDiff, corrupted: r.abcAverageLogitDiff });
  const runs = { origDataset: ds, newDataset: abc, origCache: cache, newCache: r.abcCache, progressBar: false };
  const t1 = performance.now();
  const toFinal = await getPathPatchHeadToFinalResidPost(model, metric, runs);
  log("");
  log(layerHeadTable(toFinal.scores, "Direct effect on logit diff (patch from head → final resid)"));
  const pathTop = topHeads(toFinal.scores, 4).map((t) => t.head);
  log(`top heads: ${topHeads(toFinal.scores, 4).map((t) => `${headName(t.head)} ${fmt(t.value)}`).join(", ")}`);
  const receiversSpecs: { what: string; heads: Head[]; input: QkvInput; positions: string }[] = isGpt2Small(model)
    ? [
      { what: "name mover queries", heads: [[9, 9], [9, 6], [10, 0]], input: "q", positions: "end" },
      { what: "S-inhibition values", heads: [[7, 3], [7, 9], [8, 6], [8, 10]], input: "v", positions: "S2" },
      { what: "S-inhibition keys", heads: [[7, 3], [7, 9], [8, 6], [8, 10]], input: "k", positions: "S2" },
      { what: "induction keys", heads: [[5, 5], [5, 8], [5, 9], [6, 9]], input: "k", positions: "S2" },
    ]
    : [
      ...(["q", "k", "v"] as const).map((input) => ({
        what: `top path heads (layer ≥ 1) ${input}`, heads: pathTop.filter(([l]) => l > 0), input, positions: "end",
      })),
      { what: "L1H1 values", heads: [[1, 1]], input: "v", positions: "S1+1" },
    ];
  for (const spec of receiversSpecs) {
    if (spec.heads.length === 0) continue;
    const res = await getPathPatchHeadToHeads(model, metric, { ...runs, receiverHeads: spec.heads, receiverInput: spec.input, positions: spec.positions });
    log("");
    log(layerHeadTable(res.scores, `Path patching: head → ${spec.what} (${spec.heads.map(headName).join(", ")}) at ${spec.positions}`));
  }
  if (print) console.error(`(path patching: ${((performance.now() - t1) / 1000).toFixed(1)} s)`);

  // ---- circuit validation by mean ablation ----
  const { circuit, seqPosToKeep, kForEachComponent } = defaultCircuit(model);
  log("");
  log("Circuit:");
  for (const [k, heads] of Object.entries(circuit)) log(`  ${k} (${JSON.stringify(seqPosToKeep[k])}): ${heads.map(headName).join(", ")}`);
  const common = { dataset: ds, meansDataset: abc, circuit, seqPosToKeep };
  const circuitScore = await getCircuitScore(model, common);
  const { scores: mins, fullModelScore } = await getAllMinimalityScores(model, { ...common, kForEachComponent });
  log(`Average logit difference (IOI dataset, using entire model): ${fmt(fullModelScore)}`);
  log(`Average logit difference (IOI dataset, only using circuit): ${fmt(circuitScore)}`);
  log(table(["head", "K", "F(C \\ K)", "F(C \\ (K ∪ v))", "minimality"],
    mins.map((m) => [headName(m.head), m.K.map(headName).join(" ") || "∅", m.withoutK, m.withoutKv, m.score]), "Minimality scores"));

  // ---- generate with the mean-ablation hook (the notebook's last cell) ----
  const h = await addMeanAblationHook(model, abc, circuit, seqPosToKeep);
  try {
    const ablatedLogits = await model.forward(ds.toks);
    const withHook = diffsAtEnd(ablatedLogits, io, s).to("float64").mean().item();
    log(`forward with the permanent mean-ablation hook: logit diff ${fmt(withHook)} (= the circuit score)`);
    const out = await model.generate(ds.toks, { maxNewTokens: 3, doSample: false, stopAtEos: false }) as Tensor;
    const full = ds.toks.shape[1];
    const unpadded = Array.from({ length: N }, (_, i) => i).filter((i) => ds.toks.get(i, full - 1).item() !== 50256).slice(0, 3);
    for (const i of unpadded) {
      log(`generate (circuit only): ${JSON.stringify(ds.sentences[i])} → ${JSON.stringify(model.toString(out.get(i).narrow(0, full, 3)))}`);
    }
  } finally {
    h.remove();
  }
  return {
    ioiDataset: ds, cleanLogitDiff, flippedLogitDiff, swappedLogitDiff: swappedWithClean, abcLogitDiff,
    dlaByLayer: { labels: decLabels, values: perLayer, unembedBias: bU },
    headDla: { perHead: hd.perHead, rest: hd.rest, unembedBias: hd.unembedBias, logitDiff: hd.logitDiff },
    pathToLogits: toFinal.scores, circuitScore, fullModelScore,
  };
}

async function main(): Promise<void> {
  const args = parseArgs();
  const model = await loadModel(args);
  const t0 = performance.now();
  await runIoiCircuit(model, { N: intArg(args, "n", 100), seed: intArg(args, "seed", 1), patchN: intArg(args, "patch-n", 20) });
  console.error(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

if (isMain(import.meta.url)) await main();
