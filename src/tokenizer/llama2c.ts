// llama2.c's tokenizer (`tokenizer.bin` / `tok512.bin`): a sentencepiece-style vocabulary of byte strings with merge
// scores. Encoding is llama2.c's `encode`: a dummy-prefix space, UTF-8 code points looked up whole (bytes as
// `<0xNN>` fallback tokens, id = byte + 3), then greedy merges of the adjacent pair whose merged piece has the
// highest score (leftmost on ties). Decoding follows llama2.c's `decode`/printing: byte tokens become their byte,
// and the leading space of the piece right after BOS is dropped — and, as sentencepiece's decoder does, at the start
// of the text, so a generation decoded without its BOS reads the same. BOS and EOS decode to no text (sentencepiece
// control tokens); `idToString` shows them as `<s>` / `</s>`. Pure (no Node built-ins).
import { TokenizerError } from "../errors.js";
import type { Tokenizer } from "./types.js";

export const LLAMA2C_UNK = 0;
export const LLAMA2C_BOS = 1;
export const LLAMA2C_EOS = 2;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

/** bytes → a "binary" string (one char per byte), the key llama2.c's byte-string lookups compare. */
function bytesKey(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** The byte a piece stands for when it reads `<0xNN>` (llama2.c: sscanf(piece, "<0x%02hhX>")), else -1. */
function byteOfPiece(piece: Uint8Array): number {
  if (piece.length < 4 || piece[0] !== 0x3c || piece[1] !== 0x30 || piece[2] !== 0x78) return -1; // "<0x"
  const hex = (c: number): number =>
    c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
  const h1 = hex(piece[3]!);
  if (h1 < 0) return -1;
  const h2 = piece.length > 4 ? hex(piece[4]!) : -1;
  return h2 < 0 ? h1 : h1 * 16 + h2;
}

/** The SentencePiece-style tokenizer of llama2.c checkpoints (tokenizer.bin: scored pieces, byte fallback). */
export class Llama2cTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId = LLAMA2C_BOS;
  readonly eosTokenId = LLAMA2C_EOS;
  /** llama2.c has no pad token; batches of strings are padded with EOS (as TL sets pad = eos). */
  readonly padTokenId = null;
  /** Each token's piece (raw bytes, spaces as " ") and merge score. */
  readonly pieces: readonly Uint8Array[];
  readonly scores: Float32Array;
  readonly maxTokenLength: number;
  private readonly ids = new Map<string, number>();
  private readonly spaceId: number;

  constructor(pieces: Uint8Array[], scores: Float32Array, maxTokenLength: number) {
    if (pieces.length !== scores.length)
      throw new TokenizerError("llama2.c tokenizer: pieces and scores differ in length");
    if (pieces.length <= LLAMA2C_EOS)
      throw new TokenizerError(`llama2.c tokenizer: ${pieces.length} tokens, expected at least 3 (<unk>, <s>, </s>)`);
    this.pieces = pieces;
    this.scores = scores;
    this.vocabSize = pieces.length;
    this.maxTokenLength = maxTokenLength;
    // first occurrence wins (llama2.c's binary search is unspecified among duplicates)
    pieces.forEach((p, id) => {
      const k = bytesKey(p);
      if (!this.ids.has(k)) this.ids.set(k, id);
    });
    this.spaceId = this.ids.get(" ") ?? -1;
  }

  /** Parses llama2.c's tokenizer file: int32 max_token_length, then per token float32 score, int32 length, bytes
   *  (little-endian). vocabSize, when given (the model's), must match the number of tokens in the file. */
  static fromBytes(buf: Uint8Array, opts: { vocabSize?: number; source?: string } = {}): Llama2cTokenizer {
    const source = opts.source ?? "llama2.c tokenizer";
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (buf.byteLength < 4)
      throw new TokenizerError(`${source}: ${buf.byteLength} bytes is too short for a llama2.c tokenizer file`);
    const maxLen = view.getInt32(0, true);
    if (maxLen <= 0 || maxLen > 1 << 16)
      throw new TokenizerError(
        `${source}: max_token_length ${maxLen} is not plausible; is this a llama2.c tokenizer file?`,
      );
    const pieces: Uint8Array[] = [];
    const scores: number[] = [];
    let off = 4;
    while (off < buf.byteLength && (opts.vocabSize === undefined || pieces.length < opts.vocabSize)) {
      if (off + 8 > buf.byteLength)
        throw new TokenizerError(`${source}: truncated at token ${pieces.length} (offset ${off})`);
      const score = view.getFloat32(off, true);
      const len = view.getInt32(off + 4, true);
      off += 8;
      if (len < 0 || len > maxLen || off + len > buf.byteLength) {
        throw new TokenizerError(
          `${source}: token ${pieces.length} has length ${len} (max_token_length ${maxLen}, ${buf.byteLength - off} bytes left)`,
        );
      }
      pieces.push(buf.slice(off, off + len));
      scores.push(score);
      off += len;
    }
    if (opts.vocabSize !== undefined && pieces.length !== opts.vocabSize) {
      throw new TokenizerError(
        `${source}: the file holds ${pieces.length} tokens, the model has a vocabulary of ${opts.vocabSize}`,
      );
    }
    if (off !== buf.byteLength)
      throw new TokenizerError(`${source}: ${buf.byteLength - off} unexpected bytes after ${pieces.length} tokens`);
    return new Llama2cTokenizer(pieces, Float32Array.from(scores), maxLen);
  }

  private lookup(key: string): number {
    return this.ids.get(key) ?? -1;
  }

  /** llama2.c's encode(text, bos=0, eos=0). */
  encode(text: string): number[] {
    if (typeof text !== "string") throw new TokenizerError(`expected a string to tokenize, got ${typeof text}`);
    const bytes = utf8.encode(text);
    const tokens: number[] = [];
    // add_dummy_prefix: a leading space, unless the text is empty
    if (bytes.length > 0) {
      if (this.spaceId < 0)
        throw new TokenizerError('llama2.c tokenizer: the vocabulary has no " " token for the dummy prefix');
      tokens.push(this.spaceId);
    }
    // UTF-8 code points (at most 4 bytes) looked up whole, else byte fallback (id = byte + 3)
    let buf: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      if ((c & 0xc0) !== 0x80) buf = [];
      buf.push(c);
      if (i + 1 < bytes.length && (bytes[i + 1]! & 0xc0) === 0x80 && buf.length < 4) continue;
      const id = this.lookup(String.fromCharCode(...buf));
      if (id !== -1) tokens.push(id);
      else for (const b of buf) tokens.push(b + 3);
      buf = [];
    }
    return this.merge(tokens);
  }

  /** Repeatedly merges the adjacent pair whose concatenation is a token with the highest score (the leftmost on
   *  ties), as llama2.c, keeping each pair's candidate so one merge costs a scan, not n string lookups. */
  private merge(tokens: number[]): number[] {
    const toks = tokens.slice();
    const pieceKey = (id: number): string => bytesKey(this.pieces[id]!);
    const pairId = (i: number): number => this.lookup(pieceKey(toks[i]!) + pieceKey(toks[i + 1]!));
    const cand: number[] = [];
    for (let i = 0; i + 1 < toks.length; i++) cand.push(pairId(i));
    for (;;) {
      let best = -1e10;
      let bestIdx = -1;
      for (let i = 0; i < cand.length; i++) {
        const id = cand[i]!;
        if (id !== -1 && this.scores[id]! > best) {
          best = this.scores[id]!;
          bestIdx = i;
        }
      }
      if (bestIdx === -1) break;
      toks[bestIdx] = cand[bestIdx]!;
      toks.splice(bestIdx + 1, 1);
      cand.splice(bestIdx, 1);
      if (bestIdx > 0) cand[bestIdx - 1] = pairId(bestIdx - 1);
      if (bestIdx < cand.length) cand[bestIdx] = pairId(bestIdx);
    }
    return toks;
  }

  private check(id: number, where: string): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError(
        `${where}: token id ${id} is out of range: the vocabulary has ${this.vocabSize} tokens (ids 0..${this.vocabSize - 1})`,
      );
    }
  }

  /** The bytes llama2.c prints for `id` after `prev` (-1: at the start of the text). */
  private pieceBytes(prev: number, id: number): Uint8Array {
    if (id === LLAMA2C_BOS || id === LLAMA2C_EOS) return new Uint8Array(0);
    let piece = this.pieces[id]!;
    if ((prev === LLAMA2C_BOS || prev === -1) && piece[0] === 0x20) piece = piece.subarray(1);
    const byte = byteOfPiece(piece);
    return byte >= 0 ? Uint8Array.of(byte) : piece;
  }

  decode(ids: number[]): string {
    const parts: Uint8Array[] = [];
    let prev = -1;
    let total = 0;
    for (const id of ids) {
      this.check(id, "decode");
      const b = this.pieceBytes(prev, id);
      parts.push(b);
      total += b.length;
      prev = id;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return utf8Decoder.decode(out);
  }

  idToString(id: number): string {
    this.check(id, "idToString");
    if (id === LLAMA2C_BOS) return "<s>";
    if (id === LLAMA2C_EOS) return "</s>";
    const piece = this.pieces[id]!;
    const byte = byteOfPiece(piece);
    return utf8Decoder.decode(byte >= 0 ? Uint8Array.of(byte) : piece);
  }
}
