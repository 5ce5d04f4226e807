// Tokenizers from a Hugging Face `tokenizer.json` (+ `tokenizer_config.json`): byte-level BPE (GPT-NeoX, Qwen2,
// Llama-3) and SentencePiece-style BPE with byte fallback (Llama-2, Mistral, Gemma), run by Hugging Face's own
// JavaScript port (`@huggingface/tokenizers`, Apache-2.0, no dependencies) behind tlens's Tokenizer interface.
// Pure (no Node built-ins): the caller reads the files (`readHfTokenizerDir` in ./hf-files.ts).
//
// Chat-free defaults: `encode` never adds special tokens (the post-processor's BOS/EOS templates are off, no chat
// template is applied); BOS is added by `toTokens`'s prependBos, like every tokenizer here.
import { Tokenizer as HfLibTokenizer } from "@huggingface/tokenizers";
import { TokenizerError } from "../errors.js";
import type { Tokenizer } from "./types.js";

export interface HfTokenizerOptions {
  /** Parsed `tokenizer_config.json` (optional: bos/eos/pad token strings, clean_up_tokenization_spaces). */
  tokenizerConfig?: unknown;
  /** Ids from the model's config.json, used when tokenizer_config.json does not name the token. */
  bosTokenId?: number | null;
  eosTokenId?: number | null;
  padTokenId?: number | null;
  /** Where the files came from, for error messages. */
  source?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A special token as tokenizer_config.json writes it: a string, or an AddedToken object with `content`. */
function tokenContent(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (isObject(v) && typeof v.content === "string") return v.content;
  return null;
}

/** A Hugging Face tokenizer.json (with tokenizer_config.json's BOS/EOS), through @huggingface/tokenizers. */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  private readonly lib: HfLibTokenizer;

  constructor(tokenizerJson: unknown, options: HfTokenizerOptions = {}) {
    const source = options.source ?? "tokenizer.json";
    if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model)) {
      throw new TokenizerError(`${source}: not a Hugging Face tokenizer.json (no "model" object)`);
    }
    const config = options.tokenizerConfig ?? {};
    if (!isObject(config)) throw new TokenizerError(`${source}: tokenizer_config.json must be a JSON object`);
    try {
      this.lib = new HfLibTokenizer(tokenizerJson, config);
    } catch (e) {
      throw new TokenizerError(`${source}: cannot build the tokenizer (${(e as Error).message})`);
    }
    let maxId = -1;
    for (const id of this.lib.get_vocab(true).values()) maxId = Math.max(maxId, id);
    if (maxId < 0) throw new TokenizerError(`${source}: the vocabulary is empty`);
    this.vocabSize = maxId + 1;
    const special = (field: string, fallback: number | null | undefined): number | null => {
      const content = tokenContent(config[field]);
      if (content !== null) {
        const id = this.lib.token_to_id(content);
        if (id === undefined)
          throw new TokenizerError(`${source}: ${field} ${JSON.stringify(content)} is not in the vocabulary`);
        return id;
      }
      return fallback ?? null;
    };
    this.bosTokenId = special("bos_token", options.bosTokenId);
    this.eosTokenId = special("eos_token", options.eosTokenId);
    this.padTokenId = special("pad_token", options.padTokenId);
  }

  encode(text: string): number[] {
    if (typeof text !== "string") throw new TokenizerError(`expected a string to tokenize, got ${typeof text}`);
    return this.lib.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: number[]): string {
    for (const id of ids) this.check(id);
    return this.lib.decode(ids, { skip_special_tokens: false });
  }

  idToString(id: number): string {
    this.check(id);
    return this.lib.decode([id], { skip_special_tokens: false });
  }

  private check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError(`token id ${id} is out of range (vocabulary of ${this.vocabSize})`);
    }
  }
}
