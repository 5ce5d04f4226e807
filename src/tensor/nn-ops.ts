// The transformer's own ops, as tensor ops so that model code never touches a buffer: the attention mask, the
// softmax whose fully masked rows give zeros, rotary embeddings and the fused layer norm. Each is one function
// with plain tensor inputs and a fresh output (the autodiff adds one backward per function).
import { getBackend } from "../backend/index.js";
import { ShapeError, TensorError } from "../errors.js";
import { Tensor } from "./tensor.js";
import { needsGrad } from "./autograd/mode.js";
import { trackLayerNorm, trackMask, trackRotary } from "./autograd/vjp-nn.js";

/** scores [batch, head, q, k] (float32) → a copy with -inf where a query may not look: above the causal diagonal
 *  (query i sees keys ≤ i + (k - q), the k - q earlier keys being a KV cache's) when `causal`, and on padded keys
 *  (keyMask [batch, k], 0 = padding). `window` (local attention, causal only): query i also sees no key more than
 *  window - 1 before it, i.e. keys i - window < j ≤ i (TL's triu(tril(ones), 1 - window_size), HF's sliding window).
 *  TransformerLens's masked hook_attn_scores. `consumeInput`: the caller never reads `scores` again, so a
 *  contiguous input that no gradient flows through is masked in place (the forward's fresh scores: one copy of
 *  [batch, head, q, k] less per layer). */
export function maskAttentionScores(
  scores: Tensor,
  causal: boolean,
  keyMask: Tensor | null,
  window: number | null = null,
  { consumeInput = false }: { consumeInput?: boolean } = {},
): Tensor {
  const [batch, heads, qLen, kLen] = scores.shape as [number, number, number, number];
  if (keyMask && (keyMask.ndim !== 2 || keyMask.shape[0] !== batch || keyMask.shape[1] !== kLen)) {
    throw new ShapeError(
      `maskAttentionScores: the key mask has shape [${keyMask.shape}], expected [${batch}, ${kLen}]`,
    );
  }
  // fillMasked writes the storage from index 0: only a tensor that is its whole storage qualifies
  const inPlace =
    consumeInput &&
    scores.isContiguous() &&
    scores.offset === 0 &&
    scores.storage.data.length === scores.numel &&
    !needsGrad(scores);
  const out = inPlace ? scores : scores.clone();
  if (!causal && !keyMask) return out;
  const mask = keyMask ? keyMask.to("int32").contiguous().dataSync() : null;
  const fill = (t: Tensor, value: number): void =>
    fillMasked(t.storage.data, [batch, heads, qLen, kLen], causal, window, mask, value);
  fill(out, -Infinity);
  // the gradient is zero where the mask wrote
  return needsGrad(scores) ? trackMask(scores, out, (g) => fill(g, 0)) : out;
}

/** Writes `value` at the masked entries of contiguous [batch, heads, q, k] data (see maskAttentionScores). */
function fillMasked(
  data: ArrayLike<number> & { [i: number]: number },
  [batch, heads, qLen, kLen]: number[],
  causal: boolean,
  window: number | null,
  mask: ArrayLike<number> | null,
  value: number,
): void {
  const offset = kLen! - qLen!;
  for (let b = 0; b < batch!; b++) {
    for (let h = 0; h < heads!; h++) {
      const base = (b * heads! + h) * qLen! * kLen!;
      for (let i = 0; i < qLen!; i++) {
        const row = base + i * kLen!;
        if (causal) for (let j = Math.max(i + offset + 1, 0); j < kLen!; j++) data[row + j] = value;
        if (causal && window !== null)
          for (let j = Math.min(i + offset - window + 1, kLen!); j-- > 0;) data[row + j] = value;
        if (mask) for (let j = 0; j < kLen!; j++) if (!mask[b * kLen! + j]) data[row + j] = value;
      }
    }
  }
}

/** Soft capping (Gemma-2's attention scores and final logits): cap · tanh(x / cap), any shape. */
export function softCap(x: Tensor, cap: number): Tensor {
  if (!(cap > 0)) throw new TensorError(`softCap: the cap must be positive, got ${cap}`);
  return x.div(cap).tanh().mul(cap);
}

/** softmax over the last dim, where rows with no finite entry (every key masked) give zeros instead of NaN, as
 *  TransformerLens's pattern: [..., k] → [..., k]. Its gradient needs nothing more: softmax's backward,
 *  y·(g − Σ g·y), is 0 on the rows zeroed here. */
export function softmaxOrZero(x: Tensor): Tensor {
  const p = x.softmax(-1);
  const d = p.storage.data;
  for (let i = 0; i < d.length; i++) if (Number.isNaN(d[i])) d[i] = 0;
  return p;
}

export interface RotaryOptions {
  /** How many leading dims of each head rotate (TL's rotary_dim). */
  dim: number;
  base: number;
  /** GPT-J / llama2.c pairs (2i, 2i+1) instead of TL's default rotate-half pairs (i, i + dim/2). */
  adjacentPairs: boolean;
  nCtx: number;
  /** Llama-3.1's NTK-by-parts frequency scaling (TL's use_NTK_by_parts_rope, HF's rope_type "llama3"); absent = off. */
  ntkByParts?: NtkByParts | null;
}

export interface NtkByParts {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  /** The context length the model was trained with before the extension (TL's NTK_original_ctx_len). */
  originalCtxLen: number;
}

/** The rotation periods base^(2j / dim), j < dim/2, in float32; with NTK-by-parts (TL's and HF's llama3 rule), long
 *  wavelengths (> originalCtxLen / lowFreqFactor) are stretched by `factor`, short ones (< originalCtxLen /
 *  highFreqFactor) kept, and the ones between interpolated smoothly. */
function rotaryPeriods(o: RotaryOptions): Float32Array {
  const f = Math.fround;
  const half = o.dim / 2;
  const periods = new Float32Array(half);
  const n = o.ntkByParts;
  for (let j = 0; j < half; j++) {
    if (!n) {
      periods[j] = f(Math.pow(o.base, f(j / half)));
      continue;
    }
    const inv = f(1 / f(Math.pow(o.base, f((2 * j) / o.dim))));
    const wavelen = f(f(2 * Math.PI) / inv);
    const lowWavelen = n.originalCtxLen / n.lowFreqFactor;
    const highWavelen = n.originalCtxLen / n.highFreqFactor;
    let scaled = wavelen > lowWavelen ? f(inv / n.factor) : inv;
    if (!(wavelen < highWavelen) && !(wavelen > lowWavelen)) {
      const smooth = f(f(f(n.originalCtxLen / wavelen) - n.lowFreqFactor) / (n.highFreqFactor - n.lowFreqFactor));
      scaled = f(f(f(f(1 - smooth) * scaled) / n.factor) + f(smooth * scaled));
    }
    periods[j] = f(1 / scaled);
  }
  return periods;
}

const rotaryTables = new Map<string, { sin: Float32Array; cos: Float32Array }>();

/** TL's calculate_sin_cos_rotary in float32: angle(pos, i) = pos / period(i'), period(j) = base^(j / (dim/2)) (or
 *  NTK-by-parts scaled), i' = i mod dim/2 (rotate-half) or floor(i / 2) (adjacent pairs). Tables [n_ctx, dim],
 *  computed once per options. */
export function rotarySinCos(o: RotaryOptions): { sin: Float32Array; cos: Float32Array } {
  const n = o.ntkByParts;
  const key =
    `${o.dim}/${o.base}/${o.adjacentPairs}/${o.nCtx}` +
    (n ? `/ntk:${n.factor}/${n.lowFreqFactor}/${n.highFreqFactor}/${n.originalCtxLen}` : "");
  const hit = rotaryTables.get(key);
  if (hit) return hit;
  const half = o.dim / 2;
  const periods = rotaryPeriods(o);
  const freq = new Float32Array(o.dim);
  for (let i = 0; i < o.dim; i++) freq[i] = periods[o.adjacentPairs ? Math.floor(i / 2) : i % half]!;
  const sin = new Float32Array(o.nCtx * o.dim);
  const cos = new Float32Array(o.nCtx * o.dim);
  for (let p = 0; p < o.nCtx; p++) {
    for (let i = 0; i < o.dim; i++) {
      const angle = Math.fround(p / freq[i]!);
      sin[p * o.dim + i] = Math.sin(angle);
      cos[p * o.dim + i] = Math.cos(angle);
    }
  }
  const tables = { sin, cos };
  rotaryTables.set(key, tables);
  return tables;
}

/** TL's apply_rotary: x [batch, pos, heads, d_head] rotated by the angles of positions [batch, pos] (int32, each
 *  < nCtx): x·cos + rotate(x)·sin on the first `dim` dims of each head (rotate-half, or adjacent pairs), the rest
 *  unchanged. Float32 arithmetic, as torch's. → [batch, pos, heads, d_head] */
export function rotary(x: Tensor, positions: Tensor, o: RotaryOptions): Tensor {
  const out = rotate(x, positions, o, 1);
  // linear in x, with the transpose of the rotation: g·cos − rotate(g)·sin, the same kernel with -sin
  return needsGrad(x) ? trackRotary(x, out, (g) => rotate(g, positions, o, -1)) : out;
}

/** x·cos + rotate(x)·(sign·sin), see rotary. */
function rotate(x: Tensor, positions: Tensor, o: RotaryOptions, sign: 1 | -1): Tensor {
  const [batch, pos, heads, d] = x.shape as [number, number, number, number];
  if (positions.ndim !== 2 || positions.shape[0] !== batch || positions.shape[1] !== pos) {
    throw new ShapeError(`rotary: positions have shape [${positions.shape}], expected [${batch}, ${pos}]`);
  }
  const { sin, cos } = rotarySinCos(o);
  const src = x.to("float32").contiguous().dataSync() as Float32Array;
  const at = positions.to("int32").contiguous().dataSync();
  const out = new Float32Array(src.length);
  const rd = o.dim;
  const half = rd / 2;
  const f = Math.fround;
  for (let bp = 0; bp < batch * pos; bp++) {
    const position = at[bp]!;
    if (!(position >= 0 && position < o.nCtx))
      throw new ShapeError(`rotary: position ${position} is outside 0 .. n_ctx - 1 = ${o.nCtx - 1}`);
    const tb = position * rd;
    for (let h = 0; h < heads; h++) {
      const base = (bp * heads + h) * d;
      for (let i = 0; i < rd; i++) {
        const flip = o.adjacentPairs
          ? i % 2 === 0
            ? -src[base + i + 1]!
            : src[base + i - 1]!
          : i < half
            ? -src[base + i + half]!
            : src[base + i - half]!;
        out[base + i] = f(f(src[base + i]! * cos[tb + i]!) + f(flip * sign * sin[tb + i]!));
      }
      for (let i = rd; i < d; i++) out[base + i] = src[base + i]!;
    }
  }
  return Tensor.fromTypedArray(out, x.shape);
}

/** Fused layer norm over the last dim of x [..., d] (float32): normalized = (x - mean) / scale (* w + b when
 *  given, [d] each), scale = sqrt(var + eps) [..., 1] (TransformerLens's hook_scale). */
export function layerNorm(
  x: Tensor,
  w: Tensor | null,
  b: Tensor | null,
  eps: number,
): { normalized: Tensor; scale: Tensor } {
  const d = x.shape[x.ndim - 1]!;
  const xc = x.to("float32").contiguous();
  const normalized = Tensor.empty(x.shape, "float32");
  const scale = Tensor.empty([...x.shape.slice(0, -1), 1], "float32");
  const vec = (t: Tensor | null): Float32Array | null =>
    t ? (t.to("float32").contiguous().dataSync() as Float32Array) : null;
  getBackend().layerNorm(
    xc.dataSync() as Float32Array,
    d ? xc.numel / d : 0,
    d,
    eps,
    vec(w),
    vec(b),
    normalized.storage.data as Float32Array,
    scale.storage.data as Float32Array,
  );
  if (needsGrad(x, w) || (b !== null && needsGrad(b))) trackLayerNorm(x, w, b, normalized, scale);
  return { normalized, scale };
}
