// The tokenizer contract shared by every tokenizer (GPT-2 BPE now, llama2.c's later). Plain ids in, plain ids
// out: BOS policy, padding and tensors live in the functions of ./tokens.ts, which take any Tokenizer.

export interface Tokenizer {
  /** Number of token ids, special tokens included (valid ids are 0 .. vocabSize-1). */
  readonly vocabSize: number;
  /** The id prepended when `prependBos` is on (null: the tokenizer has none). */
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  /** The id used to pad a batch of strings to one length (null: none). */
  readonly padTokenId: number | null;
  /** Text → ids, with no BOS added. Special tokens written in the text (GPT-2: `<|endoftext|>`) become their
   *  id, as Hugging Face tokenizers do by default. */
  encode(text: string): number[];
  /** Ids → text. Bytes that do not form valid UTF-8 become U+FFFD, as HF's `decode` does. Throws
   *  `TokenizerError` for an id outside 0 .. vocabSize-1. */
  decode(ids: number[]): string;
  /** One id → its text, decoded on its own (a token holding part of a multi-byte character gives "\uFFFD",
   *  as TransformerLens's `to_str_tokens` shows it). Throws `TokenizerError` for an id out of range. */
  idToString(id: number): string;
}
