import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TokenizerError } from "../../src/errors.js";
import { HfTokenizer } from "../../src/tokenizer/hf.js";
import { readHfTokenizerDir } from "../../src/tokenizer/hf-files.js";
import { toTokens } from "../../src/tokenizer/tokens.js";
import { byteLevelTokenizerJson, sentencePieceTokenizerJson } from "./hf-fixtures.js";

// merge i gets id 256 + i: "hello" = 259, " world" (Ġworld) = 264, <|endoftext|> = 265, <|pad|> = 266
const BL_MERGES = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld"];
const byteLevel = (config?: unknown) => new HfTokenizer(byteLevelTokenizerJson(BL_MERGES), { tokenizerConfig: config });

// pieces from id 259: "▁" 259, ..., "▁hello" 271, "▁world" 276
const SP_PIECES = [
  "▁",
  "h",
  "e",
  "l",
  "o",
  "w",
  "r",
  "d",
  "▁h",
  "▁he",
  "ll",
  "▁hell",
  "▁hello",
  "▁w",
  "or",
  "▁wor",
  "ld",
  "▁world",
];
const SP_MERGES = ["▁ h", "▁h e", "l l", "▁he ll", "▁hell o", "▁ w", "o r", "▁w or", "l d", "▁wor ld"];
const sentencePiece = () =>
  new HfTokenizer(sentencePieceTokenizerJson(SP_PIECES, SP_MERGES), { bosTokenId: 1, eosTokenId: 2 });

describe("HfTokenizer, byte-level BPE (NeoX / Qwen2 / Llama-3 layout)", () => {
  it("encodes with the merges and decodes back", () => {
    const tok = byteLevel();
    expect(tok.encode("hello world")).toEqual([259, 264]);
    expect(tok.decode([259, 264])).toBe("hello world");
    expect(tok.idToString(264)).toBe(" world");
  });

  it("falls back to single bytes for unmerged and multi-byte text", () => {
    const tok = byteLevel();
    // h, é = C3 A9, "ll" (merge 1 = 257), o
    expect(tok.encode("héllo")).toEqual([104, 0xc3, 0xa9, 257, 111]);
    expect(tok.decode([104, 0xc3, 0xa9, 257, 111])).toBe("héllo");
    expect(tok.idToString(0xc3)).toBe("\uFFFD"); // half of a character, as to_str_tokens shows it
  });

  it("turns special tokens written in the text into their id, and never adds BOS itself", () => {
    const tok = byteLevel();
    expect(tok.encode("hello<|endoftext|> world!")).toEqual([259, 265, 264, 33]);
  });

  it("takes BOS/EOS/PAD from tokenizer_config.json, and prependBos uses them", () => {
    const tok = byteLevel({
      bos_token: "<|endoftext|>",
      eos_token: { content: "<|endoftext|>" },
      pad_token: "<|pad|>",
    });
    expect([tok.bosTokenId, tok.eosTokenId, tok.padTokenId, tok.vocabSize]).toEqual([265, 265, 266, 267]);
    const { tokens, attentionMask } = toTokens(tok, ["hello world", "hello"]);
    expect(Array.from(tokens.dataSync())).toEqual([265, 259, 264, 265, 259, 266]);
    expect(Array.from(attentionMask.dataSync())).toEqual([1, 1, 1, 1, 1, 0]);
  });

  it("without BOS in either file, prependBos is refused", () => {
    const tok = byteLevel();
    expect(tok.bosTokenId).toBeNull();
    expect(() => toTokens(tok, "hello")).toThrow(/no BOS token/);
  });

  it("refuses ids out of range, unknown special tokens and non-tokenizer JSON", () => {
    const tok = byteLevel();
    expect(() => tok.decode([267])).toThrow(TokenizerError);
    expect(() => tok.idToString(-1)).toThrow(TokenizerError);
    expect(() => byteLevel({ bos_token: "<s>" })).toThrow(/bos_token "<s>" is not in the vocabulary/);
    expect(() => new HfTokenizer({ vocab: {} })).toThrow(TokenizerError);
  });
});

describe("HfTokenizer, SentencePiece-style BPE with byte fallback (Llama-2 / Mistral / Gemma layout)", () => {
  it("prepends ▁, merges, and decodes without the dummy prefix", () => {
    const tok = sentencePiece();
    expect(tok.encode("hello world")).toEqual([271, 276]);
    expect(tok.decode([271, 276])).toBe("hello world");
    expect(tok.idToString(276)).toBe("world"); // HF strips the leading space of a lone piece, as TL's to_str_tokens shows
  });

  it("falls back to <0xNN> byte tokens (id 3 + byte)", () => {
    const tok = sentencePiece();
    expect(tok.encode("hé")).toEqual([267, 3 + 0xc3, 3 + 0xa9]);
    expect(tok.decode([267, 3 + 0xc3, 3 + 0xa9])).toBe("hé");
  });

  it("uses the config.json ids when tokenizer_config.json names no tokens; no BOS from the post-processor", () => {
    const tok = sentencePiece();
    expect([tok.bosTokenId, tok.eosTokenId, tok.padTokenId, tok.vocabSize]).toEqual([1, 2, null, 277]);
    expect(Array.from(toTokens(tok, "hello").tokens.dataSync())).toEqual([1, 271]);
  });
});

describe("readHfTokenizerDir", () => {
  it("reads tokenizer.json + tokenizer_config.json from a folder, and gives null when there is none", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tlens-hftok-"));
    expect(await readHfTokenizerDir(dir, { bosTokenId: 1 })).toBeNull();
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(byteLevelTokenizerJson(BL_MERGES)));
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ eos_token: "<|endoftext|>" }));
    const tok = await readHfTokenizerDir(dir, { bosTokenId: 7, eosTokenId: 9 });
    expect([tok?.bosTokenId, tok?.eosTokenId]).toEqual([7, 265]); // config.json's BOS, tokenizer_config's EOS
    expect(tok?.encode("hello world")).toEqual([259, 264]);
    writeFileSync(join(dir, "tokenizer_config.json"), "{not json");
    await expect(readHfTokenizerDir(dir)).rejects.toThrow(TokenizerError);
  });
});
