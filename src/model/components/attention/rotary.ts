// Rotary embeddings' positions (TL's apply_rotary with get_offset_position_ids): the rotation itself is the
// tensor op `rotary`.
import { ModelError } from "../../../errors.js";
import { arange, rotary, type RotaryOptions, type Tensor } from "../../../tensor/index.js";

/** Absolute positions int32 [batch, pos] of activations whose first position is `offset`; with an attention mask
 *  over the offset + pos positions, a position counts the real tokens before it (TL's get_offset_position_ids). */
export function rotaryPositions(batch: number, pos: number, offset: number, attentionMask: Tensor | null): Tensor {
  if (!attentionMask)
    return arange(offset, offset + pos, 1, "int32")
      .unsqueeze(0)
      .expand(batch, pos);
  if (attentionMask.shape[1] !== offset + pos) {
    throw new ModelError(
      `rotary: the attention mask covers ${attentionMask.shape[1]} positions, expected ${offset + pos}`,
    );
  }
  return attentionMask.to("int32").cumsum(1).sub(1).clamp(0).narrow(1, offset, pos).to("int32");
}

/** x [batch, pos, heads, d_head] whose first position is `offset`, rotated: → [batch, pos, heads, d_head] */
export function applyRotary(x: Tensor, offset: number, attentionMask: Tensor | null, o: RotaryOptions): Tensor {
  const positions = rotaryPositions(x.shape[0]!, x.shape[1]!, offset, attentionMask);
  if (positions.numel && positions.max().item() >= o.nCtx) {
    throw new ModelError(`rotary: position ${positions.max().item()} is beyond n_ctx = ${o.nCtx}`);
  }
  return rotary(x, positions, o);
}
