// Small tokenizer.json files built in the test, in the two layouts the model families use. Ids are assigned by
// construction so the expected encodings can be derived by hand.

/** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 upwards (byte-level BPE). */
export function bytesToUnicode(): string[] {
  const keep = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out.push(keep(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++));
  return out;
}

/** An added (special) token entry of tokenizer.json. */
const added = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/**
 * Byte-level BPE (NeoX / Qwen2 / Llama-3 layout): ids 0..255 are the 256 byte symbols in byte order, then one id per
 * merge (256 + merge index), then the added tokens `<|endoftext|>` (= 256 + merges) and `<|pad|>`.
 */
export function byteLevelTokenizerJson(merges: string[]): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  bytesToUnicode().forEach((ch, b) => {
    vocab[ch] = b;
  });
  merges.forEach((m, i) => {
    vocab[m.replace(" ", "")] = 256 + i;
  });
  const eot = 256 + merges.length;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [added(eot, "<|endoftext|>"), added(eot + 1, "<|pad|>")],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/**
 * SentencePiece-style BPE (Llama-2 / Mistral layout): `<unk>` 0, `<s>` 1, `</s>` 2, the 256 byte-fallback tokens
 * `<0x00>`..`<0xFF>` as ids 3..258, then the given pieces from 259 in order; merges as given. The normalizer
 * prepends "▁" and turns spaces into "▁"; the post-processor would add `<s>` (tlens never asks for it).
 */
export function sentencePieceTokenizerJson(pieces: string[], merges: string[]): Record<string, unknown> {
  const vocab: Record<string, number> = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + b;
  pieces.forEach((p, i) => {
    vocab[p] = 259 + i;
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: "▁" },
        { type: "Replace", pattern: { String: " " }, content: "▁" },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "<s>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}
