// Token and positional embeddings and the unembedding.
import { ShapeError } from "../../errors.js";
import { Tensor, zeros } from "../../tensor/index.js";
import { HookPoint } from "../hook-point.js";

export class Embed {
  readonly hook = new HookPoint("hook_embed");
  /** [d_vocab, d_model] */
  W_E: Tensor;
  constructor(dVocab: number, dModel: number) { this.W_E = zeros([dVocab, dModel]); }
  params(): [string, Tensor][] { return [["W_E", this.W_E]]; }

  /** tokens [batch, pos] int32 → [batch, pos, d_model] */
  forward(tokens: Tensor): Tensor {
    return this.W_E.get(tokens);
  }
}

export class PosEmbed {
  readonly hook = new HookPoint("hook_pos_embed");
  /** [n_ctx, d_model] */
  W_pos: Tensor;
  constructor(nCtx: number, dModel: number) { this.W_pos = zeros([nCtx, dModel]); }
  params(): [string, Tensor][] { return [["W_pos", this.W_pos]]; }

  /** positions [batch, pos] int32 (already offset for padding / past keys) → [batch, pos, d_model];
   *  padded positions (mask 0) get zeros, as TL. */
  forward(positions: Tensor, attentionMask: Tensor | null): Tensor {
    const nCtx = this.W_pos.shape[0];
    const maxPos = positions.numel ? positions.max().item() : 0;
    if (maxPos >= nCtx) {
      throw new ShapeError(`position ${maxPos} is beyond the model's context length n_ctx = ${nCtx}; use at most ${nCtx} tokens`);
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
  constructor(dModel: number, dVocabOut: number) {
    this.W_U = zeros([dModel, dVocabOut]);
    this.b_U = zeros([dVocabOut]);
  }
  params(): [string, Tensor][] { return [["W_U", this.W_U], ["b_U", this.b_U]]; }

  /** [batch, pos, d_model] → [batch, pos, d_vocab_out] */
  forward(x: Tensor): Tensor {
    return x.matmul(this.W_U).add_(this.b_U);
  }
}
