// Multi-head attention with TransformerLens's hooks and numerics: scores = q·k / attn_scale, masked entries
// shown as -inf in hook_attn_scores, pattern = softmax (rows with no key left become zeros, as TL).
// Grouped-query attention (TL's GroupedQueryAttention): n_kv_heads key/value heads, stored as `_W_K`/`_W_V`
// [n_kv_heads, d_model, d_head]; `W_K`/`W_V` read them repeated per query head. Rotary embeddings (TL's
// apply_rotary: rotate-half, or adjacent pairs) on q and k after the KV cache, with hook_rot_q / hook_rot_k.
import { TlensError } from "../../errors.js";
import { cat, Tensor, zeros } from "../../tensor/index.js";
import { HookPoint } from "../hook-point.js";
import type { KeyValueCacheEntry } from "../kv-cache.js";

export interface AttentionMasking {
  /** [batch, key_pos] 1 = real token, 0 = padding; null when nothing is padded */
  attentionMask: Tensor | null;
  /** Keys/values of earlier positions (generation); this forward's are appended to it. */
  kvCache?: KeyValueCacheEntry;
  /** Shortformer models: the positional embeddings [batch, pos, d_model] of this forward's positions, which the
   *  block adds to the query and key inputs (TL's shortformer_pos_embed). When absent, the block looks them up for
   *  positions kvCache length .. + pos. */
  shortformerPosEmbed?: Tensor;
}

export interface RotaryOptions {
  /** How many leading dims of each head rotate (TL's rotary_dim; d_head when null). */
  dim: number;
  base: number;
  /** GPT-J / llama2.c pairs (2i, 2i+1) instead of TL's default rotate-half pairs (i, i + dim/2). */
  adjacentPairs: boolean;
  nCtx: number;
}

export interface AttentionOptions {
  /** Grouped-query attention: the number of key/value heads (a divisor of n_heads); null = n_heads. */
  nKeyValueHeads?: number | null;
  rotary?: RotaryOptions | null;
  /** Shortformer models have TL's (never firing) hook_attn_input in the hook dict. */
  shortformer?: boolean;
}

const rotaryTables = new Map<string, { sin: Float32Array; cos: Float32Array }>();

/** TL's calculate_sin_cos_rotary in float32: angle(pos, i) = pos / base^(i' / (dim/2)), i' = i mod dim/2 (rotate-half)
 *  or floor(i / 2) (adjacent pairs). Tables [n_ctx, dim]. */
export function rotarySinCos(o: RotaryOptions): { sin: Float32Array; cos: Float32Array } {
  const key = `${o.dim}/${o.base}/${o.adjacentPairs}/${o.nCtx}`;
  const hit = rotaryTables.get(key);
  if (hit) return hit;
  const half = o.dim / 2;
  const freq = new Float32Array(o.dim);
  for (let i = 0; i < o.dim; i++) {
    const d = o.adjacentPairs ? Math.floor(i / 2) : i % half;
    freq[i] = Math.fround(Math.pow(o.base, Math.fround(d / half)));
  }
  const sin = new Float32Array(o.nCtx * o.dim);
  const cos = new Float32Array(o.nCtx * o.dim);
  for (let p = 0; p < o.nCtx; p++) {
    for (let i = 0; i < o.dim; i++) {
      const angle = Math.fround(p / freq[i]);
      sin[p * o.dim + i] = Math.sin(angle);
      cos[p * o.dim + i] = Math.cos(angle);
    }
  }
  const tables = { sin, cos };
  rotaryTables.set(key, tables);
  return tables;
}

export class Attention {
  readonly hookQ: HookPoint;
  readonly hookK: HookPoint;
  readonly hookV: HookPoint;
  readonly hookZ: HookPoint;
  readonly hookAttnScores: HookPoint;
  readonly hookPattern: HookPoint;
  readonly hookResult: HookPoint;
  /** Rotary models: q and k after the rotation ([batch, pos, head, d_head], k with n_kv_heads); null otherwise. */
  readonly hookRotQ: HookPoint | null;
  readonly hookRotK: HookPoint | null;
  /** Shortformer models: TL's hook_attn_input, which TL 2.x creates but never calls (so it never fires). */
  readonly hookAttnInput: HookPoint | null;
  /** Key/value heads (n_heads unless grouped-query attention). */
  readonly nKvHeads: number;
  /** GQA: query heads per key/value head (TL's repeat_kv_heads); 1 otherwise. */
  readonly repeatKvHeads: number;
  readonly rotary: RotaryOptions | null;
  /** [n_heads, d_model, d_head] */
  W_Q: Tensor;
  /** The stored key/value weights: [n_kv_heads, d_model, d_head] (TL's `_W_K`/`_W_V` under GQA, else `W_K`/`W_V`). */
  _W_K: Tensor; _W_V: Tensor;
  /** [n_heads, d_head, d_model] */
  W_O: Tensor;
  /** [n_heads, d_head] */
  b_Q: Tensor;
  /** [n_kv_heads, d_head] */
  _b_K: Tensor; _b_V: Tensor;
  /** [d_model] */
  b_O: Tensor;
  /** Emit hook_result (per-head outputs [batch, pos, head, d_model]); TL's use_attn_result. */
  useAttnResult = false;

  constructor(prefix: string, readonly nHeads: number, readonly dModel: number, readonly dHead: number, readonly attnScale: number,
    readonly causal: boolean, opts: AttentionOptions = {}) {
    const hp = (n: string): HookPoint => new HookPoint(`${prefix}.${n}`);
    this.nKvHeads = opts.nKeyValueHeads ?? nHeads;
    if (!Number.isInteger(this.nKvHeads) || this.nKvHeads <= 0 || nHeads % this.nKvHeads !== 0) {
      throw new TlensError(`${prefix}: n_key_value_heads ${this.nKvHeads} must be a positive divisor of n_heads ${nHeads}`);
    }
    this.repeatKvHeads = nHeads / this.nKvHeads;
    this.rotary = opts.rotary ?? null;
    if (this.rotary && (this.rotary.dim % 2 !== 0 || this.rotary.dim > dHead || this.rotary.dim <= 0)) {
      throw new TlensError(`${prefix}: rotary_dim ${this.rotary.dim} must be even, positive and at most d_head ${dHead}`);
    }
    this.hookK = hp("hook_k");
    this.hookQ = hp("hook_q");
    this.hookV = hp("hook_v");
    this.hookZ = hp("hook_z");
    this.hookAttnScores = hp("hook_attn_scores");
    this.hookPattern = hp("hook_pattern");
    this.hookResult = hp("hook_result");
    this.hookAttnInput = opts.shortformer ? hp("hook_attn_input") : null;
    this.hookRotK = this.rotary ? hp("hook_rot_k") : null;
    this.hookRotQ = this.rotary ? hp("hook_rot_q") : null;
    this.W_Q = zeros([nHeads, dModel, dHead]);
    this._W_K = zeros([this.nKvHeads, dModel, dHead]);
    this._W_V = zeros([this.nKvHeads, dModel, dHead]);
    this.W_O = zeros([nHeads, dHead, dModel]);
    this.b_Q = zeros([nHeads, dHead]);
    this._b_K = zeros([this.nKvHeads, dHead]);
    this._b_V = zeros([this.nKvHeads, dHead]);
    this.b_O = zeros([dModel]);
  }

  /** Grouped-query attention (fewer key/value heads than query heads)? */
  get grouped(): boolean { return this.nKvHeads !== this.nHeads; }

  /** [n_heads, ...] from [n_kv_heads, ...]: each key/value head repeated for its query heads (repeat_interleave). */
  private perQueryHead(t: Tensor): Tensor {
    if (!this.grouped) return t;
    const [kv, ...rest] = t.shape;
    return t.unsqueeze(1).expand(kv, this.repeatKvHeads, ...rest).reshape(this.nHeads, ...rest);
  }

  /** [n_heads, d_model, d_head]; under GQA the key/value heads repeated per query head (a copy: edit `_W_K`). */
  get W_K(): Tensor { return this.perQueryHead(this._W_K); }
  set W_K(t: Tensor) { this._W_K = t; }
  get W_V(): Tensor { return this.perQueryHead(this._W_V); }
  set W_V(t: Tensor) { this._W_V = t; }
  /** [n_heads, d_head] (repeated under GQA) */
  get b_K(): Tensor { return this.perQueryHead(this._b_K); }
  set b_K(t: Tensor) { this._b_K = t; }
  get b_V(): Tensor { return this.perQueryHead(this._b_V); }
  set b_V(t: Tensor) { this._b_V = t; }

  /** Module order (TL's hook_dict order). */
  get hookPoints(): HookPoint[] {
    return [this.hookK, this.hookQ, this.hookV, this.hookZ, this.hookAttnScores, this.hookPattern, this.hookResult,
      ...(this.hookAttnInput ? [this.hookAttnInput] : []), ...(this.hookRotK ? [this.hookRotK, this.hookRotQ!] : [])];
  }

  /** Parameters by TL name: `W_K`... or, under GQA, TL's `_W_K`, `_W_V`, `_b_K`, `_b_V` [n_kv_heads, ...]. */
  params(): [string, Tensor][] {
    const g = this.grouped ? "_" : "";
    return [["W_Q", this.W_Q], [`${g}W_K`, this._W_K], [`${g}W_V`, this._W_V], ["W_O", this.W_O],
      ["b_Q", this.b_Q], [`${g}b_K`, this._b_K], [`${g}b_V`, this._b_V], ["b_O", this.b_O]];
  }

  /** Weights rearranged for compute, rebuilt only when a source tensor is replaced or edited in place. */
  private derived = new Map<string, { sources: Tensor[]; versions: number[]; value: Tensor }>();

  private derive(key: string, sources: Tensor[], build: () => Tensor): Tensor {
    const hit = this.derived.get(key);
    if (hit && hit.sources.every((t, i) => t === sources[i] && t.storage.version === hit.versions[i])) return hit.value;
    const value = build().contiguous();
    value.storage.reusable = true;
    this.derived.set(key, { sources, versions: sources.map((t) => t.storage.version), value });
    return value;
  }

  /** [d_model, heads * d_head] from [heads, d_model, d_head] */
  private flat(W: Tensor): Tensor {
    return W.permute(1, 0, 2).reshape(this.dModel, W.shape[0] * this.dHead);
  }

  /** q, k and v from one input x [batch, pos, d_model] with one GEMM against [d_model, (head + 2 kv_head) * d_head]. */
  private projectQkv(x: Tensor): [Tensor, Tensor, Tensor] {
    const W = this.derive("W_qkv", [this.W_Q, this._W_K, this._W_V], () => cat([this.flat(this.W_Q), this.flat(this._W_K), this.flat(this._W_V)], 1));
    const b = this.derive("b_qkv", [this.b_Q, this._b_K, this._b_V], () => cat([this.b_Q.reshape(-1), this._b_K.reshape(-1), this._b_V.reshape(-1)]));
    const hq = this.nHeads * this.dHead;
    const hkv = this.nKvHeads * this.dHead;
    const qkv = x.matmul(W).add_(b); // [batch, pos, (head + 2 kv_head) * d_head]
    return [this.heads(qkv, 0, this.nHeads), this.heads(qkv, hq, this.nKvHeads), this.heads(qkv, hq + hkv, this.nKvHeads)];
  }

  /** [batch, pos, heads, d_head] from columns from .. from + heads * d_head of fused projections [batch, pos, cols] */
  private heads(fused: Tensor, from: number, heads: number): Tensor {
    const [batch, pos] = fused.shape;
    return fused.narrow(2, from, heads * this.dHead).reshape(batch, pos, heads, this.dHead);
  }

  /** Keys and values [batch, pos, kv_head, d_head] of (normalised) inputs [batch, pos, d_model], without queries. */
  keysValues(kIn: Tensor, vIn: Tensor): [Tensor, Tensor] {
    if (kIn !== vIn || kIn.ndim !== 3) {
      return [this.project(kIn, this._W_K, this._b_K, "K"), this.project(vIn, this._W_V, this._b_V, "V")];
    }
    const W = this.derive("W_kv", [this._W_K, this._W_V], () => cat([this.flat(this._W_K), this.flat(this._W_V)], 1));
    const b = this.derive("b_kv", [this._b_K, this._b_V], () => cat([this._b_K.reshape(-1), this._b_V.reshape(-1)]));
    const kv = kIn.matmul(W).add_(b); // [batch, pos, 2 kv_head * d_head]
    return [this.heads(kv, 0, this.nKvHeads), this.heads(kv, this.nKvHeads * this.dHead, this.nKvHeads)];
  }

  /** x [batch, pos, d_model] (or [batch, pos, heads, d_model] with split inputs), W [heads, d_model, d_head]
   *  → [batch, pos, heads, d_head] */
  private project(x: Tensor, W: Tensor, b: Tensor, which: "Q" | "K" | "V"): Tensor {
    const heads = W.shape[0];
    if (x.ndim === 4) {
      if (x.shape[2] !== heads) {
        throw new TlensError(`attention: the per-head ${which} input has ${x.shape[2]} heads, the weights ${heads}` +
          (this.grouped ? " (grouped-query attention: k and v inputs have n_key_value_heads heads; use_attn_in without use_split_qkv_input is not supported)" : ""));
      }
      // per-head inputs: batched over heads, [head, batch*pos, d_model] @ [head, d_model, d_head]
      const [batch, pos] = x.shape;
      const xh = x.permute(2, 0, 1, 3).reshape(heads, batch * pos, this.dModel);
      return xh.matmul(W).reshape(heads, batch, pos, this.dHead).permute(1, 2, 0, 3).add(b).contiguous();
    }
    const [batch, pos] = x.shape;
    const flatW = this.derive(`flat:${which}`, [W], () => this.flat(W));
    return x.matmul(flatW).reshape(batch, pos, heads, this.dHead).add_(b);
  }

  /** [batch, pos, kv_head, d_head] → [batch, pos, head, d_head] (each key/value head serves repeatKvHeads query heads). */
  private expandKv(t: Tensor): Tensor {
    if (!this.grouped) return t;
    const [batch, pos, kv, d] = t.shape;
    return t.unsqueeze(3).expand(batch, pos, kv, this.repeatKvHeads, d).reshape(batch, pos, this.nHeads, d);
  }

  /** TL's apply_rotary on x [batch, pos, heads, d_head] whose first position is absolute position `offset`; with a
   *  mask over [offset + pos] positions, positions count real tokens only (TL's get_offset_position_ids). */
  applyRotary(x: Tensor, offset: number, attentionMask: Tensor | null): Tensor {
    const r = this.rotary!;
    const [batch, pos, heads, d] = x.shape;
    const { sin, cos } = rotarySinCos(r);
    const src = x.contiguous().dataSync() as Float32Array;
    const out = new Float32Array(src.length);
    const mask = attentionMask ? attentionMask.to("int32").contiguous().dataSync() : null;
    const maskLen = attentionMask ? attentionMask.shape[1] : 0;
    if (mask && maskLen !== offset + pos) {
      throw new TlensError(`rotary: the attention mask covers ${maskLen} positions, expected ${offset + pos}`);
    }
    const rd = r.dim;
    const half = rd / 2;
    const f = Math.fround;
    for (let b = 0; b < batch; b++) {
      // positions of this row: offset + p, or (with a mask) the count of real tokens before it, clamped at 0
      let real = 0;
      if (mask) for (let j = 0; j < offset; j++) real += mask[b * maskLen + j];
      for (let p = 0; p < pos; p++) {
        let position = offset + p;
        if (mask) {
          real += mask[b * maskLen + offset + p];
          position = Math.max(real - 1, 0);
        }
        if (position >= r.nCtx) throw new TlensError(`rotary: position ${position} is beyond n_ctx = ${r.nCtx}`);
        const tb = position * rd;
        for (let h = 0; h < heads; h++) {
          const base = ((b * pos + p) * heads + h) * d;
          for (let i = 0; i < rd; i++) {
            const flip = r.adjacentPairs
              ? (i % 2 === 0 ? -src[base + i + 1] : src[base + i - 1])
              : (i < half ? -src[base + i + half] : src[base + i - half]);
            out[base + i] = f(f(src[base + i] * cos[tb + i]) + f(flip * sin[tb + i]));
          }
          for (let i = rd; i < d; i++) out[base + i] = src[base + i];
        }
      }
    }
    return Tensor.fromTypedArray(out, x.shape);
  }

  /** Queries, keys and values from their (normalised) inputs; returns [batch, pos, d_model]. */
  async forward(qIn: Tensor, kIn: Tensor, vIn: Tensor, masking: AttentionMasking): Promise<Tensor> {
    const fused = qIn === kIn && kIn === vIn && qIn.ndim === 3 ? this.projectQkv(qIn) : null;
    let q = await this.hookQ.run(fused ? fused[0] : this.project(qIn, this.W_Q, this.b_Q, "Q"));
    let k = await this.hookK.run(fused ? fused[1] : this.project(kIn, this._W_K, this._b_K, "K"));
    let v = await this.hookV.run(fused ? fused[2] : this.project(vIn, this._W_V, this._b_V, "V"));
    // hooks saw only the new positions (as TL); attention reads every cached one
    const past = masking.kvCache?.keys?.shape[1] ?? 0;
    if (masking.kvCache) ({ k, v } = masking.kvCache.append(k, v));
    if (this.rotary) {
      // as TL: the cache holds keys before rotation; queries start at the cache length, keys at 0
      q = await this.hookRotQ!.run(this.applyRotary(q, past, masking.attentionMask));
      k = await this.hookRotK!.run(this.applyRotary(k, 0, masking.attentionMask));
    }
    k = this.expandKv(k);
    v = this.expandKv(v);
    // [batch, head, q, d_head] @ [batch, head, d_head, k] → [batch, head, q, k]
    const scores = q.permute(0, 2, 1, 3).matmul(k.permute(0, 2, 3, 1)).div_(this.attnScale);
    if (this.causal) applyCausalMask(scores, masking.attentionMask);
    const hookedScores = await this.hookAttnScores.run(scores);
    const pattern = await this.hookPattern.run(softmaxRowsOrZero(hookedScores));
    // [batch, head, q, k] @ [batch, head, k, d_head] → [batch, q, head, d_head]
    return this.outputFromZ(pattern.matmul(v.permute(0, 2, 1, 3)).permute(0, 2, 1, 3).contiguous());
  }

  /** The attention's output [batch, pos, d_model] from z [batch, pos, head, d_head]: hook_z, then the output
   *  projection (per head with hook_result when useAttnResult). */
  async outputFromZ(zIn: Tensor): Promise<Tensor> {
    const z = await this.hookZ.run(zIn);
    const [batch, qPos] = z.shape;
    if (this.useAttnResult) {
      // [head, batch*q, d_head] @ [head, d_head, d_model] → [batch, q, head, d_model]
      const perHead = z.permute(2, 0, 1, 3).reshape(this.nHeads, batch * qPos, this.dHead).matmul(this.W_O);
      const result = await this.hookResult.run(perHead.reshape(this.nHeads, batch, qPos, this.dModel).permute(1, 2, 0, 3).contiguous());
      return result.sum(2).add_(this.b_O);
    }
    return z.reshape(batch, qPos, this.nHeads * this.dHead).matmul(this.W_O.reshape(this.nHeads * this.dHead, this.dModel)).add_(this.b_O);
  }
}

/** In place on fresh scores [batch, head, q, k]: -inf above the causal diagonal (query i sees keys ≤ i + (k - q))
 *  and on padded keys. */
function applyCausalMask(scores: Tensor, attentionMask: Tensor | null): void {
  const [batch, heads, qLen, kLen] = scores.shape;
  const data = scores.storage.data;
  const offset = kLen - qLen;
  const mask = attentionMask ? attentionMask.to("int32").contiguous().dataSync() : null;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const base = (b * heads + h) * qLen * kLen;
      for (let i = 0; i < qLen; i++) {
        const row = base + i * kLen;
        for (let j = i + offset + 1; j < kLen; j++) data[row + j] = -Infinity;
        if (mask) for (let j = 0; j < kLen; j++) if (!mask[b * kLen + j]) data[row + j] = -Infinity;
      }
    }
  }
}

/** softmax over the last dim; rows that are all -inf (fully masked) give zeros instead of NaN, as TL. */
function softmaxRowsOrZero(scores: Tensor): Tensor {
  const p = scores.softmax(-1);
  const d = p.storage.data;
  for (let i = 0; i < d.length; i++) if (Number.isNaN(d[i])) d[i] = 0;
  return p;
}
