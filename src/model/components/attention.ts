// Multi-head attention with TransformerLens's hooks and numerics: scores = q·k / attn_scale, masked entries
// shown as -inf in hook_attn_scores, pattern = softmax (rows with no key left become zeros, as TL).
import { cat, Tensor, zeros } from "../../tensor/index.js";
import { HookPoint } from "../hook-point.js";
import type { KeyValueCacheEntry } from "../kv-cache.js";

export interface AttentionMasking {
  /** [batch, key_pos] 1 = real token, 0 = padding; null when nothing is padded */
  attentionMask: Tensor | null;
  /** Keys/values of earlier positions (generation); this forward's are appended to it. */
  kvCache?: KeyValueCacheEntry;
}

export class Attention {
  readonly hookQ: HookPoint;
  readonly hookK: HookPoint;
  readonly hookV: HookPoint;
  readonly hookZ: HookPoint;
  readonly hookAttnScores: HookPoint;
  readonly hookPattern: HookPoint;
  readonly hookResult: HookPoint;
  /** [n_heads, d_model, d_head] */
  W_Q: Tensor; W_K: Tensor; W_V: Tensor;
  /** [n_heads, d_head, d_model] */
  W_O: Tensor;
  /** [n_heads, d_head] */
  b_Q: Tensor; b_K: Tensor; b_V: Tensor;
  /** [d_model] */
  b_O: Tensor;
  /** Emit hook_result (per-head outputs [batch, pos, head, d_model]); TL's use_attn_result. */
  useAttnResult = false;

  constructor(prefix: string, readonly nHeads: number, readonly dModel: number, readonly dHead: number, readonly attnScale: number,
    readonly causal: boolean) {
    const hp = (n: string): HookPoint => new HookPoint(`${prefix}.${n}`);
    this.hookK = hp("hook_k");
    this.hookQ = hp("hook_q");
    this.hookV = hp("hook_v");
    this.hookZ = hp("hook_z");
    this.hookAttnScores = hp("hook_attn_scores");
    this.hookPattern = hp("hook_pattern");
    this.hookResult = hp("hook_result");
    this.W_Q = zeros([nHeads, dModel, dHead]);
    this.W_K = zeros([nHeads, dModel, dHead]);
    this.W_V = zeros([nHeads, dModel, dHead]);
    this.W_O = zeros([nHeads, dHead, dModel]);
    this.b_Q = zeros([nHeads, dHead]);
    this.b_K = zeros([nHeads, dHead]);
    this.b_V = zeros([nHeads, dHead]);
    this.b_O = zeros([dModel]);
  }

  /** Module order (TL's hook_dict order). */
  get hookPoints(): HookPoint[] {
    return [this.hookK, this.hookQ, this.hookV, this.hookZ, this.hookAttnScores, this.hookPattern, this.hookResult];
  }

  params(): [string, Tensor][] {
    return [["W_Q", this.W_Q], ["W_K", this.W_K], ["W_V", this.W_V], ["W_O", this.W_O],
      ["b_Q", this.b_Q], ["b_K", this.b_K], ["b_V", this.b_V], ["b_O", this.b_O]];
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

  /** [d_model, head * d_head] */
  private flat(W: Tensor): Tensor {
    return W.permute(1, 0, 2).reshape(this.dModel, this.nHeads * this.dHead);
  }

  /** q, k and v from one input x [batch, pos, d_model] with one GEMM against [d_model, 3 * head * d_head]. */
  private projectQkv(x: Tensor): [Tensor, Tensor, Tensor] {
    const W = this.derive("W_qkv", [this.W_Q, this.W_K, this.W_V], () => cat([this.flat(this.W_Q), this.flat(this.W_K), this.flat(this.W_V)], 1));
    const b = this.derive("b_qkv", [this.b_Q, this.b_K, this.b_V], () => cat([this.b_Q.reshape(-1), this.b_K.reshape(-1), this.b_V.reshape(-1)]));
    const [batch, pos] = x.shape;
    const hd = this.nHeads * this.dHead;
    const qkv = x.matmul(W).add_(b); // [batch, pos, 3 * head * d_head]
    const part = (i: number): Tensor => qkv.narrow(2, i * hd, hd).reshape(batch, pos, this.nHeads, this.dHead);
    return [part(0), part(1), part(2)];
  }

  /** x [batch, pos, d_model] (or [batch, pos, head, d_model] with split inputs) → [batch, pos, head, d_head] */
  private project(x: Tensor, W: Tensor, b: Tensor): Tensor {
    if (x.ndim === 4) {
      // per-head inputs: batched over heads, [head, batch*pos, d_model] @ [head, d_model, d_head]
      const [batch, pos] = x.shape;
      const xh = x.permute(2, 0, 1, 3).reshape(this.nHeads, batch * pos, this.dModel);
      return xh.matmul(W).reshape(this.nHeads, batch, pos, this.dHead).permute(1, 2, 0, 3).add(b).contiguous();
    }
    const [batch, pos] = x.shape;
    const flatW = this.derive(`flat:${W === this.W_Q ? "Q" : W === this.W_K ? "K" : "V"}`, [W], () => this.flat(W));
    return x.matmul(flatW).reshape(batch, pos, this.nHeads, this.dHead).add_(b);
  }

  /** Queries, keys and values from their (normalised) inputs; returns [batch, pos, d_model]. */
  async forward(qIn: Tensor, kIn: Tensor, vIn: Tensor, masking: AttentionMasking): Promise<Tensor> {
    const fused = qIn === kIn && kIn === vIn && qIn.ndim === 3 ? this.projectQkv(qIn) : null;
    const q = await this.hookQ.run(fused ? fused[0] : this.project(qIn, this.W_Q, this.b_Q));
    let k = await this.hookK.run(fused ? fused[1] : this.project(kIn, this.W_K, this.b_K));
    let v = await this.hookV.run(fused ? fused[2] : this.project(vIn, this.W_V, this.b_V));
    // hooks saw only the new positions (as TL); attention reads every cached one
    if (masking.kvCache) ({ k, v } = masking.kvCache.append(k, v));
    const [batch, qPos] = q.shape;
    // [batch, head, q, d_head] @ [batch, head, d_head, k] → [batch, head, q, k]
    const scores = q.permute(0, 2, 1, 3).matmul(k.permute(0, 2, 3, 1)).div_(this.attnScale);
    if (this.causal) applyCausalMask(scores, masking.attentionMask);
    const hookedScores = await this.hookAttnScores.run(scores);
    const pattern = await this.hookPattern.run(softmaxRowsOrZero(hookedScores));
    // [batch, head, q, k] @ [batch, head, k, d_head] → [batch, q, head, d_head]
    const z = await this.hookZ.run(pattern.matmul(v.permute(0, 2, 1, 3)).permute(0, 2, 1, 3).contiguous());
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
