// The model half of the IOI data: the dataset and its corrupted twin checked against a model, the clean and
// corrupted runs, and cautils' `generate_data_and_caches`. (The datasets layer holds the text and token ids:
// IOIDataset, generateIOIData, ABC_FLIP.)
import { AnalysisError } from "../../errors.js";
import type { Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { ActivationCache } from "../../model/activation-cache.js";
import type { NameFilter } from "../../model/index.js";
import type { IOIDataset } from "../../datasets/ioi.js";
import { generateIOIData, type IOIDataOptions } from "../../datasets/ioi-data.js";
import { endPositions, ioiMetric, type EndPositions } from "./metric.js";

export interface IoiDataOptions {
  /** Number of prompts (default 100) and the dataset seed (default 1). */
  n?: number;
  seed?: number;
  /** IOI templates (default "mixed"). */
  promptType?: string;
  prependBos?: boolean;
}

/** The IOI inputs of a run: the dataset, its XYZ-corrupted twin (`ABC_FLIP`, generateIOIData) and where each row's `end` is. */
export interface IoiData {
  dataset: IOIDataset;
  flipped: IOIDataset;
  /** [batch, pos] each (int32). */
  cleanTokens: Tensor;
  flippedTokens: Tensor;
  /** Each row's `end`, the sorted distinct ones (patching computes logits only there) and each row's slot. */
  ends: EndPositions;
}

/** The IOI dataset of `opts` and its XYZ twin, checked against the model (GPT-2 vocabulary, context long enough). */
export function makeIoiData(model: HookedTransformer, opts: IoiDataOptions = {}): IoiData {
  const vocab = model.cfg.dVocab;
  if (vocab < 50257)
    throw new AnalysisError(
      `IOI needs a model with the GPT-2 vocabulary (d_vocab ${vocab} < 50257): the IOI prompts are GPT-2 tokens`,
    );
  const { ioiDataset: dataset, abcDataset: flipped } = generateIOIData({
    promptType: opts.promptType,
    N: opts.n ?? 100,
    seed: opts.seed ?? 1,
    prependBos: opts.prependBos,
  });
  const maxLen = dataset.toks.shape[1]!;
  if (flipped.toks.shape[1] !== maxLen) {
    throw new AnalysisError(
      `IOI: the flipped prompts tokenize to ${flipped.toks.shape[1]} positions, the clean ones to ${maxLen}; try another --seed`,
    );
  }
  if (model.cfg.nCtx < maxLen)
    throw new AnalysisError(`IOI: the prompts have ${maxLen} tokens but the model's context is ${model.cfg.nCtx}`);
  return {
    dataset,
    flipped,
    cleanTokens: dataset.toks,
    flippedTokens: flipped.toks,
    ends: endPositions(dataset.wordIdx.end!.slice(0, dataset.N)),
  };
}

/** A clean/corrupted prompt pair of the IOI data, each stopping before the answer (at `end`). */
export interface IoiPromptPair {
  clean: string;
  corrupted: string;
  /** The IO name (the answer) and the S name, each with its leading space (one GPT-2 token). */
  answer: string;
  other: string;
}

/** The prompt pairs of a dataset and its corrupted twin: the sentences without their last word (the answer). */
export function ioiPromptPairs(dataset: IOIDataset, flipped: IOIDataset): IoiPromptPair[] {
  const beforeAnswer = (s: string): string => s.slice(0, s.lastIndexOf(" "));
  return dataset.ioiPrompts.map((p, i) => ({
    clean: beforeAnswer(p.text),
    corrupted: beforeAnswer(flipped.sentences[i]!),
    answer: ` ${p.IO}`,
    other: ` ${p.S}`,
  }));
}

export interface GenerateDataAndCachesOptions extends IOIDataOptions {
  /** Print the two average logit differences. */
  verbose?: boolean;
  /** Stop after the clean run: no ABC run, no metric (the ABC dataset is still built, as in Python). */
  onlyIoi?: boolean;
  /** Cache only these hooks in the clean run (the ABC run caches everything, as in Python). */
  namesFilter?: NameFilter;
}

export interface DataAndCaches {
  ioiDataset: IOIDataset;
  abcDataset: IOIDataset;
  ioiLogits: Tensor;
  ioiCache: ActivationCache;
  /** The rest is absent with onlyIoi. */
  abcLogits?: Tensor;
  abcCache?: ActivationCache;
  /** Mean logit difference on the clean run and on the ABC run (both with the clean dataset's end / IO / S). */
  ioiAverageLogitDiff?: number;
  abcAverageLogitDiff?: number;
  /** (patched − clean) / (clean − corrupted): 0 when performance is unharmed, −1 at the ABC level (ioiMetric). */
  ioiMetricNoising?: (logits: Tensor) => Promise<number>;
}

/**
 * cautils `generate_data_and_caches(N, model, seed=42, prepend_bos, only_ioi, symmetric, names_filter)`: builds the
 * "mixed" dataset and its ABC twin, resets every hook of the model (permanent ones included, as the original
 * does), and runs the model with cache on `ioiDataset.toks` (and on `abcDataset.toks` unless onlyIoi).
 * (Python's `only_ioi=True, return_cache=False` — the dataset alone — is `generateIOIData`.)
 */
export async function generateDataAndCaches(
  model: HookedTransformer,
  opts: GenerateDataAndCachesOptions,
): Promise<DataAndCaches> {
  const { ioiDataset, abcDataset } = generateIOIData({
    ...opts,
    tokenizer: opts.tokenizer ?? model.tokenizer ?? undefined,
  });
  model.resetHooks({ includingPermanent: true });
  const [ioiLogits, ioiCache] = await model.runWithCache(
    ioiDataset.toks,
    opts.namesFilter ? { namesFilter: opts.namesFilter } : {},
  );
  if (opts.onlyIoi) return { ioiDataset, abcDataset, ioiLogits, ioiCache };
  const [abcLogits, abcCache] = await model.runWithCache(abcDataset.toks);
  const ld = ioiMetric(model, ioiDataset);
  const clean = ld(ioiLogits);
  const corrupted = ld(abcLogits);
  if (opts.verbose) {
    console.log(`Average logit diff (IOI dataset): ${clean.toFixed(4)}`);
    console.log(`Average logit diff (ABC dataset): ${corrupted.toFixed(4)}`);
  }
  const noising = ioiMetric(model, ioiDataset, { clean, corrupted });
  const ioiMetricNoising = async (logits: Tensor): Promise<number> => noising(logits);
  return {
    ioiDataset,
    abcDataset,
    ioiLogits,
    ioiCache,
    abcLogits,
    abcCache,
    ioiAverageLogitDiff: clean,
    abcAverageLogitDiff: corrupted,
    ioiMetricNoising,
  };
}
