// einsum patterns: einops / fancy_einsum spaced names ("batch pos d_model, d_model d_head -> batch pos d_head") or
// torch's compact letters ("bij,bjk->bik"), read into one term per operand (and the output).
import { ShapeError } from "../errors.js";
import { NAME_RE } from "./axis-names.js";

export interface Term {
  /** names in order; "..." is kept as the token "..." until expanded */
  tokens: string[];
  text: string;
}

function tokenizeSpaced(text: string, where: string): string[] {
  const out: string[] = [];
  const re = /\.\.\.|[A-Za-z_][A-Za-z0-9_]*|\S/g;
  for (const m of text.matchAll(re)) {
    const tok = m[0];
    if (tok !== "..." && !NAME_RE.test(tok)) {
      throw new ShapeError(
        `einsum: unexpected "${tok}" in ${where} "${text.trim()}" (axis names are identifiers separated by spaces; parentheses are not supported in einsum)`,
      );
    }
    out.push(tok);
  }
  return out;
}

function tokenizeCompact(text: string): string[] | null {
  const out: string[] = [];
  const s = text.trim();
  for (let i = 0; i < s.length;) {
    if (s.startsWith("...", i)) {
      out.push("...");
      i += 3;
      continue;
    }
    if (!/[A-Za-z]/.test(s[i]!)) return null;
    out.push(s[i]!);
    i++;
  }
  return out;
}

export interface ParsedEinsum {
  inputs: Term[];
  output: Term | null;
}

export function parseEinsum(pattern: string, ranks: number[]): ParsedEinsum {
  const arrow = pattern.split("->");
  if (arrow.length > 2) throw new ShapeError(`einsum: the pattern "${pattern}" has more than one "->"`);
  const inputTexts = arrow[0]!.split(",");
  const outputText = arrow.length === 2 ? arrow[1] : null;
  if (inputTexts.length !== ranks.length) {
    throw new ShapeError(
      `einsum: the pattern "${pattern}" names ${inputTexts.length} operand${inputTexts.length === 1 ? "" : "s"} but ${ranks.length} ${ranks.length === 1 ? "was" : "were"} given`,
    );
  }
  const all: string[] = outputText === null ? inputTexts : [...inputTexts, outputText!];
  // torch-style compact terms ("bij,bjk->bik"): no whitespace inside any term, letters and "..." only, and
  // the operand ranks fit one letter per dim. Anything else reads as space-separated names.
  const noInnerSpace = all.every((t) => !/\S\s+\S/.test(t!.trim()));
  let compact: string[][] | null = null;
  if (noInnerSpace) {
    const toks = all.map(tokenizeCompact);
    if (toks.every((t) => t !== null)) {
      const fits = inputTexts.every((_, i) => rankFits(toks[i]!, ranks[i]!));
      const spacedFits = inputTexts.every((t, i) => rankFits(tokenizeSpaced(t, "operand"), ranks[i]!));
      if (fits || !spacedFits) compact = toks as string[][];
    }
  }
  const tokenized =
    compact ?? all.map((t, i) => tokenizeSpaced(t!, i < inputTexts.length ? `operand ${i}` : "the output"));
  const terms = tokenized.map((tokens, i) => ({ tokens, text: all[i]!.trim() }));
  for (const t of terms) {
    if (t.tokens.filter((x) => x === "...").length > 1)
      throw new ShapeError(`einsum: "${t.text}" has more than one "..."`);
  }
  return { inputs: terms.slice(0, inputTexts.length), output: outputText === null ? null : terms[inputTexts.length]! };
}

function rankFits(tokens: string[], rank: number): boolean {
  const named = tokens.filter((t) => t !== "...").length;
  return tokens.includes("...") ? rank >= named : rank === named;
}
