// Hanna et al. 2023's greater-than task: "The {noun} lasted from the year {XX}{YY} to the year {XX}", the metric the
// probability the model puts on years after YY minus on YY and before; corrupted = the same prompt with YY = "01".
// As in the paper, only single-token nouns and only years whose " XXYY" tokenises as " XX" + "YY" are used, without
// the first and last such year of the century (for GPT-2 and century 17: YY = 02 … 98).
import type { HookedTransformer } from "../../../model/hooked-transformer.js";
import type { Tokenizer } from "../../../tokenizer/index.js";
import { PythonRandom } from "../../../datasets/python-random.js";
import { AttributionError } from "../errors.js";
import { GREATER_THAN_NOUNS } from "./greater-than-nouns.js";
import { yearProbDiffMetric } from "./metrics.js";
import { checkPair, int32, type AttributionTask } from "./task.js";

export interface GreaterThanOptions {
  /** Number of prompts (default 100). */
  n?: number;
  /** The century XX (default 17). */
  century?: number;
  /** Seed of the noun choice (default 0). */
  seed?: number;
  /** Prepend BOS (default: the model's default). */
  prependBos?: boolean;
  /** Nouns to choose from (default Hanna et al.'s list); only those that are one token after a space are used. */
  nouns?: readonly string[];
}

function oneToken(tok: Tokenizer, s: string): boolean {
  return tok.encode(s).length === 1;
}

/** The YY of `century` whose " XXYY" is " XX" + "YY" for this tokenizer, without the first and the last. */
export function greaterThanYears(tok: Tokenizer, century = 17): number[] {
  if (!Number.isInteger(century) || century < 10 || century > 99)
    throw new AttributionError(`greaterThan: century must be an integer 10 … 99, got ${century}`);
  const head = tok.encode(` ${century}`);
  const valid: number[] = [];
  for (let yy = 0; yy < 100; yy++) {
    const ids = tok.encode(` ${century}${String(yy).padStart(2, "0")}`);
    if (ids.length === 2 && head.length === 1 && ids[0] === head[0] && tok.idToString(ids[1]!).length === 2)
      valid.push(yy);
  }
  return valid.slice(1, -1);
}

/** The ids of the 100 two-digit tokens "00" … "99" (refused when one is not a single token). */
export function twoDigitTokenIds(tok: Tokenizer): number[] {
  return Array.from({ length: 100 }, (_, yy) => {
    const s = String(yy).padStart(2, "0");
    const ids = tok.encode(s);
    if (ids.length !== 1)
      throw new AttributionError(
        `greaterThan: "${s}" is ${ids.length} tokens for this tokenizer; the task needs the GPT-2 vocabulary`,
      );
    return ids[0]!;
  });
}

function sentence(noun: string, century: number, yy: string): string {
  return `The ${noun} lasted from the year ${century}${yy} to the year ${century}`;
}

/** The greater-than task: years cycle through the valid YY in order (the paper's balanced sampling), nouns at random. */
export function greaterThanTask(model: HookedTransformer, opts: GreaterThanOptions = {}): AttributionTask {
  const tok = model.tokenizer;
  if (!tok) throw new AttributionError("greaterThanTask: the model has no tokenizer");
  const n = opts.n ?? 100;
  if (!Number.isInteger(n) || n < 1)
    throw new AttributionError(`greaterThanTask: n must be a positive integer, got ${n}`);
  const century = opts.century ?? 17;
  const years = greaterThanYears(tok, century);
  if (years.length === 0)
    throw new AttributionError(`greaterThanTask: no year of century ${century} tokenises as " ${century}" + "YY"`);
  const yearIds = twoDigitTokenIds(tok);
  const corruptYear = tok.encode(` ${century}01`);
  if (corruptYear.length !== 2 || corruptYear[1] !== yearIds[1]) {
    throw new AttributionError(
      `greaterThanTask: " ${century}01" (the corrupted year) is not " ${century}" + "01" for this tokenizer`,
    );
  }
  const nouns = (opts.nouns ?? GREATER_THAN_NOUNS).filter((w) => oneToken(tok, ` ${w}`));
  if (nouns.length === 0)
    throw new AttributionError("greaterThanTask: none of the nouns is a single token after a space");
  const rng = new PythonRandom(opts.seed ?? 0);
  const rowNouns = Array.from({ length: n }, () => nouns[Math.floor(rng.random() * nouns.length)]); // random.choices
  const yy = Array.from({ length: n }, (_, i) => years[i % years.length]!);
  const cleanText = rowNouns.map((w, i) => sentence(w!, century, String(yy[i]).padStart(2, "0")));
  const corruptText = rowNouns.map((w) => sentence(w!, century, "01"));
  const prependBos = opts.prependBos;
  const clean = model.toTokens(cleanText, { prependBos });
  const corrupted = model.toTokens(corruptText, { prependBos });
  checkPair("greaterThanTask", clean, corrupted);
  const last = clean.shape[1]! - 1;
  return {
    name: "greater-than",
    clean,
    corrupted,
    answers: int32(yy.map((y) => yearIds[y!]!)),
    positions: new Array<number>(n).fill(last),
    metric: yearProbDiffMetric("greaterThanTask", last, yearIds, yy),
    labels: cleanText,
  };
}
