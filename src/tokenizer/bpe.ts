// Byte-level BPE (GPT-2 style) over tiktoken-format ranks: a pre-tokenizing regex splits the text, each piece
// is UTF-8 encoded and merged pairwise, lowest rank first (leftmost on ties) — tiktoken's algorithm, which
// reproduces GPT-2's merges exactly. Merging uses a heap, so long pieces (CJK text, long runs of one
// character) cost O(n log n) instead of O(n^2).
//
// Byte strings are held as "latin1" JS strings (one char per byte, 0..255): cheap to slice and to use as Map keys.
import { TokenizerError } from "../errors.js";
import type { Tokenizer } from "./types.js";

export interface BpeDefinition {
  /** latin1 byte string → rank (= token id). */
  ranks: Map<string, number>;
  /** Special token text → id (matched in the text before pre-tokenizing). */
  specialTokens: Record<string, number>;
  /** The pre-tokenizer: a global ("g") unicode ("u") regex whose matches cover the text. */
  pattern: RegExp;
  vocabSize: number;
  bosTokenId: number | null;
  eosTokenId: number | null;
  padTokenId: number | null;
}

const PIECE_CACHE_LIMIT = 65536;

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

/** UTF-8 bytes of `s` as a latin1 string. */
function utf8Latin1(encoder: TextEncoder, s: string): string {
  const bytes = encoder.encode(s);
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + 4096)));
  }
  return out;
}

/** GPT-2's byte-level BPE (the tiktoken ranks), as the tokenizer of GPT-2 models; encode / decode token ids. */
export class BpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  private readonly ranks: Map<string, number>;
  private readonly special: Map<string, number>;
  private readonly specialRegex: RegExp | null;
  private readonly pattern: RegExp;
  /** id → its bytes (undefined for ids that are not tokens). */
  private readonly bytesOf: (Uint8Array | undefined)[];
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  private readonly pieceCache = new Map<string, number[]>();

  constructor(def: BpeDefinition) {
    if (!def.pattern.global || !def.pattern.unicode)
      throw new TokenizerError("BpeTokenizer: the pattern needs the g and u flags");
    this.vocabSize = def.vocabSize;
    this.bosTokenId = def.bosTokenId;
    this.eosTokenId = def.eosTokenId;
    this.padTokenId = def.padTokenId;
    this.ranks = def.ranks;
    this.pattern = def.pattern;
    this.special = new Map(Object.entries(def.specialTokens));
    // Longest first, so that a special token that is a prefix of another does not win.
    const names = [...this.special.keys()].sort((a, b) => b.length - a.length);
    this.specialRegex = names.length ? new RegExp(names.map(escapeRegExp).join("|"), "g") : null;
    this.bytesOf = new Array<Uint8Array | undefined>(def.vocabSize);
    for (const [key, id] of def.ranks) {
      const b = new Uint8Array(key.length);
      for (let i = 0; i < key.length; i++) b[i] = key.charCodeAt(i);
      this.bytesOf[id] = b;
    }
    for (const [text, id] of this.special) this.bytesOf[id] = this.encoder.encode(text);
  }

  encode(text: string): number[] {
    if (typeof text !== "string") throw new TokenizerError(`encode: expected a string, got ${typeof text}`);
    const out: number[] = [];
    let start = 0;
    if (this.specialRegex) {
      this.specialRegex.lastIndex = 0;
      for (const m of text.matchAll(this.specialRegex)) {
        this.encodeOrdinary(text.slice(start, m.index), out);
        out.push(this.special.get(m[0])!);
        start = m.index! + m[0].length;
      }
    }
    this.encodeOrdinary(start === 0 ? text : text.slice(start), out);
    return out;
  }

  decode(ids: number[]): string {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (let i = 0; i < ids.length; i++) {
      const b = this.bytesFor(ids[i]!);
      parts.push(b);
      length += b.length;
    }
    const all = new Uint8Array(length);
    let at = 0;
    for (const b of parts) {
      all.set(b, at);
      at += b.length;
    }
    return this.decoder.decode(all);
  }

  idToString(id: number): string {
    return this.decoder.decode(this.bytesFor(id));
  }

  private bytesFor(id: number): Uint8Array {
    const b = Number.isInteger(id) && id >= 0 && id < this.vocabSize ? this.bytesOf[id] : undefined;
    if (b === undefined) {
      throw new TokenizerError(
        `token id ${id} is out of range: the vocabulary has ${this.vocabSize} tokens (ids 0..${this.vocabSize - 1})`,
      );
    }
    return b;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    if (text.length === 0) return;
    this.pattern.lastIndex = 0;
    for (const m of text.matchAll(this.pattern)) {
      const piece = m[0];
      const cached = this.pieceCache.get(piece);
      if (cached) {
        for (const id of cached) out.push(id);
        continue;
      }
      const key = utf8Latin1(this.encoder, piece);
      const whole = this.ranks.get(key);
      const ids = whole !== undefined ? [whole] : this.bytePairEncode(key);
      if (this.pieceCache.size >= PIECE_CACHE_LIMIT) this.pieceCache.clear();
      this.pieceCache.set(piece, ids);
      for (const id of ids) out.push(id);
    }
  }

  /** Merges the bytes of `s` (a latin1 byte string of length ≥ 1) into tokens: repeatedly the adjacent pair whose
   *  concatenation has the lowest rank, the leftmost among equals. Parts are a linked list indexed by their
   *  start byte; candidate pairs sit in a heap keyed (rank, start) and are checked for staleness when popped. */
  private bytePairEncode(s: string): number[] {
    const n = s.length;
    const next = new Int32Array(n + 1);
    const prev = new Int32Array(n + 1);
    for (let i = 0; i <= n; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    // next[i] = start of the part after the part starting at i (n: none). A part at i ends at next[i].
    const heapRank: number[] = [];
    const heapPos: number[] = [];
    const heapEnd: number[] = [];
    const less = (a: number, b: number): boolean =>
      heapRank[a]! < heapRank[b]! || (heapRank[a] === heapRank[b] && heapPos[a]! < heapPos[b]!);
    const swap = (a: number, b: number): void => {
      let t = heapRank[a]!;
      heapRank[a] = heapRank[b]!;
      heapRank[b] = t;
      t = heapPos[a]!;
      heapPos[a] = heapPos[b]!;
      heapPos[b] = t;
      t = heapEnd[a]!;
      heapEnd[a] = heapEnd[b]!;
      heapEnd[b] = t;
    };
    const push = (rank: number, pos: number, end: number): void => {
      heapRank.push(rank);
      heapPos.push(pos);
      heapEnd.push(end);
      let i = heapRank.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!less(i, p)) break;
        swap(i, p);
        i = p;
      }
    };
    const pop = (): void => {
      const last = heapRank.length - 1;
      swap(0, last);
      heapRank.pop();
      heapPos.pop();
      heapEnd.pop();
      let i = 0;
      const size = heapRank.length;
      for (;;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < size && less(l, m)) m = l;
        if (r < size && less(r, m)) m = r;
        if (m === i) break;
        swap(i, m);
        i = m;
      }
    };
    const alive = new Uint8Array(n).fill(1);
    /** Pushes the pair (part at i, part after it) if it is a token. */
    const consider = (i: number): void => {
      if (i < 0 || next[i]! >= n) return;
      const end = next[next[i]!]!;
      const rank = this.ranks.get(s.substring(i, end));
      if (rank !== undefined) push(rank, i, end);
    };
    for (let i = 0; i < n - 1; i++) consider(i);
    while (heapRank.length > 0) {
      const pos = heapPos[0]!,
        end = heapEnd[0];
      pop();
      if (!alive[pos] || next[pos]! >= n || next[next[pos]!] !== end) continue; // stale
      const j = next[pos]!;
      alive[j] = 0;
      next[pos] = next[j]!;
      if (next[j]! <= n) prev[next[j]!] = pos;
      consider(prev[pos]!);
      consider(pos);
    }
    const ids: number[] = [];
    for (let i = 0; i < n; i = next[i]!) {
      const id = this.ranks.get(s.substring(i, next[i]));
      // Every single byte is a token in a byte-level vocabulary, so parts always have a rank.
      if (id === undefined) throw new TokenizerError(`BPE: no token for the bytes at ${i}..${next[i]} of a piece`);
      ids.push(id);
    }
    return ids;
  }
}

/** Parses tiktoken's compressed rank format (lines "<name> <first rank> <base64 token> <base64 token> ...", the
 *  tokens on a line having consecutive ranks) into latin1 byte string → rank. */
export function parseTiktokenRanks(bpeRanks: string): Map<string, number> {
  const ranks = new Map<string, number>();
  for (const line of bpeRanks.split("\n")) {
    if (!line) continue;
    const fields = line.split(" ");
    const first = Number.parseInt(fields[1]!, 10);
    for (let k = 2; k < fields.length; k++) ranks.set(atob(fields[k]!), first + k - 2);
  }
  return ranks;
}
