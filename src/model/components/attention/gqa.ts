// Grouped-query attention (TL's GroupedQueryAttention): n_kv_heads key/value heads, each serving
// n_heads / n_kv_heads query heads (TL's repeat_kv_heads, a repeat_interleave over heads).
import type { Tensor } from "../../../tensor/index.js";

/** Weights [n_kv_heads, ...rest] → [n_kv_heads * repeat, ...rest], each key/value head repeated for its query heads. */
export function repeatWeightHeads(t: Tensor, repeat: number): Tensor {
  if (repeat === 1) return t;
  const [kv, ...rest] = t.shape as [number, ...number[]];
  return t
    .unsqueeze(1)
    .expand(kv, repeat, ...rest)
    .reshape(kv * repeat, ...rest);
}

/** Keys or values [batch, pos, kv_head, d_head] → [batch, pos, kv_head * repeat, d_head]. */
export function repeatKvHeads(t: Tensor, repeat: number): Tensor {
  if (repeat === 1) return t;
  const [batch, pos, kv, d] = t.shape as [number, number, number, number];
  return t
    .unsqueeze(3)
    .expand(batch, pos, kv, repeat, d)
    .reshape(batch, pos, kv * repeat, d);
}
