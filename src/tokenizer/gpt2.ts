// GPT-2's tokenizer (HF "gpt2" / TransformerLens gpt2-small), offline: the ranks ship inside js-tiktoken
// (`js-tiktoken/ranks/gpt2`, the 50,256 byte-level BPE tokens of GPT-2's encoder.json/vocab.bpe), plus
// `<|endoftext|>` = 50256, which is BOS, EOS and PAD as TransformerLens sets them for GPT-2.
import gpt2Ranks from "js-tiktoken/ranks/gpt2";
import { BpeTokenizer, parseTiktokenRanks } from "./bpe.js";
import type { Tokenizer } from "./types.js";

export const GPT2_ENDOFTEXT = 50256;

/** GPT-2's pre-tokenizer. The original is
 *    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *  where `\s` is Unicode White_Space (Oniguruma in HF tokenizers, `regex` in the slow tokenizer, Rust in
 *  tiktoken). JavaScript's `\s` differs (it lacks U+0085 and adds U+FEFF), so `\s` is spelled out here. */
const WS = "\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
export const GPT2_PATTERN_SOURCE = `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`;

let cached: Tokenizer | undefined;

/** The GPT-2 tokenizer (built once, then shared). vocabSize 50257; BOS = EOS = PAD = 50256 (`<|endoftext|>`). */
export function gpt2Tokenizer(): Tokenizer {
  if (!cached) {
    const ranks = parseTiktokenRanks(gpt2Ranks.bpe_ranks);
    cached = new BpeTokenizer({
      ranks,
      specialTokens: { "<|endoftext|>": GPT2_ENDOFTEXT },
      pattern: new RegExp(GPT2_PATTERN_SOURCE, "gu"),
      vocabSize: GPT2_ENDOFTEXT + 1,
      bosTokenId: GPT2_ENDOFTEXT,
      eosTokenId: GPT2_ENDOFTEXT,
      padTokenId: GPT2_ENDOFTEXT,
    });
  }
  return cached;
}
