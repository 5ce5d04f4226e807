// TransformerLens's string ↔ token helpers (HookedTransformer.to_tokens, to_str_tokens, to_string,
// to_single_token, get_token_position), as functions of a Tokenizer. The model wraps them as
// `model.toTokens(...)` etc., passing its own defaults (prependBos, paddingSide, maxLength = n_ctx).
import { TokenizerError } from "../errors.js";
import { Tensor } from "../tensor/index.js";
import type { Tokenizer } from "./types.js";

export interface ToTokensOptions {
  /** Prepend the BOS token to each string (TL's default: true). */
  prependBos?: boolean;
  /** Where pad tokens go when strings of a batch differ in length (default "right", as TL). */
  paddingSide?: "left" | "right";
  /** Cut each row to `maxLength` tokens, BOS included, keeping the start (default true; has an effect only
   *  when `maxLength` is given — the model passes n_ctx, as TL does). */
  truncate?: boolean;
  maxLength?: number;
}

export interface TokenizedInput {
  /** int32 [batch, pos] */
  tokens: Tensor;
  /** int32 [batch, pos]: 1 for real tokens (BOS included), 0 for padding. */
  attentionMask: Tensor;
}

/** Token inputs accepted where ids are read: a Tensor (int32, or float holding integers), ids, or rows of ids. */
export type TokenIdsInput = Tensor | number[] | number[][];

function checkOptions(opts: ToTokensOptions): void {
  if (opts.paddingSide !== undefined && opts.paddingSide !== "left" && opts.paddingSide !== "right") {
    throw new TokenizerError(`paddingSide must be "left" or "right", got ${JSON.stringify(opts.paddingSide)}`);
  }
  if (opts.maxLength !== undefined && !(Number.isInteger(opts.maxLength) && opts.maxLength > 0)) {
    throw new TokenizerError(`maxLength must be a positive integer, got ${opts.maxLength}`);
  }
}

/** The ids of one string as TL's to_tokens makes them: [BOS] + encode(text) when prependBos (default true),
 *  cut to maxLength when truncate is on. */
export function encodeText(tok: Tokenizer, text: string, opts: ToTokensOptions = {}): number[] {
  if (typeof text !== "string") throw new TokenizerError(`expected a string to tokenize, got ${describe(text)}`);
  checkOptions(opts);
  const ids = tok.encode(text);
  if (opts.prependBos ?? true) {
    if (tok.bosTokenId === null) {
      throw new TokenizerError("prependBos: this tokenizer has no BOS token; pass prependBos: false");
    }
    ids.unshift(tok.bosTokenId);
  }
  if ((opts.truncate ?? true) && opts.maxLength !== undefined && ids.length > opts.maxLength)
    ids.length = opts.maxLength;
  return ids;
}

/** TL's `to_tokens`: a string → batch 1; a list of strings → one row each, padded with the pad token to the
 *  longest (right by default). Returns int32 tokens [batch, pos] and the attention mask (1 = real token). */
export function toTokens(tok: Tokenizer, input: string | string[], opts: ToTokensOptions = {}): TokenizedInput {
  checkOptions(opts);
  let texts: string[];
  if (typeof input === "string") texts = [input];
  else if (Array.isArray(input)) {
    if (input.length === 0) throw new TokenizerError("toTokens: the list of strings is empty");
    input.forEach((s, i) => {
      if (typeof s !== "string")
        throw new TokenizerError(`toTokens: element ${i} of the list is ${describe(s)}, not a string`);
    });
    texts = input;
  } else {
    throw new TokenizerError(`toTokens: expected a string or a list of strings, got ${describe(input)}`);
  }
  const rows = texts.map((t) => encodeText(tok, t, opts));
  return padRows(tok, rows, opts.paddingSide ?? "right");
}

/** Pads rows of ids to one length with the tokenizer's pad token (EOS when it has none) and builds the mask. */
export function padRows(tok: Tokenizer, rows: number[][], paddingSide: "left" | "right" = "right"): TokenizedInput {
  const batch = rows.length;
  const len = rows.reduce((m, r) => Math.max(m, r.length), 0);
  const tokens = new Int32Array(batch * len);
  const mask = new Int32Array(batch * len);
  const needsPad = rows.some((r) => r.length !== len);
  const pad = tok.padTokenId ?? tok.eosTokenId;
  if (needsPad && pad === null) {
    throw new TokenizerError(
      "toTokens: the strings differ in length and this tokenizer has no pad (or EOS) token to pad them",
    );
  }
  rows.forEach((r, b) => {
    const start = b * len + (paddingSide === "left" ? len - r.length : 0);
    const padStart = b * len + (paddingSide === "left" ? 0 : r.length);
    tokens.fill(pad ?? 0, padStart, padStart + len - r.length);
    tokens.set(r, start);
    mask.fill(1, start, start + r.length);
  });
  return {
    tokens: Tensor.fromTypedArray(tokens, [batch, len]),
    attentionMask: Tensor.fromTypedArray(mask, [batch, len]),
  };
}

/** Reads token ids: a Tensor of rank 0/1/2 (int32, or float holding integers), number[] or number[][]. Each id is
 *  checked against the vocabulary. `rank2` tells whether the input had a batch dimension. */
export function readTokenIds(
  tok: Tokenizer,
  input: TokenIdsInput,
  what = "tokens",
): { rows: number[][]; rank2: boolean } {
  let rows: number[][];
  let rank2: boolean;
  if (input instanceof Tensor) {
    if (input.dtype === "bool") throw new TokenizerError(`${what}: a bool tensor is not token ids`);
    if (input.ndim > 2) {
      throw new TokenizerError(
        `${what}: token tensors must be [pos] or [batch, pos], got shape [${input.shape.join(", ")}]`,
      );
    }
    const flat = Array.from(input.dataSync());
    if (input.ndim === 2) {
      const [b, p] = input.shape as [number, number];
      rows = Array.from({ length: b }, (_, i) => flat.slice(i * p, (i + 1) * p));
      rank2 = true;
    } else {
      rows = [flat];
      rank2 = false;
    }
  } else if (Array.isArray(input)) {
    if (input.length > 0 && Array.isArray(input[0])) {
      const arr = input as unknown[];
      arr.forEach((r, i) => {
        if (!Array.isArray(r))
          throw new TokenizerError(`${what}: element ${i} is ${describe(r)}, expected a list of ids like the others`);
      });
      rows = (input as number[][]).map((r) => [...r]);
      rank2 = true;
    } else {
      rows = [[...(input as number[])]];
      rank2 = false;
    }
  } else {
    throw new TokenizerError(
      `${what}: expected a Tensor, a list of ids or a list of lists of ids, got ${describe(input)}`,
    );
  }
  rows.forEach((r, b) => r.forEach((id, p) => checkId(tok, id, rank2 ? `${what}[${b}][${p}]` : `${what}[${p}]`)));
  return { rows, rank2 };
}

function checkId(tok: Tokenizer, id: unknown, where: string): void {
  if (typeof id !== "number" || !Number.isInteger(id)) {
    throw new TokenizerError(`${where} = ${String(id)} is not an integer token id`);
  }
  if (id < 0 || id >= tok.vocabSize) {
    throw new TokenizerError(
      `${where} = ${id} is out of range: the vocabulary has ${tok.vocabSize} tokens (ids 0..${tok.vocabSize - 1})`,
    );
  }
}

export type ToStrTokensInput = string | string[] | TokenIdsInput;

/** TL's `to_str_tokens`: each token as its own string (the BOS shows as "<|endoftext|>").
 *  - a string → its tokens as `toTokens` makes them (prependBos default true);
 *  - a list of strings → one list per string (each tokenized on its own, no padding);
 *  - ids: number[] or a 1-D tensor → one list; a [1, pos] tensor or one-row number[][] → one list (TL squeezes
 *    the batch dimension); a [batch > 1, pos] tensor or number[][] → one list per row (TL asserts here;
 *    tlens decodes each row, pad tokens included). prependBos does not apply to ids. */
export function toStrTokens(tok: Tokenizer, input: string, opts?: { prependBos?: boolean }): string[];
export function toStrTokens(tok: Tokenizer, input: string[], opts?: { prependBos?: boolean }): string[][];
export function toStrTokens(tok: Tokenizer, input: number[], opts?: { prependBos?: boolean }): string[];
export function toStrTokens(
  tok: Tokenizer,
  input: ToStrTokensInput,
  opts?: { prependBos?: boolean },
): string[] | string[][];
export function toStrTokens(
  tok: Tokenizer,
  input: ToStrTokensInput,
  opts: { prependBos?: boolean } = {},
): string[] | string[][] {
  if (typeof input === "string") return encodeText(tok, input, opts).map((id) => tok.idToString(id));
  if (Array.isArray(input) && input.length > 0 && typeof input[0] === "string") {
    return (input as unknown[]).map((s, i) => {
      if (typeof s !== "string")
        throw new TokenizerError(`toStrTokens: element ${i} of the list is ${describe(s)}, not a string`);
      return encodeText(tok, s, opts).map((id) => tok.idToString(id));
    });
  }
  const { rows, rank2 } = readTokenIds(tok, input as TokenIdsInput, "toStrTokens");
  const strs = rows.map((r) => r.map((id) => tok.idToString(id)));
  return rank2 && rows.length !== 1 ? strs : strs[0]!;
}

/** TL's `to_string`: ids → text. A 1-D tensor / number[] gives one string; a [batch, pos] tensor / number[][]
 *  gives one string per row. Special tokens are kept ("<|endoftext|>"), no clean-up of spaces. */
export function tokensToString(tok: Tokenizer, tokens: number[]): string;
export function tokensToString(tok: Tokenizer, tokens: number[][]): string[];
export function tokensToString(tok: Tokenizer, tokens: TokenIdsInput): string | string[];
export function tokensToString(tok: Tokenizer, tokens: TokenIdsInput): string | string[] {
  const { rows, rank2 } = readTokenIds(tok, tokens, "tokensToString");
  const strs = rows.map((r) => tok.decode(r));
  return rank2 ? strs : strs[0]!;
}

/** TL's `to_single_token`: the id of a string that is exactly one token (no BOS). Throws TokenizerError
 *  naming the tokens otherwise. */
export function toSingleToken(tok: Tokenizer, s: string): number {
  if (typeof s !== "string") throw new TokenizerError(`toSingleToken: expected a string, got ${describe(s)}`);
  const ids = tok.encode(s);
  if (ids.length !== 1) {
    const strs = ids.map((id) => JSON.stringify(tok.idToString(id)));
    throw new TokenizerError(
      `toSingleToken: ${JSON.stringify(s)} is not a single token: it is ${ids.length} tokens` +
        (ids.length ? ` [${strs.join(", ")}] (ids [${ids.join(", ")}])` : ""),
    );
  }
  return ids[0]!;
}

export interface GetTokenPositionOptions {
  /** "first" (default) or "last" occurrence. */
  mode?: "first" | "last";
  /** Used when `input` is a string (default true, as TL). */
  prependBos?: boolean;
}

/** TL's `get_token_position`: the position of `singleToken` (a one-token string or an id) in `input` (a string,
 *  tokenized with toTokens, or ids: 1-D, or 2-D with batch 1). Throws TokenizerError if it does not occur. */
export function getTokenPosition(
  tok: Tokenizer,
  singleToken: string | number,
  input: string | TokenIdsInput,
  opts: GetTokenPositionOptions = {},
): number {
  const mode = opts.mode ?? "first";
  if (mode !== "first" && mode !== "last")
    throw new TokenizerError(`getTokenPosition: mode must be "first" or "last", got ${JSON.stringify(mode)}`);
  let ids: number[];
  if (typeof input === "string") ids = encodeText(tok, input, { prependBos: opts.prependBos });
  else {
    const { rows, rank2 } = readTokenIds(tok, input, "getTokenPosition");
    if (rank2 && rows.length !== 1) {
      throw new TokenizerError(`getTokenPosition: tokens of rank two must have batch size 1, got ${rows.length} rows`);
    }
    ids = rows[0]!;
  }
  let id: number;
  if (typeof singleToken === "string") id = toSingleToken(tok, singleToken);
  else {
    checkId(tok, singleToken, "getTokenPosition: singleToken");
    id = singleToken;
  }
  const pos = mode === "first" ? ids.indexOf(id) : ids.lastIndexOf(id);
  if (pos < 0) {
    throw new TokenizerError(
      `getTokenPosition: the token ${JSON.stringify(tok.idToString(id))} (id ${id}) does not occur in the prompt`,
    );
  }
  return pos;
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  if (x instanceof Tensor) return `a tensor of shape [${x.shape.join(", ")}]`;
  return typeof x === "object" ? "an object" : `${typeof x} ${String(x)}`;
}
