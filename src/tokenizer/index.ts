// The tokenizer layer's public surface.
export type { Tokenizer } from "./types.js";
export { BpeTokenizer, parseTiktokenRanks, type BpeDefinition } from "./bpe.js";
export { Llama2cTokenizer, LLAMA2C_BOS, LLAMA2C_EOS, LLAMA2C_UNK } from "./llama2c.js";
export { gpt2Tokenizer, GPT2_ENDOFTEXT, GPT2_PATTERN_SOURCE } from "./gpt2.js";
export {
  toTokens,
  toStrTokens,
  tokensToString,
  toSingleToken,
  getTokenPosition,
  encodeText,
  padRows,
  readTokenIds,
  type ToTokensOptions,
  type TokenizedInput,
  type TokenIdsInput,
  type ToStrTokensInput,
  type GetTokenPositionOptions,
} from "./tokens.js";
export { HfTokenizer, type HfTokenizerOptions } from "./hf.js";
