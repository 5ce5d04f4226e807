// GPT-2 BPE tokenizer and TransformerLens's token helpers, against real GPT-2 token ids: the IOI golden files
// (tokenized by the real HF GPT-2 tokenizer), known ids, and js-tiktoken's own encoder as a second implementation.
import { readFileSync } from "node:fs";
import { Tiktoken } from "js-tiktoken/lite";
import gpt2Ranks from "js-tiktoken/ranks/gpt2";
import { describe, expect, it } from "vitest";
import { TlensError, TokenizerError } from "../../src/errors.js";
import { tensor, Tensor } from "../../src/tensor/index.js";
import {
  getTokenPosition,
  gpt2Tokenizer,
  GPT2_ENDOFTEXT,
  toSingleToken,
  toStrTokens,
  toTokens,
  tokensToString,
} from "../../src/tokenizer/index.js";

const tok = gpt2Tokenizer();
const GOLDEN = new URL("../../../shared/ioi/golden/", import.meta.url);

interface IoiGolden {
  params: Record<string, unknown>;
  sentences: string[];
  ioi_prompts: { IO: string; S: string; text: string }[];
  toks: number[][];
  max_len: number;
  io_tokenIDs: number[];
  s_tokenIDs: number[];
  word_idx: Record<string, number[]>;
}
const loadGolden = (name: string): IoiGolden => JSON.parse(readFileSync(new URL(name, GOLDEN), "utf8")) as IoiGolden;

// [file, prepend_bos] — flips inherit prepend_bos from the dataset they flip.
const GOLDEN_FILES: [string, boolean][] = [
  ["mixed_N100_seed1.json", false],
  ["mixed_N100_seed1__flip_ABB-BAB_BAB-ABB.json", false],
  ["symmetric_mixed_N150_seed42_bos.json", true],
  ["symmetric_mixed_N150_seed42_bos__flip_ABB-BAB_BAB-ABB.json", true],
  ["xyz_flip/callum_cautils_hashseed7_letter_order_XYZ/mixed_N100_seed1__flip_ABB-XYZ_BAB-XYZ.json", false],
  [
    "xyz_flip/callum_cautils_hashseed7_letter_order_XYZ/symmetric_mixed_N150_seed42_bos__flip_ABB-XYZ_BAB-XYZ.json",
    true,
  ],
  ["xyz_flip/arena_numpy_hashseed0_NOT_PORTABLE/mixed_N100_seed1__flip_ABB-XYZ_BAB-XYZ.json", false],
  ["xyz_flip/arena_numpy_hashseed0_NOT_PORTABLE/symmetric_mixed_N150_seed42_bos__flip_ABB-XYZ_BAB-XYZ.json", true],
];

describe("gpt2Tokenizer", () => {
  it("has GPT-2's vocabulary and special ids", () => {
    expect(tok.vocabSize).toBe(50257);
    expect(tok.bosTokenId).toBe(50256);
    expect(tok.eosTokenId).toBe(50256);
    expect(tok.padTokenId).toBe(50256);
    expect(GPT2_ENDOFTEXT).toBe(50256);
    expect(gpt2Tokenizer()).toBe(tok); // cached singleton
    expect(tok.idToString(50256)).toBe("<|endoftext|>");
    expect(tok.idToString(0)).toBe("!");
    expect(tok.idToString(15496)).toBe("Hello");
    expect(tok.idToString(50255)).toBe(" gazed"); // the last BPE token ("Ġgazed")
  });

  it("encodes known GPT-2 ids", () => {
    expect(tok.encode("Hello world")).toEqual([15496, 995]);
    expect(tok.encode(" John")).toEqual([1757]);
    expect(tok.encode(" Mary")).toEqual([5335]);
    expect(tok.encode("When Mary and John went to the store, John gave a drink to")).toEqual([
      2215, 5335, 290, 1757, 1816, 284, 262, 3650, 11, 1757, 2921, 257, 4144, 284,
    ]);
    expect(tok.encode("")).toEqual([]);
    expect(tok.encode("gpt2")).toEqual([70, 457, 17]);
    expect(tok.encode("I'm")).toEqual([40, 1101]);
    expect(tok.encode("  ")).toEqual([220, 220]);
    expect(tok.encode("\n\n")).toEqual([628]);
  });

  it("encodes <|endoftext|> in the text as the special token, as HF does", () => {
    expect(tok.encode("<|endoftext|>")).toEqual([50256]);
    expect(tok.encode("Hello<|endoftext|> world")).toEqual([15496, 50256, 995]);
    expect(tok.encode("a <|endoftext|><|endoftext|>b")).toEqual([
      ...tok.encode("a "),
      50256,
      50256,
      ...tok.encode("b"),
    ]);
    // Something that only looks like it is plain text.
    expect(tok.encode("<|endoftext|")).not.toContain(50256);
  });

  it("round-trips unicode, emoji and whitespace text", () => {
    const texts = [
      "Hello world",
      "  leading and trailing spaces  ",
      "tabs\tand\nnewlines\r\n\n\n  indented",
      "héllo wörld — naïve café ☕",
      "日本語のテキストと中文文本，还有한국어",
      "emoji 🎉👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷",
      "math ∑ᵢ xᵢ² ≤ ∞, arrows →⇒, 1,234.56 and 0x1F",
      "I'm sure they'll say it's 'quoted' and we've, you'd, I'VE",
      "\u0000control\u0007chars\u001f and \u00a0nbsp \u2003emspace\u3000ideographic",
      "zero\u200bwidth and BOM\ufeffin the middle, NEL\u0085here",
      "<|endoftext|>special in the middle<|endoftext|>",
      "a".repeat(500) + " " + "ab".repeat(300),
    ];
    for (const s of texts) {
      const ids = tok.encode(s);
      expect(tok.decode(ids)).toBe(s);
      for (const id of ids) expect(id >= 0 && id < tok.vocabSize).toBe(true);
    }
  });

  it("agrees with js-tiktoken's own gpt2 encoder (a second BPE implementation over the same ranks)", () => {
    const ref = new Tiktoken(gpt2Ranks);
    // js-tiktoken's regex uses JavaScript's \s (no U+0085, adds U+FEFF); texts without those chars must agree.
    const texts = [
      "When Mary and John went to the store, John gave a drink to",
      "The quick brown fox jumps over the lazy dog. 1234567890 !@#$%^&*()",
      "日本語のテキストと中文文本，还有한국어 " + "東京".repeat(200),
      "emoji 🎉👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷",
      "    def f(x):\n        return x ** 2\n\n\n",
      "x".repeat(1500),
      " ".repeat(100) + "y" + "\n".repeat(50),
      "Ünïcödé ÀÉÎÕÜ ﬁﬂ ǅ ŉ",
    ];
    // Plus seeded random strings over a mixed alphabet.
    const alphabet = [
      ..."abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 .,;:'\"!?-_()[]{}\n\t  éüßøπλжя中文日本🎉👍😀's'll'd",
    ];
    let seed = 12345;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let k = 0; k < 200; k++) {
      let s = "";
      const len = 1 + Math.floor(rnd() * 80);
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      texts.push(s);
    }
    for (const s of texts) expect(tok.encode(s)).toEqual(ref.encode(s, "all"));
  });

  it("treats U+0085 as whitespace and U+FEFF as not (Unicode White_Space, like HF's Oniguruma regex)", () => {
    // " \u0085" before a letter: the whitespace run splits as " " then "\u0085" (\s+(?!\S) then \s+).
    expect(tok.encode("x \u0085y")).toEqual([
      ...tok.encode("x"),
      ...tok.encode(" "),
      ...tok.encode("\u0085"),
      ...tok.encode("y"),
    ]);
    // " \ufeff" is a space plus a symbol: one " ?[^\s\p{L}\p{N}]+" piece.
    const bomPiece = tok.encode(" \ufeff");
    expect(tok.encode("x \ufeffy")).toEqual([...tok.encode("x"), ...bomPiece, ...tok.encode("y")]);
  });

  it("decodes partial UTF-8 tokens to U+FFFD one by one, and whole text exactly", () => {
    const ids = tok.encode(" 🎉");
    expect(ids.length).toBeGreaterThan(1);
    expect(tok.decode(ids)).toBe(" 🎉");
    expect(ids.map((id) => tok.idToString(id)).join("")).toContain("\ufffd");
  });

  it("rejects ids outside the vocabulary", () => {
    expect(() => tok.decode([15496, 50257])).toThrow(TokenizerError);
    expect(() => tok.decode([-1])).toThrow(/out of range.*50257 tokens/);
    expect(() => tok.idToString(1.5)).toThrow(TokenizerError);
    expect(() => tok.idToString(NaN)).toThrow(TokenizerError);
    expect(() => tokensToString(tok, [1, 2, 99999])).toThrow(/tokensToString\[2\] = 99999 is out of range/);
    expect(() => toStrTokens(tok, tensor([[0, 50257]], undefined, "int32"))).toThrow(TokenizerError);
    expect(() => toStrTokens(tok, [-3])).toThrow(TokenizerError);
    try {
      tok.decode([60000]);
    } catch (e) {
      expect(e).toBeInstanceOf(TlensError);
    }
  });
});

describe("IOI golden files (tokenized by the real GPT-2 tokenizer)", () => {
  for (const [file, prependBos] of GOLDEN_FILES) {
    it(`reproduces toks of ${file}`, () => {
      const g = loadGolden(file);
      expect(g.sentences.length).toBeGreaterThan(0);
      const { tokens, attentionMask } = toTokens(tok, g.sentences, { prependBos });
      expect(tokens.dtype).toBe("int32");
      expect(tokens.shape).toEqual([g.toks.length, g.toks[0]!.length]);
      expect(tokens.toArray()).toEqual(g.toks);
      // Mask: 1 on each sentence's own tokens (BOS included), 0 on the right padding.
      const lens = g.sentences.map((s) => tok.encode(s).length + (prependBos ? 1 : 0));
      expect(attentionMask.toArray()).toEqual(lens.map((n) => g.toks[0]!.map((_, p) => (p < n ? 1 : 0))));
      expect(Math.max(...g.sentences.map((s) => tok.encode(s).length))).toBe(g.max_len);
      // Names are single tokens with their leading space.
      expect(g.ioi_prompts.map((p) => toSingleToken(tok, " " + p.IO))).toEqual(g.io_tokenIDs);
      expect(g.ioi_prompts.map((p) => toSingleToken(tok, " " + p.S))).toEqual(g.s_tokenIDs);
      // Each row decodes back to the sentence (plus the BOS/pad text).
      const strs = tokensToString(tok, tokens) as string[];
      strs.forEach((s, i) => expect(s.replaceAll("<|endoftext|>", "")).toBe(g.sentences[i]));
    });
  }

  it("finds word_idx positions with getTokenPosition (IO first, S2 last, end)", () => {
    for (const [file, prependBos] of GOLDEN_FILES.filter(([f]) => !f.includes("flip"))) {
      const g = loadGolden(file);
      g.ioi_prompts.forEach((p, i) => {
        const row = g.toks[i]!;
        expect(getTokenPosition(tok, " " + p.IO, [row], { mode: "first" })).toBe(g.word_idx.IO![i]);
        expect(getTokenPosition(tok, " " + p.S, tensor([row], undefined, "int32"), { mode: "first" })).toBe(
          g.word_idx.S1![i],
        );
        expect(getTokenPosition(tok, " " + p.S, p.text, { mode: "last", prependBos })).toBe(g.word_idx.S2![i]);
        expect(tok.encode(p.text).length + (prependBos ? 1 : 0) - 2).toBe(g.word_idx.end![i]);
      });
    }
  });
});

describe("toTokens", () => {
  it("prepends BOS by default and gives int32 [1, pos] for a string", () => {
    const { tokens, attentionMask } = toTokens(tok, "Hello world");
    expect(tokens.dtype).toBe("int32");
    expect(tokens.shape).toEqual([1, 3]);
    expect(tokens.toArray()).toEqual([[50256, 15496, 995]]);
    expect(attentionMask.dtype).toBe("int32");
    expect(attentionMask.toArray()).toEqual([[1, 1, 1]]);
    expect(toTokens(tok, "Hello world", { prependBos: false }).tokens.toArray()).toEqual([[15496, 995]]);
    expect(toTokens(tok, "", { prependBos: true }).tokens.toArray()).toEqual([[50256]]);
    expect(toTokens(tok, "", { prependBos: false }).tokens.shape).toEqual([1, 0]);
  });

  it("pads a batch to the longest with the pad token, right by default, with masks", () => {
    const input = ["Hello world", " John", "When Mary and John"];
    const right = toTokens(tok, input);
    expect(right.tokens.toArray()).toEqual([
      [50256, 15496, 995, 50256, 50256],
      [50256, 1757, 50256, 50256, 50256],
      [50256, 2215, 5335, 290, 1757],
    ]);
    expect(right.attentionMask.toArray()).toEqual([
      [1, 1, 1, 0, 0],
      [1, 1, 0, 0, 0],
      [1, 1, 1, 1, 1],
    ]);
    const left = toTokens(tok, input, { paddingSide: "left" });
    expect(left.tokens.toArray()).toEqual([
      [50256, 50256, 50256, 15496, 995],
      [50256, 50256, 50256, 50256, 1757],
      [50256, 2215, 5335, 290, 1757],
    ]);
    expect(left.attentionMask.toArray()).toEqual([
      [0, 0, 1, 1, 1],
      [0, 0, 0, 1, 1],
      [1, 1, 1, 1, 1],
    ]);
    const noBos = toTokens(tok, input, { prependBos: false, paddingSide: "left" });
    expect(noBos.tokens.toArray()).toEqual([
      [50256, 50256, 15496, 995],
      [50256, 50256, 50256, 1757],
      [2215, 5335, 290, 1757],
    ]);
    expect(noBos.attentionMask.toArray()).toEqual([
      [0, 0, 1, 1],
      [0, 0, 0, 1],
      [1, 1, 1, 1],
    ]);
  });

  it("gives [N, 1] for a list of single-token names without BOS (the IOI notebooks' NAME_TOKENS)", () => {
    const t = toTokens(tok, [" Mary", " John"], { prependBos: false }).tokens;
    expect(t.shape).toEqual([2, 1]);
    expect(t.toArray()).toEqual([[5335], [1757]]);
  });

  it("truncates to maxLength keeping the start (BOS included)", () => {
    const s = "When Mary and John went to the store";
    expect(toTokens(tok, s, { maxLength: 3 }).tokens.toArray()).toEqual([[50256, 2215, 5335]]);
    expect(toTokens(tok, s, { maxLength: 3, truncate: false }).tokens.shape).toEqual([1, 9]);
    expect(toTokens(tok, [s, "Hi"], { maxLength: 4 }).tokens.shape).toEqual([2, 4]);
  });

  it("rejects bad input", () => {
    expect(() => toTokens(tok, [])).toThrow(TokenizerError);
    expect(() => toTokens(tok, ["a", 3 as unknown as string])).toThrow(/element 1/);
    expect(() => toTokens(tok, 5 as unknown as string)).toThrow(TokenizerError);
    expect(() => toTokens(tok, "a", { paddingSide: "middle" as "left" })).toThrow(/paddingSide/);
    expect(() => toTokens(tok, "a", { maxLength: 0 })).toThrow(/maxLength/);
  });
});

describe("toStrTokens", () => {
  it("splits a string into token strings, BOS shown as <|endoftext|>", () => {
    expect(toStrTokens(tok, "Hello world")).toEqual(["<|endoftext|>", "Hello", " world"]);
    expect(toStrTokens(tok, "Hello world", { prependBos: false })).toEqual(["Hello", " world"]);
    expect(toStrTokens(tok, "gpt2")).toEqual(["<|endoftext|>", "g", "pt", "2"]);
  });

  it("maps a list of strings to a list of lists, each tokenized alone", () => {
    expect(toStrTokens(tok, ["Hello world", " John"])).toEqual([
      ["<|endoftext|>", "Hello", " world"],
      ["<|endoftext|>", " John"],
    ]);
    expect(toStrTokens(tok, ["Hello world", " John"], { prependBos: false })).toEqual([["Hello", " world"], [" John"]]);
  });

  it("reads ids from tensors and arrays (batch 1 squeezed; batch > 1 gives one list per row)", () => {
    const ids = [50256, 15496, 995];
    const expected = ["<|endoftext|>", "Hello", " world"];
    expect(toStrTokens(tok, ids)).toEqual(expected);
    expect(toStrTokens(tok, tensor(ids, undefined, "int32"))).toEqual(expected);
    expect(toStrTokens(tok, tensor([ids], undefined, "int32"))).toEqual(expected);
    expect(toStrTokens(tok, tensor([ids]))).toEqual(expected); // float32 holding integers
    expect(toStrTokens(tok, [ids])).toEqual(expected);
    expect(toStrTokens(tok, tensor(1757, undefined, "int32"))).toEqual([" John"]);
    const batch = toTokens(tok, ["Hello world", " John"]).tokens;
    expect(toStrTokens(tok, batch)).toEqual([
      ["<|endoftext|>", "Hello", " world"],
      ["<|endoftext|>", " John", "<|endoftext|>"],
    ]);
    expect(toStrTokens(tok, [])).toEqual([]);
    expect(() => toStrTokens(tok, Tensor.fromTypedArray(new Int32Array(8), [2, 2, 2]))).toThrow(/\[batch, pos\]/);
    expect(() => toStrTokens(tok, tensor([0.5]))).toThrow(/not an integer/);
  });
});

describe("tokensToString", () => {
  it("decodes 1-D to a string and 2-D to one string per row", () => {
    expect(tokensToString(tok, [15496, 995])).toBe("Hello world");
    expect(tokensToString(tok, tensor([50256, 15496, 995], undefined, "int32"))).toBe("<|endoftext|>Hello world");
    expect(tokensToString(tok, toTokens(tok, ["Hello world", " John"], { prependBos: false }).tokens)).toEqual([
      "Hello world",
      " John<|endoftext|>",
    ]);
    expect(tokensToString(tok, [[15496], [995]])).toEqual(["Hello", " world"]);
  });
});

describe("toSingleToken", () => {
  it("returns the id of a one-token string", () => {
    expect(toSingleToken(tok, " John")).toBe(1757);
    expect(toSingleToken(tok, " Mary")).toBe(5335);
    expect(toSingleToken(tok, "<|endoftext|>")).toBe(50256);
    expect(toSingleToken(tok, "Hello")).toBe(15496);
  });

  it("throws TokenizerError saying how many tokens and which", () => {
    expect(() => toSingleToken(tok, "Hello world")).toThrow(TokenizerError);
    expect(() => toSingleToken(tok, "Hello world")).toThrow(
      '"Hello world" is not a single token: it is 2 tokens ["Hello", " world"] (ids [15496, 995])',
    );
    expect(() => toSingleToken(tok, "")).toThrow(/is not a single token: it is 0 tokens/);
  });
});

describe("getTokenPosition", () => {
  const prompt = "When Mary and John went to the store, John gave a drink to";
  it("finds the first and last occurrence, counting the BOS", () => {
    expect(getTokenPosition(tok, " John", prompt)).toBe(4);
    expect(getTokenPosition(tok, " John", prompt, { mode: "first" })).toBe(4);
    expect(getTokenPosition(tok, " John", prompt, { mode: "last" })).toBe(10);
    expect(getTokenPosition(tok, " John", prompt, { mode: "last", prependBos: false })).toBe(9);
    expect(getTokenPosition(tok, 1757, prompt, { mode: "last" })).toBe(10);
    expect(getTokenPosition(tok, " to", prompt, { mode: "last" })).toBe(14);
    expect(getTokenPosition(tok, "<|endoftext|>", prompt)).toBe(0);
  });

  it("takes tokens: 1-D, or 2-D with batch 1", () => {
    const { tokens } = toTokens(tok, prompt);
    expect(getTokenPosition(tok, " Mary", tokens)).toBe(2);
    expect(getTokenPosition(tok, " Mary", tokens.toArray() as number[][])).toBe(2);
    expect(getTokenPosition(tok, " Mary", tok.encode(prompt))).toBe(1);
    expect(() => getTokenPosition(tok, " Mary", toTokens(tok, [prompt, prompt]).tokens)).toThrow(/batch size 1/);
  });

  it("throws when the token is absent or not a single token", () => {
    expect(() => getTokenPosition(tok, " Alice", prompt)).toThrow(TokenizerError);
    expect(() => getTokenPosition(tok, " Alice", prompt)).toThrow(/" Alice" \(id \d+\) does not occur in the prompt/);
    expect(() => getTokenPosition(tok, "Mary and", prompt)).toThrow(/not a single token/);
    expect(() => getTokenPosition(tok, 50257, prompt)).toThrow(/out of range/);
    expect(() => getTokenPosition(tok, " John", prompt, { mode: "middle" as "first" })).toThrow(/mode/);
  });
});
