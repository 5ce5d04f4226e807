// The dataset half of the copy-suppression code's `generate_data_and_caches` (cautils, SPEC §7): an IOI dataset and
// its ABC twin ("ABB->XYZ, BAB->XYZ" flip). Running a model on them is analysis/ioi/data.ts.
import { gpt2Tokenizer, type Tokenizer } from "../tokenizer/index.js";
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
  /** IOI templates (default "mixed", as in cautils). */
  promptType?: string;
  /** Default GPT-2 (generateDataAndCaches passes the model's). */
  tokenizer?: Tokenizer;
}

/** The IOI dataset ("mixed" unless told) and its ABC twin, as generate_data_and_caches builds them (no model needed);
 *  the IOI pipeline, `tlens ioi` and the lab's prompt pairs all come from here. */
export function generateIOIData(opts: IOIDataOptions): { ioiDataset: IOIDataset; abcDataset: IOIDataset } {
  const ioiDataset = new IOIDataset({
    promptType: opts.promptType ?? "mixed",
    N: opts.N,
    seed: opts.seed ?? 42,
    prependBos: opts.prependBos ?? false,
    symmetric: opts.symmetric ?? false,
    tokenizer: opts.tokenizer ?? gpt2Tokenizer(),
  });
  return { ioiDataset, abcDataset: ioiDataset.genFlippedPrompts(ABC_FLIP) };
}
