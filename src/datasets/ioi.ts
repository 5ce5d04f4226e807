// The IOI (indirect object identification) dataset of Wang et al. 2022, as ARENA's and the copy-suppression
// code's `ioi_dataset.py` generate it — bit-exact: the same seed gives the same sentences, prompts, templates,
// groups, word indices, tokens and token ids as the Python original (../shared/ioi/SPEC.md is the contract).
// Every random draw goes through the CPython `random` port (./python-random.ts); sets and sorts that affect
// order are reproduced as CPython performs them.
import { Tensor } from "../tensor/index.js";
import { gpt2Tokenizer, type Tokenizer } from "../tokenizer/index.js";
import { DatasetError } from "./errors.js";
import {
  ABBA_TEMPLATES,
  ABC_TEMPLATES,
  BABA_LONG_TEMPLATES,
  BABA_TEMPLATES,
  BAC_TEMPLATES,
  NAMES,
  OBJECTS,
  PLACES,
} from "./ioi-constants.js";
import { PythonRandom } from "./python-random.js";
import { pythonIntSetOrder } from "./python-set.js";

/** The prompt types of the Python generator; a list of template strings is also accepted. */
export type IOIPromptType = "ABBA" | "BABA" | "mixed" | "ABC" | "BAC" | "ABC mixed";
export const IOI_PROMPT_TYPES: readonly IOIPromptType[] = ["ABBA", "BABA", "mixed", "ABC", "BAC", "ABC mixed"];

/** One prompt, with the Python dict's keys in the Python dict's order: `[PLACE]`, `[OBJECT]` (absent on the
 *  second prompt of each symmetric pair), `text`, `IO`, `S`, `TEMPLATE_IDX`, and `C` for the ABC types. */
export interface IOIPrompt {
  "[PLACE]"?: string;
  "[OBJECT]"?: string;
  text: string;
  IO: string;
  S: string;
  TEMPLATE_IDX: number;
  C?: string;
}

/** The keys of `wordIdx`, in the Python dict's order. */
export const WORD_IDX_KEYS = ["IO", "IO-1", "IO+1", "S1", "S1-1", "S1+1", "S2", "end", "starts", "punct"] as const;
export type WordIdxKey = (typeof WORD_IDX_KEYS)[number];
/** Token positions per prompt: `wordIdx.IO[i]` is the position of the IO name in row i of `toks`. */
export type WordIdx = Record<string, number[]>;

export interface IOIDatasetOptions {
  /** "ABBA", "BABA", "mixed" (BABA + ABBA templates, shuffled), "ABC", "BAC", "ABC mixed", or a list of templates. */
  promptType: IOIPromptType | (string & {}) | string[];
  /** Number of prompts (Python default 500). */
  N?: number;
  /** Use these prompts instead of generating (flips, slices); `N` must equal their number. */
  prompts?: IOIPrompt[];
  /** Generate prompts in pairs, the second with IO and S swapped (N must be even). */
  symmetric?: boolean;
  /** Texts to draw a prefix from ("…<|endoftext|>" is prepended to each prompt). */
  prefixes?: string[];
  /** How many templates to use (default 15; "mixed" takes nbTemplates // 2 of each kind). */
  nbTemplates?: number;
  /** Prepend BOS to each row of `toks` (word indices shift by one, except `punct`, as in Python). */
  prependBos?: boolean;
  /** Use this word_idx instead of computing one (flips pass the clean dataset's). */
  manualWordIdx?: WordIdx;
  hasBeenFlipped?: boolean;
  /** Python `random.seed(seed)` at construction (default 0). */
  seed?: number;
  /** ARENA's `use_long_template`: "BABA" uses BABA_LONG_TEMPLATES. */
  useLongTemplate?: boolean;
  /** Tokenizer for toks / word_idx / token ids (default GPT-2). It must not add BOS by itself (SPEC §5.1). */
  tokenizer?: Tokenizer;
}

export interface FlipOptions {
  /** Order in which the fresh letters of a flip (X, Y, Z in "ABB->XYZ, BAB->XYZ") draw their names. Python
   *  iterates a set here, whose order depends on PYTHONHASHSEED; the default is sorted order (X, Y, Z), which
   *  is what the cautils generator gives with PYTHONHASHSEED=7. Give e.g. "ZXY" to emulate another order. */
  letterOrder?: string;
}

// ---------- small Python semantics helpers ----------

/** Python's `seq[:stop]`. */
function pySliceTo<T>(seq: readonly T[], stop: number): T[] {
  return seq.slice(0, stop < 0 ? Math.max(0, seq.length + stop) : stop);
}

/** Python's `str.replace(old, new)` (all occurrences, no `$` patterns). */
function replaceAll(s: string, from: string, to: string): string {
  return s.split(from).join(to);
}

/** Python's `str.strip()` (whitespace). */
function pyStrip(s: string): string {
  return s.replace(/^[\s\u001c-\u001f\u0085]+|[\s\u001c-\u001f\u0085]+$/gu, "");
}

/** Compare strings by code point, as Python's sort does. */
function cmpCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function describe(x: unknown): string {
  return typeof x === "string" ? JSON.stringify(x) : Array.isArray(x) ? "an array" : String(x);
}

// ---------- generation ----------

/** The template list of a prompt type, shuffled with `rng` for the mixed types (Python `random.shuffle`). */
export function ioiTemplates(
  promptType: IOIPromptType | (string & {}) | string[],
  rng: PythonRandom,
  opts: { nbTemplates?: number; useLongTemplate?: boolean } = {},
): string[] {
  const nb = opts.nbTemplates ?? BABA_TEMPLATES.length;
  if (!Number.isInteger(nb)) throw new DatasetError(`nbTemplates must be an integer, got ${nb}`);
  const half = Math.floor(nb / 2);
  if (Array.isArray(promptType)) {
    promptType.forEach((t, i) => {
      if (typeof t !== "string") throw new DatasetError(`promptType: template ${i} is ${describe(t)}, not a string`);
    });
    return promptType;
  }
  switch (promptType) {
    case "ABBA":
      return pySliceTo(ABBA_TEMPLATES, nb);
    case "BABA":
      return pySliceTo(opts.useLongTemplate ? BABA_LONG_TEMPLATES : BABA_TEMPLATES, nb);
    case "mixed":
      return rng.shuffle([...pySliceTo(BABA_TEMPLATES, half), ...pySliceTo(ABBA_TEMPLATES, half)]);
    case "ABC":
      return pySliceTo(ABC_TEMPLATES, nb);
    case "BAC":
      return pySliceTo(BAC_TEMPLATES, nb);
    case "ABC mixed":
      return rng.shuffle([...pySliceTo(ABC_TEMPLATES, half), ...pySliceTo(BAC_TEMPLATES, half)]);
    default:
      throw new DatasetError(
        `unknown IOI promptType ${describe(promptType)}: expected one of ${IOI_PROMPT_TYPES.map((t) => JSON.stringify(t)).join(", ")} or a list of templates`,
      );
  }
}

/** Python `gen_prompt_uniform`: N prompts from `templates`, every draw from `rng` in the original's order. */
export function genPromptUniform(
  templates: readonly string[],
  names: readonly string[],
  nounsDict: Readonly<Record<string, readonly string[]>>,
  N: number,
  symmetric: boolean,
  rng: PythonRandom,
  prefixes: readonly string[] | null = null,
  abc = false,
): IOIPrompt[] {
  const prompts: IOIPrompt[] = [];
  let nbGen = 0;
  while (nbGen < N) {
    const temp = rng.choice(templates);
    const tempId = templates.indexOf(temp);
    let name1 = "";
    let name2 = "";
    let name3 = "";
    while (new Set([name1, name2, name3]).size < 3) {
      name1 = rng.choice(names);
      name2 = rng.choice(names);
      name3 = rng.choice(names);
    }
    const prompt: Record<string, unknown> = {};
    const nouns: Record<string, string> = {};
    for (const k of Object.keys(nounsDict)) {
      nouns[k] = rng.choice(nounsDict[k]!);
      prompt[k] = nouns[k];
    }
    let base = temp;
    for (const k of Object.keys(nounsDict)) base = replaceAll(base, k, nouns[k]!);
    let pref = "";
    if (prefixes !== null) {
      const L = rng.randint(30, 40);
      pref = rng.choice(prefixes).split(".").slice(0, L).join(".") + "<|endoftext|>";
    }
    let text1 = replaceAll(replaceAll(base, "[A]", name1), "[B]", name2);
    if (abc) text1 = replaceAll(text1, "[C]", name3);
    prompt.text = pref + text1;
    prompt.IO = name1;
    prompt.S = name2;
    prompt.TEMPLATE_IDX = tempId;
    if (abc) prompt.C = name3;
    prompts.push(prompt as unknown as IOIPrompt);
    nbGen++;
    if (symmetric && nbGen < N) {
      const text2 = replaceAll(replaceAll(base, "[A]", name2), "[B]", name1);
      prompts.push({ text: pref + text2, IO: name2, S: name1, TEMPLATE_IDX: tempId });
      nbGen++;
    }
  }
  return prompts;
}

interface ParsedFlip {
  ABB: [string, string];
  BAB: [string, string];
}

/** Splits "ABB -> XYZ, BAB -> XYZ" as Python does: the first part applies to ABBA prompts, the second to BABA. */
export function parseFlip(flip: string): ParsedFlip {
  const usage = `a flip looks like "ABB -> BAB, BAB -> ABB" or "ABB->XYZ, BAB->XYZ" (the part before the comma applies to ABBA prompts, the part after it to BABA prompts)`;
  if (typeof flip !== "string") throw new DatasetError(`flip must be a string: ${usage}; got ${describe(flip)}`);
  const parts = flip.split(",");
  if (parts.length !== 2) throw new DatasetError(`unknown flip ${JSON.stringify(flip)}: ${usage}`);
  const sides = parts.map((p) => p.split("->").map(pyStrip));
  for (const s of sides) {
    if (s.length !== 2 || s[0] === "" || s[1] === "")
      throw new DatasetError(`unknown flip ${JSON.stringify(flip)}: ${usage}`);
  }
  return { ABB: [sides[0]![0]!, sides[0]![1]!], BAB: [sides[1]![0]!, sides[1]![1]!] };
}

/** Python `gen_flipped_prompts` (cautils version, SPEC §6.2–6.3): rng must be freshly seeded with the flip seed.
 *  Fresh letters draw `rng.choice(sorted(names − the prompt's first three names))`, in `letterOrder`. */
export function genFlippedPrompts(
  prompts: readonly IOIPrompt[],
  templatesByPrompt: readonly string[],
  flip: string,
  names: readonly string[],
  rng: PythonRandom,
  opts: FlipOptions = {},
): IOIPrompt[] {
  const flipDict = parseFlip(flip);
  const nameSet = new Set(names);
  const out: IOIPrompt[] = [];
  prompts.forEach((orig, idx) => {
    const key = templatesByPrompt[idx]!.slice(0, -1);
    if (key !== "ABB" && key !== "BAB")
      throw new DatasetError(
        `templatesByPrompt[${idx}] is ${describe(templatesByPrompt[idx])}, expected "ABBA" or "BABA"`,
      );
    const [flipOrig, flipNew] = flipDict[key];
    const origLetters = Array.from(flipOrig);
    const newLetters = Array.from(flipNew);
    const prompt = { ...orig };
    const split = prompt.text.split(" ");
    const posns: [number, string][] = [];
    for (let i = 0; i < split.length && posns.length < 3; i++) if (nameSet.has(split[i]!)) posns.push([i, split[i]!]);
    if (posns.length === 0)
      throw new DatasetError(`flip: prompt ${idx} has no name from the name list: ${JSON.stringify(prompt.text)}`);
    const origNames = posns.map((p) => p[1]);
    const origKey = new Map<string, string>();
    for (let k = 0; k < Math.min(origNames.length, origLetters.length); k++)
      origKey.set(origLetters[k]!, origNames[k]!);
    if (origKey.size !== new Set(origLetters).size) {
      throw new DatasetError(
        `flip ${JSON.stringify(flip)}: prompt ${idx} (${JSON.stringify(prompt.text)}) does not have the names "${flipOrig}" asks for`,
      );
    }
    const repl = new Map<string, string>();
    for (const [letter, name] of origKey) if (newLetters.includes(letter)) repl.set(letter, name);
    const origSet = new Set(origLetters);
    const fresh = [...new Set(newLetters)].filter((l) => !origSet.has(l));
    if (fresh.length > 0) {
      const origNameSet = new Set(origNames);
      const choices = names.filter((n, i) => !origNameSet.has(n) && names.indexOf(n) === i).sort(cmpCodePoints);
      for (const letter of orderLetters(fresh, opts.letterOrder)) repl.set(letter, rng.choice(choices));
    }
    for (let k = 0; k < Math.min(posns.length, newLetters.length); k++) split[posns[k]![0]] = repl.get(newLetters[k]!)!;
    prompt.text = split.join(" ");
    prompt.S = repl.get(newLetters[newLetters.length - 1]!)!;
    const possibleIOs = newLetters
      .slice(0, 2)
      .filter((l) => newLetters.filter((m) => m === l).length === 1)
      .map((l) => repl.get(l)!);
    if (possibleIOs.length === 1) prompt.IO = possibleIOs[0]!;
    else {
      if (newLetters.length < 2)
        throw new DatasetError(`flip ${JSON.stringify(flip)}: "${flipNew}" needs at least two letters`);
      prompt.IO = repl.get(newLetters[1]!)!;
    }
    out.push(prompt);
  });
  return out;
}

function orderLetters(fresh: string[], letterOrder: string | undefined): string[] {
  if (letterOrder === undefined) return [...fresh].sort(cmpCodePoints);
  const order = Array.from(letterOrder);
  for (const l of fresh) {
    if (!order.includes(l))
      throw new DatasetError(
        `letterOrder ${JSON.stringify(letterOrder)} does not contain the fresh letter ${JSON.stringify(l)}`,
      );
  }
  return order.filter((l, i) => fresh.includes(l) && order.indexOf(l) === i);
}

/** The flip seed: the dataset's seed plus the sum of the flip string's code points (SPEC §6.1). */
export function flipSeed(seed: number, flip: string): number {
  let s = seed;
  for (const c of flip) s += c.codePointAt(0)!;
  return s;
}

// ---------- word indices ----------

function indexOrThrow(toks: number[], id: number, what: string, text: string): number {
  const i = toks.indexOf(id);
  if (i < 0)
    throw new DatasetError(
      `IOIDataset: the ${what} token (id ${id}) is not in the prompt ${JSON.stringify(text)} without its last word`,
    );
  return i;
}

/** Python `get_idx_dict`: IO / S1 / S2 from the tokens of the text without its last word (+1 with BOS); end from
 *  the padded rows; punct = the last "." token if the text has a ".", else the last "," (never shifted by BOS). */
export function getIdxDict(
  prompts: readonly IOIPrompt[],
  tok: Tokenizer,
  prependBos: boolean,
  rows: number[][],
  width: number,
): WordIdx {
  const b = prependBos ? 1 : 0;
  const IO: number[] = [];
  const S1: number[] = [];
  const S2: number[] = [];
  for (const p of prompts) {
    const pre = tok.encode(p.text.split(" ").slice(0, -1).join(" "));
    const io = tok.encode(" " + p.IO)[0]!;
    const s = tok.encode(" " + p.S)[0]!;
    IO.push(indexOrThrow(pre, io, "IO", p.text) + b);
    S1.push(indexOrThrow(pre, s, "S", p.text) + b);
    S2.push(pre.lastIndexOf(s) + b);
  }
  const end = getEndIdxs(rows, width, tok, prependBos);
  const punct = prompts.map((p) => punctIdx(p.text, tok));
  return {
    IO,
    "IO-1": IO.map((x) => x - 1),
    "IO+1": IO.map((x) => x + 1),
    S1,
    "S1-1": S1.map((x) => x - 1),
    "S1+1": S1.map((x) => x + 1),
    S2,
    end,
    starts: end.map(() => 0),
    punct,
  };
}

/** Python `get_end_idxs` (name_tok_len 1): the first pad token after the optional BOS, minus 2 (row width minus 2
 *  when a row has no pad after position 0), with the original's format check. */
function getEndIdxs(rows: number[][], width: number, tok: Tokenizer, prependBos: boolean): number[] {
  const pad = tok.padTokenId ?? tok.eosTokenId;
  const relevant = prependBos && tok.eosTokenId === pad ? 1 : 0;
  return rows.map((row, r) => {
    let raw: number;
    if (pad === null || !row.slice(1).includes(pad)) raw = width;
    else {
      const pads = row.flatMap((t, i) => (t === pad ? [i] : []));
      if (relevant >= pads.length) throw new DatasetError(`IOIDataset: cannot find the end of row ${r}`);
      raw = pads[relevant]!;
    }
    const end = raw - 2;
    const at = (i: number) => {
      if (i < -width || i >= width)
        throw new DatasetError(
          `IOIDataset: the END index of row ${r} is not properly formatted (end ${end}, width ${width})`,
        );
      return row[i < 0 ? i + width : i];
    };
    if (!(at(end + 1) !== 0 && (width === end + 2 || at(end + 2) === pad))) {
      throw new DatasetError(`IOIDataset: the END index of row ${r} is not properly formatted (end ${end})`);
    }
    return end;
  });
}

/** Python `get_word_idxs(prompts, [",", "."])` for one prompt. */
function punctIdx(text: string, tok: Tokenizer): number {
  const strs = tok.encode(text).map((id) => tok.idToString(id));
  let idx: number | null = null;
  for (const w of [",", "."]) {
    if (text.includes(w)) {
      const first = strs.indexOf(w);
      if (first < 0)
        throw new DatasetError(
          `IOIDataset: ${JSON.stringify(w)} is in the prompt ${JSON.stringify(text)} but not as a token of its own`,
        );
      idx = strs.lastIndexOf(w);
    }
  }
  if (idx === null) throw new DatasetError(`IOIDataset: the prompt ${JSON.stringify(text)} has neither "," nor "."`);
  return idx;
}

// ---------- the dataset ----------

/**
 * The IOI dataset (ARENA / cautils `IOIDataset`), bit-exact with the Python generator.
 *
 * ```ts
 * const ds = new IOIDataset({ promptType: "mixed", N: 100, seed: 1 });
 * ds.sentences[0];           // "When Victoria and Jane got a snack at the store, Jane decided to give it to Victoria"
 * ds.toks;                   // int32 [100, 21], right-padded with 50256
 * ds.wordIdx.end;            // position of " to" before the answer, per prompt
 * const abc = ds.genFlippedPrompts("ABB->XYZ, BAB->XYZ");
 * ```
 */
export class IOIDataset {
  readonly N: number;
  readonly seed: number;
  readonly promptType: IOIPromptType | (string & {}) | string[];
  readonly prependBos: boolean;
  readonly hasBeenFlipped: boolean;
  readonly prefixes: string[] | null;
  readonly tokenizer: Tokenizer;
  /** The template list (shuffled with the seed for "mixed" and "ABC mixed"). */
  readonly templates: string[];
  readonly ioiPrompts: IOIPrompt[];
  /** `ioiPrompts[i].text`. */
  readonly sentences: string[];
  /** "ABBA" if the IO name occurs before S in the text (a raw substring search, as in Python), else "BABA". */
  readonly templatesByPrompt: ("ABBA" | "BABA")[];
  /** Prompt indices by TEMPLATE_IDX, in the order of Python's `set` of the ids (ascending for the usual sizes). */
  readonly groups: number[][];
  /** int32 [N, L]: (BOS +) tokens of each text, right-padded with the pad token. */
  readonly toks: Tensor;
  /** Token positions: IO, IO-1, IO+1, S1, S1-1, S1+1, S2, end, starts, punct (inherited unchanged by flips). */
  readonly wordIdx: WordIdx;
  /** The longest prompt in tokens, without BOS. */
  readonly maxLen: number;
  /** First token of " " + IO / " " + S, per prompt. */
  readonly ioTokenIDs: number[];
  readonly sTokenIDs: number[];
  /** Each row of toks as "tok|tok|…" (padding included). */
  readonly tokenizedPrompts: string[];

  constructor(opts: IOIDatasetOptions) {
    if (opts === null || typeof opts !== "object")
      throw new DatasetError('IOIDataset: pass an options object, e.g. { promptType: "mixed", N: 100 }');
    const N = opts.N ?? 500;
    const seed = opts.seed ?? 0;
    const symmetric = opts.symmetric ?? false;
    const prependBos = opts.prependBos ?? false;
    if (!Number.isSafeInteger(N) || N < 1)
      throw new DatasetError(`IOIDataset: N must be a positive integer, got ${String(N)}`);
    // A seed given by the user: 0 .. 2**32 - 1, as the Python original also seeds numpy (np.random.seed takes no
    // more). A flip's seed (seed + the flip string's code points) may pass 2**32: it seeds Python's random only
    // (CPython keys MT19937 with its two 32-bit words, as PythonRandom does); numpy is not used by the generator.
    const maxSeed = opts.hasBeenFlipped ? Number.MAX_SAFE_INTEGER : 0xffffffff;
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > maxSeed) {
      throw new DatasetError(
        `IOIDataset: seed must be an integer between 0 and 2**32 - 1 (as numpy's seed), got ${String(seed)}`,
      );
    }
    const rng = new PythonRandom(seed);
    this.seed = seed;
    this.hasBeenFlipped = opts.hasBeenFlipped ?? false;
    if (symmetric && opts.promptType === "ABC")
      throw new DatasetError('IOIDataset: symmetric is not possible with promptType "ABC"');
    if (opts.prompts === undefined && symmetric && N % 2 !== 0)
      throw new DatasetError(`IOIDataset: symmetric needs an even N, got ${N}`);
    this.promptType = opts.promptType;
    this.templates = ioiTemplates(opts.promptType, rng, opts);
    const tok = opts.tokenizer ?? gpt2Tokenizer();
    this.tokenizer = tok;
    this.prefixes = opts.prefixes ?? null;
    if (opts.prompts === undefined) {
      const abc = opts.promptType === "ABC" || opts.promptType === "ABC mixed" || opts.promptType === "BAC";
      this.ioiPrompts = genPromptUniform(
        this.templates,
        NAMES,
        { "[PLACE]": PLACES, "[OBJECT]": OBJECTS },
        N,
        symmetric,
        rng,
        this.prefixes,
        abc,
      );
    } else {
      if (!Array.isArray(opts.prompts)) throw new DatasetError("IOIDataset: prompts must be a list of prompt objects");
      if (opts.prompts.length !== N)
        throw new DatasetError(`IOIDataset: N = ${N} but ${opts.prompts.length} prompts were given`);
      opts.prompts.forEach((p, i) => {
        if (
          !p ||
          typeof p.text !== "string" ||
          typeof p.IO !== "string" ||
          typeof p.S !== "string" ||
          !Number.isSafeInteger(p.TEMPLATE_IDX)
        ) {
          throw new DatasetError(`IOIDataset: prompt ${i} needs string text, IO, S and an integer TEMPLATE_IDX`);
        }
      });
      this.ioiPrompts = [...opts.prompts];
    }
    const prompts = this.ioiPrompts;

    const ids = prompts.map((p) => p.TEMPLATE_IDX);
    this.groups = pythonIntSetOrder(ids).map((id) => ids.flatMap((x, i) => (x === id ? [i] : [])));
    this.sentences = prompts.map((p) => p.text);
    this.templatesByPrompt = prompts.map((p, i) => {
      const a = p.text.indexOf(p.IO);
      const b = p.text.indexOf(p.S);
      if (a < 0 || b < 0)
        throw new DatasetError(
          `IOIDataset: prompt ${i} does not contain its ${a < 0 ? "IO" : "S"} name: ${JSON.stringify(p.text)}`,
        );
      return a < b ? "ABBA" : "BABA";
    });

    if (prependBos && tok.bosTokenId === null)
      throw new DatasetError("IOIDataset: prependBos needs a tokenizer with a BOS token");
    const rows = prompts.map((p) => (prependBos ? [tok.bosTokenId!, ...tok.encode(p.text)] : tok.encode(p.text)));
    const width = rows.reduce((m, r) => Math.max(m, r.length), 0);
    const pad = tok.padTokenId ?? tok.eosTokenId;
    if (pad === null && rows.some((r) => r.length !== width))
      throw new DatasetError("IOIDataset: the tokenizer has no pad token to pad the prompts");
    const flat = new Int32Array(N * width).fill(pad ?? 0);
    rows.forEach((r, i) => flat.set(r, i * width));
    this.toks = Tensor.fromTypedArray(flat, [N, width]);
    const padded = rows.map((r) =>
      r.length === width ? r : [...r, ...new Array<number>(width - r.length).fill(pad!)],
    );

    // Python computes word_idx even when a manual one replaces it (so its errors surface the same way)
    const computed = getIdxDict(prompts, tok, prependBos, padded, width);
    this.prependBos = prependBos;
    this.wordIdx = opts.manualWordIdx ? copyWordIdx(opts.manualWordIdx) : computed;
    this.N = N;
    this.maxLen = prompts.reduce((m, p) => Math.max(m, tok.encode(p.text).length), 0);
    this.ioTokenIDs = prompts.map((p) => tok.encode(" " + p.IO)[0]!);
    this.sTokenIDs = prompts.map((p) => tok.encode(" " + p.S)[0]!);
    this.tokenizedPrompts = padded.map((r) => r.map((id) => tok.idToString(id)).join("|"));
  }

  /** `len(dataset)`. */
  get length(): number {
    return this.N;
  }

  /** `wordIdx[key]` as an int32 tensor [N] (for indexing activations). */
  wordIdxTensor(key: WordIdxKey | string): Tensor {
    const v = this.wordIdx[key];
    if (!v)
      throw new DatasetError(
        `unknown word_idx key ${JSON.stringify(key)}: expected one of ${Object.keys(this.wordIdx).join(", ")}`,
      );
    return Tensor.fromTypedArray(Int32Array.from(v), [v.length]);
  }

  /** ioTokenIDs / sTokenIDs as int32 tensors [N]. */
  get ioTokenIDsTensor(): Tensor {
    return Tensor.fromTypedArray(Int32Array.from(this.ioTokenIDs), [this.N]);
  }
  get sTokenIDsTensor(): Tensor {
    return Tensor.fromTypedArray(Int32Array.from(this.sTokenIDs), [this.N]);
  }

  /**
   * Python `gen_flipped_prompts(flip)`: re-seeds with `seed + sum(code points of flip)` and rewrites the first
   * three name words of every prompt. The part before the comma applies to ABBA prompts, the part after to BABA:
   *  - "ABB -> BAB, BAB -> ABB": swaps the first two names (no draws; IO and S unchanged);
   *  - "ABB->XYZ, BAB->XYZ": three fresh names, each drawn (with replacement) from the sorted names other than
   *    the prompt's own, in letter order X, Y, Z (the cautils rule, SPEC §6.3; `opts.letterOrder` to change it);
   *  - any other letters work the same way (kept letters keep their name, new letters draw one).
   * The result keeps this dataset's wordIdx (manual_word_idx) and gets the flip seed as its seed.
   */
  genFlippedPrompts(flip: string, opts: FlipOptions = {}): IOIDataset {
    parseFlip(flip);
    if (this.hasBeenFlipped) {
      console.warn(
        "This dataset has already been flipped. Generally, you should try and apply flips in one step, because this can lead to errors.",
      );
    }
    const seed = flipSeed(this.seed, flip);
    const flipped = genFlippedPrompts(
      this.ioiPrompts,
      this.templatesByPrompt,
      flip,
      NAMES,
      new PythonRandom(seed),
      opts,
    );
    return new IOIDataset({
      promptType: this.promptType,
      N: this.N,
      tokenizer: this.tokenizer,
      prompts: flipped,
      prefixes: this.prefixes ?? undefined,
      prependBos: this.prependBos,
      manualWordIdx: this.wordIdx,
      hasBeenFlipped: true,
      seed,
    });
  }

  /** Python `copy()`. Like the original it passes only promptType, N, tokenizer, prompts and prefixes, so the copy
   *  has seed 0 and prependBos false and recomputes wordIdx. */
  copy(): IOIDataset {
    return new IOIDataset({
      promptType: this.promptType,
      N: this.N,
      tokenizer: this.tokenizer,
      prompts: [...this.ioiPrompts],
      prefixes: this.prefixes ? [...this.prefixes] : undefined,
    });
  }

  /** Python `dataset[start:stop]` (negative indices count from the end). Like the original, the slice keeps
   *  prependBos but has seed 0 and recomputes wordIdx from its prompts. */
  slice(start?: number, stop?: number): IOIDataset {
    const prompts = this.ioiPrompts.slice(start, stop);
    if (prompts.length === 0) throw new DatasetError(`IOIDataset.slice(${start}, ${stop}) is empty`);
    return new IOIDataset({
      promptType: this.promptType,
      N: prompts.length,
      tokenizer: this.tokenizer,
      prompts,
      prefixes: this.prefixes ?? undefined,
      prependBos: this.prependBos,
    });
  }
}

function copyWordIdx(w: WordIdx): WordIdx {
  if (!w || typeof w !== "object") throw new DatasetError("manualWordIdx must be an object of number arrays");
  const out: WordIdx = {};
  for (const [k, v] of Object.entries(w)) {
    if (!Array.isArray(v)) throw new DatasetError(`manualWordIdx.${k} must be an array of positions`);
    out[k] = [...v];
  }
  return out;
}
