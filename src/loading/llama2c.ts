// llama2.c checkpoints (Karpathy's llama2.c `run.c` formats) → a TransformerLens Llama config and state dict.
// Pure (no Node built-ins): pass the file's bytes.
//
// Legacy format (version 0, "export.py --version 0" / the tinyllamas .bin files): 7 int32 (dim, hidden_dim,
// n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means a separate classifier), then float32
// tok_embeddings [V, D], rms_att [L, D], wq [L, H·Dh, D], wk [L, Hkv·Dh, D], wv [L, Hkv·Dh, D], wo [L, D, H·Dh],
// rms_ffn [L, D], w1 [L, F, D], w2 [L, D, F], w3 [L, F, D], rms_final [D], freq_cis_real [seq_len, Dh/2],
// freq_cis_imag [seq_len, Dh/2], (wcls [V, D]). Version 1 ("ak42" magic, 256-byte header, float32): norms first,
// then tok_embeddings, wq, wk, wv, wo, w1, w2, w3, (wcls). Matrices are PyTorch Linear [out, in].
//
// The model: RMSNorm (eps 1e-5), rotary (base 10000) on adjacent pairs (2i, 2i+1), grouped-query attention, SwiGLU
// w2(silu(w1 x) * w3 x). TransformerLens's Llama uses rotate-half pairs (i, i + Dh/2), so the q/k rows of each head
// are permuted into that order (as Hugging Face's Llama conversion does); q·k is unchanged by the permutation.
import { LoadError } from "../errors.js";
import { checkFinite } from "./finite.js";
import { Tensor } from "../tensor/index.js";
import { makeConfig, type HookedTransformerConfig } from "./config.js";

export interface Llama2cHeader {
  version: 0 | 1;
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  /** The unembedding is the token embedding (legacy: vocab_size > 0). */
  sharedClassifier: boolean;
}

export interface Llama2cOptions {
  /** Permute q/k rows into TL's rotate-half order (default true). false keeps llama2.c's layout and sets
   *  rotaryAdjacentPairs instead: the same numbers, but hook_q/hook_k/hook_rot_* in llama2.c's dim order. */
  rotateHalf?: boolean;
  /** cfg.modelName (default "llama2c"). */
  modelName?: string;
  /** Accept NaN and ±Inf weights (default: refused, naming the checkpoint's section). */
  allowNonFinite?: boolean;
}

const MAGIC_V1 = 0x616b3432; // "ak42"

/** Reads and validates the header; `source` names the file in errors. */
export function readLlama2cHeader(
  buf: Uint8Array,
  source = "llama2.c checkpoint",
): Llama2cHeader & { dataOffset: number } {
  if (buf.byteLength < 28)
    throw new LoadError(`${source}: ${buf.byteLength} bytes is too short for a llama2.c checkpoint`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, true);
  let h: Llama2cHeader;
  let dataOffset: number;
  if (magic === MAGIC_V1) {
    const version = view.getInt32(4, true);
    if (version !== 1) {
      throw new LoadError(
        `${source}: llama2.c format version ${version} is not supported (float32 legacy and version 1 are; version 2 is int8-quantised)`,
      );
    }
    if (buf.byteLength < 256) throw new LoadError(`${source}: truncated version 1 header`);
    const p = Array.from({ length: 7 }, (_, i) => view.getInt32(8 + 4 * i, true));
    h = {
      version: 1,
      dim: p[0]!,
      hiddenDim: p[1]!,
      nLayers: p[2]!,
      nHeads: p[3]!,
      nKvHeads: p[4]!,
      vocabSize: p[5]!,
      seqLen: p[6]!,
      sharedClassifier: buf[36] !== 0,
    };
    dataOffset = 256;
  } else {
    const p = Array.from({ length: 7 }, (_, i) => view.getInt32(4 * i, true));
    h = {
      version: 0,
      dim: p[0]!,
      hiddenDim: p[1]!,
      nLayers: p[2]!,
      nHeads: p[3]!,
      nKvHeads: p[4]!,
      vocabSize: Math.abs(p[5]!),
      seqLen: p[6]!,
      sharedClassifier: p[5]! > 0,
    };
    dataOffset = 28;
  }
  const bad = (what: string, v: number): never => {
    throw new LoadError(
      `${source}: header field ${what} = ${v} is not plausible; is this a llama2.c checkpoint (legacy or version 1)?`,
    );
  };
  const limit = 1 << 20;
  for (const [k, v] of [
    ["dim", h.dim],
    ["hidden_dim", h.hiddenDim],
    ["n_layers", h.nLayers],
    ["n_heads", h.nHeads],
    ["n_kv_heads", h.nKvHeads],
    ["vocab_size", h.vocabSize],
    ["seq_len", h.seqLen],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0 || v > limit) bad(k, v);
  }
  if (h.dim % h.nHeads !== 0) throw new LoadError(`${source}: dim ${h.dim} is not divisible by n_heads ${h.nHeads}`);
  if (h.nHeads % h.nKvHeads !== 0)
    throw new LoadError(`${source}: n_heads ${h.nHeads} is not a multiple of n_kv_heads ${h.nKvHeads}`);
  if ((h.dim / h.nHeads) % 2 !== 0)
    throw new LoadError(`${source}: head size ${h.dim / h.nHeads} must be even for rotary embeddings`);
  return { ...h, dataOffset };
}

/** The TransformerLens config of a llama2.c model (TL's Llama conventions). */
export function llama2cConfig(h: Llama2cHeader, opts: Llama2cOptions = {}): HookedTransformerConfig {
  const dHead = h.dim / h.nHeads;
  return makeConfig(
    {
      modelName: opts.modelName ?? "llama2c",
      originalArchitecture: "LlamaForCausalLM",
      nLayers: h.nLayers,
      dModel: h.dim,
      nHeads: h.nHeads,
      dHead,
      dMlp: h.hiddenDim,
      dVocab: h.vocabSize,
      nCtx: h.seqLen,
      // TL sets n_key_value_heads only when it differs from n_heads
      nKeyValueHeads: h.nKvHeads !== h.nHeads ? h.nKvHeads : null,
      eps: 1e-5,
      actFn: "silu",
      normalizationType: "RMS",
      finalRms: true,
      gatedMlp: true,
      positionalEmbeddingType: "rotary",
      rotaryDim: dHead,
      rotaryBase: 10000,
      rotaryAdjacentPairs: opts.rotateHalf === false,
      tieWordEmbeddings: h.sharedClassifier,
      defaultPrependBos: true,
      bosTokenId: 1,
      eosTokenId: 2,
    },
    "llama2.c checkpoint",
  );
}

/**
 * Parses a llama2.c checkpoint into the TL config and TL-named float32 parameters:
 * `embed.W_E` [V, D]; per layer `ln1.w`, `attn.W_Q` [H, D, Dh], `attn._W_K`/`_W_V` [Hkv, D, Dh] (`W_K`/`W_V` when
 * Hkv = H), `attn.W_O` [H, Dh, D], zero biases `b_Q`, `_b_K`, `_b_V`, `b_O`, `ln2.w`, `mlp.W_gate` = w1ᵀ,
 * `mlp.W_in` = w3ᵀ [D, F], `mlp.W_out` = w2ᵀ [F, D], zero `b_in`, `b_out`; `ln_final.w`; `unembed.W_U` [D, V]
 * (the embedding's transpose when shared) and a zero `unembed.b_U`.
 */
export function parseLlama2cCheckpoint(
  buf: Uint8Array,
  opts: Llama2cOptions & { source?: string } = {},
): { cfg: HookedTransformerConfig; weights: Map<string, Tensor>; header: Llama2cHeader } {
  const source = opts.source ?? "llama2.c checkpoint";
  const h = readLlama2cHeader(buf, source);
  const cfg = llama2cConfig(h, opts);
  const { dim: D, hiddenDim: F, nLayers: L, nHeads: H, nKvHeads: Hkv, vocabSize: V, seqLen: S } = h;
  const Dh = D / H;
  const sizes: Record<string, number> = {
    tok: V * D,
    rmsAtt: L * D,
    wq: L * H * Dh * D,
    wk: L * Hkv * Dh * D,
    wv: L * Hkv * Dh * D,
    wo: L * D * H * Dh,
    rmsFfn: L * D,
    w1: L * F * D,
    w2: L * D * F,
    w3: L * F * D,
    rmsFinal: D,
    freqs: h.version === 0 ? 2 * S * (Dh / 2) : 0,
    wcls: h.sharedClassifier ? 0 : V * D,
  };
  const order =
    h.version === 0
      ? ["tok", "rmsAtt", "wq", "wk", "wv", "wo", "rmsFfn", "w1", "w2", "w3", "rmsFinal", "freqs", "wcls"]
      : ["rmsAtt", "rmsFfn", "rmsFinal", "tok", "wq", "wk", "wv", "wo", "w1", "w2", "w3", "wcls"];
  const floats = order.reduce((n, k) => n + sizes[k]!, 0);
  const expected = h.dataOffset + 4 * floats;
  if (buf.byteLength !== expected) {
    const other = h.sharedClassifier ? "" : " (with a separate classifier)";
    throw new LoadError(
      `${source}: ${buf.byteLength} bytes, but the header (dim ${D}, hidden_dim ${F}, ${L} layers, ${H} heads, ` +
        `${Hkv} kv heads, vocab ${V}, seq_len ${S})${other} implies ${expected}; the file is truncated or not a llama2.c version ${h.version} checkpoint`,
    );
  }
  // float32 data; copy to an aligned buffer when the file's bytes are not 4-aligned
  const aligned = (buf.byteOffset + h.dataOffset) % 4 === 0 ? buf : buf.slice();
  const data = new Float32Array(aligned.buffer, aligned.byteOffset + h.dataOffset, floats);
  const at: Record<string, Float32Array> = {};
  let off = 0;
  for (const k of order) {
    at[k] = data.subarray(off, off + sizes[k]!);
    off += sizes[k]!;
  }
  if (!opts.allowNonFinite) for (const k of order) checkFinite(at[k]!, k, source);

  const rotateHalf = opts.rotateHalf !== false;
  // row r of a head's q/k output in TL order ← llama2.c row: r < Dh/2 → 2r, else 2(r - Dh/2) + 1
  const srcRow = (r: number): number => (!rotateHalf ? r : r < Dh / 2 ? 2 * r : 2 * (r - Dh / 2) + 1);
  const t = (a: Float32Array, shape: number[], reusable = false): Tensor => {
    const x = Tensor.fromTypedArray(a, shape);
    if (reusable) x.storage.reusable = true;
    return x;
  };
  /** Linear [heads·Dh, D] of layer l → [heads, D, Dh], rows permuted when `rotary`. */
  const headsIn = (w: Float32Array, l: number, heads: number, rotary: boolean): Tensor => {
    const base = l * heads * Dh * D;
    const out = new Float32Array(heads * D * Dh);
    for (let hd = 0; hd < heads; hd++) {
      for (let r = 0; r < Dh; r++) {
        const src = base + (hd * Dh + (rotary ? srcRow(r) : r)) * D;
        for (let i = 0; i < D; i++) out[(hd * D + i) * Dh + r] = w[src + i]!;
      }
    }
    return t(out, [heads, D, Dh], true);
  };
  /** Linear [out, in] at `base` → [in, out] */
  const transposed = (w: Float32Array, base: number, rows: number, cols: number): Tensor => {
    const out = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[base + r * cols + c]!;
    return t(out, [cols, rows], true);
  };
  const zeros = (...shape: number[]): Tensor => t(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  const g = Hkv !== H ? "_" : "";

  const weights = new Map<string, Tensor>();
  weights.set("embed.W_E", t(at.tok!.slice(), [V, D]));
  for (let l = 0; l < L; l++) {
    const b = `blocks.${l}`;
    weights.set(`${b}.ln1.w`, t(at.rmsAtt!.slice(l * D, (l + 1) * D), [D]));
    weights.set(`${b}.attn.W_Q`, headsIn(at.wq!, l, H, true));
    weights.set(`${b}.attn.${g}W_K`, headsIn(at.wk!, l, Hkv, true));
    weights.set(`${b}.attn.${g}W_V`, headsIn(at.wv!, l, Hkv, false));
    // wo [D, H·Dh] (out, in) → W_O [H, Dh, D]
    weights.set(`${b}.attn.W_O`, transposed(at.wo!, l * D * H * Dh, D, H * Dh).reshape(H, Dh, D));
    weights.set(`${b}.attn.b_Q`, zeros(H, Dh));
    weights.set(`${b}.attn.${g}b_K`, zeros(Hkv, Dh));
    weights.set(`${b}.attn.${g}b_V`, zeros(Hkv, Dh));
    weights.set(`${b}.attn.b_O`, zeros(D));
    weights.set(`${b}.ln2.w`, t(at.rmsFfn!.slice(l * D, (l + 1) * D), [D]));
    weights.set(`${b}.mlp.W_in`, transposed(at.w3!, l * F * D, F, D));
    weights.set(`${b}.mlp.W_gate`, transposed(at.w1!, l * F * D, F, D));
    weights.set(`${b}.mlp.W_out`, transposed(at.w2!, l * D * F, D, F));
    weights.set(`${b}.mlp.b_in`, zeros(F));
    weights.set(`${b}.mlp.b_out`, zeros(D));
  }
  weights.set("ln_final.w", t(at.rmsFinal!.slice(), [D]));
  weights.set("unembed.W_U", transposed(h.sharedClassifier ? at.tok! : at.wcls!, 0, V, D));
  weights.set("unembed.b_U", zeros(V));
  return { cfg, weights, header: h };
}
