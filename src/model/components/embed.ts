// Token and positional embeddings and the unembedding.
import { ShapeError } from "../../errors.js";
import { softCap, Tensor, zeros, type MatmulPrecision } from "../../tensor/index.js";
import { HookPoint } from "../hook-point.js";
import type { RunContext } from "../run/context.js";
import { Norm } from "./layer-norm.js";

export class Embed {
  readonly hook = new HookPoint("hook_embed");
  /** [d_vocab, d_model] */
  W_E: Tensor;
  /** post_embedding_ln (BLOOM): TL's `embed.ln`, a LayerNorm on the looked-up embeddings (never folded). */
  readonly ln: Norm | null;
  constructor(dVocab: number, dModel: number, postEmbeddingLn: { eps: number } | null = null) {
    this.W_E = zeros([dVocab, dModel]);
    this.ln = postEmbeddingLn ? new Norm("embed.ln", "LN", dModel, postEmbeddingLn.eps) : null;
  }
  params(): [string, Tensor][] {
    return [["W_E", this.W_E]];
  }

  /** tokens [batch, pos] int32 → [batch, pos, d_model] (through embed.ln when present) */
  forward(tokens: Tensor, ctx: RunContext): Promise<Tensor> {
    const e = this.W_E.get(tokens);
    return this.ln ? this.ln.forward(e, ctx) : Promise.resolve(e);
  }
}

export class PosEmbed {
  readonly hook = new HookPoint("hook_pos_embed");
  /** [n_ctx, d_model] */
  W_pos: Tensor;
  constructor(nCtx: number, dModel: number) {
    this.W_pos = zeros([nCtx, dModel]);
  }
  params(): [string, Tensor][] {
    return [["W_pos", this.W_pos]];
  }

  /** positions [batch, pos] int32 (already offset for padding / past keys) → [batch, pos, d_model];
   *  padded positions (mask 0) get zeros, as TL. */
  forward(positions: Tensor, attentionMask: Tensor | null): Tensor {
    const nCtx = this.W_pos.shape[0]!;
    const maxPos = positions.numel ? positions.max().item() : 0;
    if (maxPos >= nCtx) {
      throw new ShapeError(
        `position ${maxPos} is beyond the model's context length n_ctx = ${nCtx}; use at most ${nCtx} tokens`,
      );
    }
    const out = this.W_pos.get(positions);
    if (attentionMask) out.set([attentionMask.eq(0)], 0);
    return out;
  }
}

export class Unembed {
  /** [d_model, d_vocab_out] */
  W_U: Tensor;
  /** [d_vocab_out] */
  b_U: Tensor;
  /** output_logits_soft_cap when positive (Gemma-2), else null. TL caps in HookedTransformer.forward, right after
   *  the unembed; capping here gives every path to the logits (the forward, the runner) the same numbers. */
  readonly softCap: number | null;
  constructor(dModel: number, dVocabOut: number, outputLogitsSoftCap = -1) {
    this.W_U = zeros([dModel, dVocabOut]);
    this.b_U = zeros([dVocabOut]);
    this.softCap = outputLogitsSoftCap > 0 ? outputLogitsSoftCap : null;
  }
  params(): [string, Tensor][] {
    return [
      ["W_U", this.W_U],
      ["b_U", this.b_U],
    ];
  }

  /** [batch, pos, d_model] → [batch, pos, d_vocab_out] (soft-capped when the config says so) */
  forward(x: Tensor, precision: MatmulPrecision = "fp32"): Tensor {
    const logits = x.matmul(this.W_U, { precision }).add_(this.b_U);
    return this.softCap === null ? logits : softCap(logits, this.softCap);
  }
}
