// The copy-suppression code's `generate_data_and_caches` (cautils, SPEC §7): an IOI dataset, its ABC twin
// ("ABB->XYZ, BAB->XYZ" flip) and the model's caches on both, plus the logit-difference metric it returns.
import type { ActivationCache, HookedTransformer, NameFilter } from "../model/index.js";
import type { Tensor } from "../tensor/index.js";
import { gpt2Tokenizer, type Tokenizer } from "../tokenizer/index.js";
import { DatasetError } from "./errors.js";
import { IOIDataset } from "./ioi.js";

/** The flip that makes the ABC (corrupted) twin of an IOI dataset. */
export const ABC_FLIP = "ABB->XYZ, BAB->XYZ";

export interface IOIDataOptions {
  /** Number of prompts. */
  N: number;
  /** Default 42, as in cautils. */
  seed?: number;
  prependBos?: boolean;
  symmetric?: boolean;
  /** Default: the model's tokenizer (generateDataAndCaches), else GPT-2. */
  tokenizer?: Tokenizer;
}

/** The "mixed" IOI dataset and its ABC twin, as generate_data_and_caches builds them (no model needed). */
export function generateIOIData(opts: IOIDataOptions): { ioiDataset: IOIDataset; abcDataset: IOIDataset } {
  const ioiDataset = new IOIDataset({
    promptType: "mixed",
    N: opts.N,
    seed: opts.seed ?? 42,
    prependBos: opts.prependBos ?? false,
    symmetric: opts.symmetric ?? false,
    tokenizer: opts.tokenizer ?? gpt2Tokenizer(),
  });
  return { ioiDataset, abcDataset: ioiDataset.genFlippedPrompts(ABC_FLIP) };
}

/** Per-prompt logit[i, end_i, IO_i] − logit[i, end_i, S_i] with `dataset`'s end positions and token ids.
 *  logits: [batch, pos, d_vocab] (batch = dataset.N). */
export async function logitsToLogitDiffs(logits: Tensor, dataset: IOIDataset): Promise<number[]> {
  if (logits.ndim !== 3 || logits.shape[0] !== dataset.N) {
    throw new DatasetError(`expected logits [batch=${dataset.N}, pos, d_vocab], got [${logits.shape.join(", ")}]`);
  }
  const end = dataset.wordIdx.end;
  return dataset.ioTokenIDs.map((io, i) => logits.get(i, end[i], io).item() - logits.get(i, end[i], dataset.sTokenIDs[i]).item());
}

/** The mean IO − S logit difference at the end position (cautils `_logits_to_ave_logit_diff`). */
export async function logitsToAveLogitDiff(logits: Tensor, dataset: IOIDataset): Promise<number> {
  const d = await logitsToLogitDiffs(logits, dataset);
  return d.reduce((a, b) => a + b, 0) / d.length;
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
  /** (patched − clean) / (clean − corrupted): 0 when performance is unharmed, −1 at the ABC level. */
  ioiMetricNoising?: (logits: Tensor) => Promise<number>;
}

/**
 * cautils `generate_data_and_caches(N, model, seed=42, prepend_bos, only_ioi, symmetric, names_filter)`: builds the
 * "mixed" dataset and its ABC twin, resets every hook of the model (permanent ones included, as the original
 * does), and runs the model with cache on `ioiDataset.toks` (and on `abcDataset.toks` unless onlyIoi).
 * (Python's `only_ioi=True, return_cache=False` — the dataset alone — is `generateIOIData`.)
 */
export async function generateDataAndCaches(model: HookedTransformer, opts: GenerateDataAndCachesOptions): Promise<DataAndCaches> {
  const { ioiDataset, abcDataset } = generateIOIData({ ...opts, tokenizer: opts.tokenizer ?? model.tokenizer ?? undefined });
  model.resetHooks({ includingPermanent: true });
  const [ioiLogits, ioiCache] = await model.runWithCache(ioiDataset.toks, opts.namesFilter ? { namesFilter: opts.namesFilter } : {});
  if (opts.onlyIoi) return { ioiDataset, abcDataset, ioiLogits, ioiCache };
  const [abcLogits, abcCache] = await model.runWithCache(abcDataset.toks);
  const clean = await logitsToAveLogitDiff(ioiLogits, ioiDataset);
  const corrupted = await logitsToAveLogitDiff(abcLogits, ioiDataset);
  if (opts.verbose) {
    console.log(`Average logit diff (IOI dataset): ${clean.toFixed(4)}`);
    console.log(`Average logit diff (ABC dataset): ${corrupted.toFixed(4)}`);
  }
  const ioiMetricNoising = async (logits: Tensor) => ((await logitsToAveLogitDiff(logits, ioiDataset)) - clean) / (clean - corrupted);
  return { ioiDataset, abcDataset, ioiLogits, ioiCache, abcLogits, abcCache, ioiAverageLogitDiff: clean, abcAverageLogitDiff: corrupted, ioiMetricNoising };
}
