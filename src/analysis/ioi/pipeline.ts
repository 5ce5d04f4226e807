// runIoiPipeline: the IOI analysis of seed 002 on a loaded model, as one function → IoiResults (plain data and
// Tensors, no figures). `tlens ioi`, examples/ioi-circuit.ts and the lab all call it; viz/ioi-report.ts draws it.
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import { ABC_FLIP } from "../../datasets/ioi-data.js";
import { makeIoiData, type IoiDataOptions } from "./data.js";
import {
  attribution,
  copyScores,
  headDetectors,
  headPatching,
  runBoth,
  topHeadsBy,
  viewerData,
  wordPatching,
  attention,
} from "./stages.js";
import { findCircuit, pathPatching, validateCircuit, type IoiCircuitChoice } from "./circuit.js";
import type { IoiResults } from "./results.js";

export interface IoiOptions extends IoiDataOptions {
  /** The model's name in the results (default model.cfg.modelName). */
  modelName?: string;
  /** How many heads the viewers, the attention bars and the fallback circuit use (default 4, at most n_layers × n_heads). */
  topHeads?: number;
  /** Prompts the head detectors read (default 10). */
  detectorPrompts?: number;
  /** Skip path patching (the slowest part on big models). */
  skipPathPatching?: boolean;
  /** The circuit to validate (default: the one the pipeline finds, see findCircuit; threshold 0.05). */
  circuit?: IoiCircuitChoice;
  /** Stage lines ("[3/10] activation patching ...", then the seconds it took). */
  log?: (line: string) => void;
  /** Progress bars of the sweeps on stderr. */
  progressBar?: boolean;
}

/** Numbered stage lines and the seconds each stage took. */
function stageClock(
  total: number,
  log: (line: string) => void,
): { timings: Record<string, number>; stage<T>(title: string, key: string, f: () => Promise<T> | T): Promise<T> } {
  const timings: Record<string, number> = {};
  let n = 0;
  return {
    timings,
    async stage(title, key, f) {
      log(`[${++n}/${total}] ${title}`);
      const t0 = Date.now();
      const r = await f();
      timings[key] = (Date.now() - t0) / 1000;
      log(`      ${timings[key].toFixed(1)}s`);
      return r;
    },
  };
}

const CIRCUIT_THRESHOLD = 0.05;

/** Runs the whole IOI analysis (docs/report.md lists what each part computes and with which library call). */
export async function runIoiPipeline(model: HookedTransformer, opts: IoiOptions = {}): Promise<IoiResults> {
  const log = opts.log ?? (() => {});
  const cfg = model.cfg;
  const { timings, stage } = stageClock(opts.skipPathPatching ? 9 : 10, log);
  const { runs, logitDiff } = await stage("dataset and the clean / flipped runs", "runs", () =>
    runBoth(model, makeIoiData(model, opts), opts.progressBar ?? false),
  );
  const { clean, flipped } = runs;
  if (!(clean - flipped > 1e-6))
    log(
      `      note: the clean logit difference (${clean.toFixed(3)}) is not above the flipped one (${flipped.toFixed(3)}); normalised patching scores are not meaningful`,
    );
  const attrib = await stage("logit lens and direct logit attribution", "dla", () => attribution(runs));
  const words = await stage(
    "activation patching: resid_pre / attn_out / mlp_out at word positions",
    "act_patching_positions",
    () => wordPatching(runs),
  );
  const heads = await stage(
    "activation patching: head outputs / queries / keys / values / patterns",
    "head_patching",
    () => headPatching(runs),
  );
  const headOut = heads.get(0);
  const k = Math.max(1, Math.min(opts.topHeads ?? 4, cfg.nLayers * cfg.nHeads));
  const topHeads = {
    byPatching: topHeadsBy(headOut, k, Math.abs),
    byDla: topHeadsBy(attrib.dlaHeads.perHead, k, Math.abs),
  };
  const path = opts.skipPathPatching
    ? undefined
    : await stage("path patching: heads → logits, → name movers' queries, → S-inhibition values", "path_patching", () =>
        pathPatching(runs),
      );
  const projectionHead = path?.nameMovers[0] ?? topHeads.byDla[0];
  const attn = await stage("attention of the top heads", "attention", () =>
    attention(runs, topHeads.byPatching, projectionHead!),
  );
  const detectors = await stage("head detectors", "detectors", () => headDetectors(runs, opts.detectorPrompts ?? 10));
  const copy = await stage("copy scores", "copy_scores", () => copyScores(runs));
  const choice = opts.circuit ?? findCircuit(headOut, path, topHeads.byPatching, CIRCUIT_THRESHOLD);
  const circuit = await stage("circuit validation by mean ablation", "circuit", () =>
    validateCircuit(runs, choice, opts.circuit ? null : CIRCUIT_THRESHOLD),
  );
  const viewers = await stage("attention viewers", "viewers", () => viewerData(runs, topHeads.byPatching));
  const ds = runs.data.dataset;
  return {
    model: {
      name: opts.modelName ?? cfg.modelName,
      nLayers: cfg.nLayers,
      nHeads: cfg.nHeads,
      dModel: cfg.dModel,
      dVocab: cfg.dVocab,
      nCtx: cfg.nCtx,
    },
    dataset: {
      N: ds.N,
      seed: opts.seed ?? 1,
      promptType: opts.promptType ?? "mixed",
      prependBos: opts.prependBos ?? false,
      flip: ABC_FLIP,
      maxLen: runs.data.cleanTokens.shape[1]!,
      sentences: ds.sentences.slice(0, ds.N),
      flippedSentences: runs.data.flipped.sentences.slice(0, ds.N),
    },
    logitDiff,
    ...attrib,
    patching: { ...words, heads },
    ...(path ? { pathPatching: path } : {}),
    topHeads,
    attention: attn,
    headDetectors: detectors,
    copyScores: copy,
    circuit,
    viewers,
    timings,
  };
}
