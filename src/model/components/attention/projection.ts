// q, k and v projections. Which kernels run follows from what the block feeds in (block-inputs.ts), never from
// the tensors themselves: one shared input takes one GEMM against [d_model, (head + 2 kv_head) * d_head], three
// inputs take three, per-head inputs ([batch, pos, head, d_model], use_attn_in / use_split_qkv_input) a batched
// GEMM per head. Rearranged weights are derived once and rebuilt only when a source is replaced or edited.
import { ModelError } from "../../../errors.js";
import { cat, type MatmulOptions, type MatmulPrecision, type Tensor } from "../../../tensor/index.js";

/** The attention inputs after ln1, by how they are projected. */
export type AttentionInputs =
  /** One input for q, k and v [batch, pos, d_model]: the fused QKV GEMM. */
  | { kind: "shared"; x: Tensor }
  /** Three inputs [batch, pos, d_model] (ln1 hooked by a writer, or shortformer positions on q and k). */
  | { kind: "separate"; q: Tensor; k: Tensor; v: Tensor }
  /** Per-head inputs: q [batch, pos, head, d_model], k and v [batch, pos, kv_head, d_model]. */
  | { kind: "perHead"; q: Tensor; k: Tensor; v: Tensor };

/** The parameters the projections read (the Attention's, replaced by loadStateDict). */
export interface QkvWeights {
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly dModel: number;
  readonly dHead: number;
  /** [n_heads, d_model, d_head] */
  readonly W_Q: Tensor;
  /** [n_kv_heads, d_model, d_head] */
  readonly _W_K: Tensor;
  readonly _W_V: Tensor;
  /** [n_heads, d_head] */
  readonly b_Q: Tensor;
  /** [n_kv_heads, d_head] */
  readonly _b_K: Tensor;
  readonly _b_V: Tensor;
}

/** q [batch, pos, head, d_head], k and v [batch, pos, kv_head, d_head] */
export type Qkv = [Tensor, Tensor, Tensor];

export class QkvProjection {
  private derived = new Map<string, { sources: Tensor[]; versions: number[]; value: Tensor }>();

  constructor(private readonly w: QkvWeights) {}

  /** precision: that of the GEMMs (RunContext.matmulPrecision). */
  project(inputs: AttentionInputs, precision: MatmulPrecision = "fp32"): Qkv {
    const w = this.w;
    const mm = { precision };
    switch (inputs.kind) {
      case "shared":
        return this.fusedQkv(inputs.x, mm);
      case "separate":
        return [
          this.flatProject(inputs.q, w.W_Q, w.b_Q, "Q", mm),
          this.flatProject(inputs.k, w._W_K, w._b_K, "K", mm),
          this.flatProject(inputs.v, w._W_V, w._b_V, "V", mm),
        ];
      case "perHead":
        return [
          this.perHeadProject(inputs.q, w.W_Q, w.b_Q, "Q", mm),
          this.perHeadProject(inputs.k, w._W_K, w._b_K, "K", mm),
          this.perHeadProject(inputs.v, w._W_V, w._b_V, "V", mm),
        ];
    }
  }

  /** Keys and values [batch, pos, kv_head, d_head] of one input x [batch, pos, d_model], in one GEMM (no queries). */
  keysValues(x: Tensor, precision: MatmulPrecision = "fp32"): [Tensor, Tensor] {
    const w = this.w;
    const W = this.derive("W_kv", [w._W_K, w._W_V], () => cat([this.flat(w._W_K), this.flat(w._W_V)], 1));
    const b = this.derive("b_kv", [w._b_K, w._b_V], () => cat([w._b_K.reshape(-1), w._b_V.reshape(-1)]));
    const kv = x.matmul(W, { precision }).add_(b); // [batch, pos, 2 kv_head * d_head]
    return [this.heads(kv, 0, w.nKvHeads), this.heads(kv, w.nKvHeads * w.dHead, w.nKvHeads)];
  }

  /** x [batch, pos, d_model] @ [d_model, (head + 2 kv_head) * d_head] → q, k, v */
  private fusedQkv(x: Tensor, mm: MatmulOptions): Qkv {
    const w = this.w;
    const W = this.derive("W_qkv", [w.W_Q, w._W_K, w._W_V], () =>
      cat([this.flat(w.W_Q), this.flat(w._W_K), this.flat(w._W_V)], 1),
    );
    const b = this.derive("b_qkv", [w.b_Q, w._b_K, w._b_V], () =>
      cat([w.b_Q.reshape(-1), w._b_K.reshape(-1), w._b_V.reshape(-1)]),
    );
    const hq = w.nHeads * w.dHead;
    const hkv = w.nKvHeads * w.dHead;
    const qkv = x.matmul(W, mm).add_(b); // [batch, pos, (head + 2 kv_head) * d_head]
    return [this.heads(qkv, 0, w.nHeads), this.heads(qkv, hq, w.nKvHeads), this.heads(qkv, hq + hkv, w.nKvHeads)];
  }

  /** x [batch, pos, d_model], W [heads, d_model, d_head], b [heads, d_head] → [batch, pos, heads, d_head] */
  private flatProject(x: Tensor, W: Tensor, b: Tensor, which: string, mm: MatmulOptions): Tensor {
    const [batch, pos] = x.shape as [number, number];
    const flatW = this.derive(`flat:${which}`, [W], () => this.flat(W));
    return x.matmul(flatW, mm).reshape(batch, pos, W.shape[0]!, this.w.dHead).add_(b);
  }

  /** x [batch, pos, heads, d_model], W [heads, d_model, d_head] → [batch, pos, heads, d_head]: batched over heads,
   *  [head, batch*pos, d_model] @ [head, d_model, d_head] */
  private perHeadProject(x: Tensor, W: Tensor, b: Tensor, which: string, mm: MatmulOptions): Tensor {
    const heads = W.shape[0]!;
    if (x.ndim !== 4 || x.shape[2] !== heads) {
      throw new ModelError(
        `attention: the per-head ${which} input has shape [${x.shape}], expected ${heads} heads` +
          (this.w.nKvHeads !== this.w.nHeads
            ? " (grouped-query attention: k and v inputs have n_key_value_heads heads; use_attn_in without use_split_qkv_input is not supported)"
            : ""),
      );
    }
    const [batch, pos] = x.shape as [number, number];
    const xh = x.permute(2, 0, 1, 3).reshape(heads, batch * pos, this.w.dModel);
    return xh.matmul(W, mm).reshape(heads, batch, pos, this.w.dHead).permute(1, 2, 0, 3).add(b).contiguous();
  }

  /** [batch, pos, heads, d_head] from columns from .. from + heads * d_head of fused projections [batch, pos, cols] */
  private heads(fused: Tensor, from: number, heads: number): Tensor {
    const [batch, pos] = fused.shape as [number, number];
    return fused.narrow(2, from, heads * this.w.dHead).reshape(batch, pos, heads, this.w.dHead);
  }

  /** [d_model, heads * d_head] from [heads, d_model, d_head] */
  private flat(W: Tensor): Tensor {
    return W.permute(1, 0, 2).reshape(this.w.dModel, W.shape[0]! * this.w.dHead);
  }

  /** A weight rearranged for compute, cached until a source tensor is replaced or edited in place. */
  private derive(key: string, sources: Tensor[], build: () => Tensor): Tensor {
    // a weight that requires grad: the value would keep the graph of the first forward (freed by its backward)
    if (sources.some((t) => t.requiresGrad)) return build();
    const hit = this.derived.get(key);
    if (hit && hit.sources.every((t, i) => t === sources[i] && t.storage.version === hit.versions[i])) return hit.value;
    const value = build().contiguous();
    value.storage.reusable = true;
    this.derived.set(key, { sources, versions: sources.map((t) => t.storage.version), value });
    return value;
  }
}
