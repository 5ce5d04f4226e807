// The vector-Jacobian product of matmul (torch semantics: 1-D operands, broadcast batch dims). The batch
// dims a broadcast operand gained are summed away by the engine.
import type { Tensor } from "../tensor.js";
import { record } from "./tape.js";

/** out = a @ b: da = g @ bᵀ, db = aᵀ @ g (with 1-D operands shown as a row / a column). */
export function trackMatmul(a: Tensor, b: Tensor, out: Tensor): Tensor {
  return record(
    "matmul",
    [a, b],
    out,
    (g, needs) => {
      const a2 = a.ndim === 1 ? a.unsqueeze(0) : a; // [..., m, k]
      const b2 = b.ndim === 1 ? b.unsqueeze(1) : b; // [..., k, n]
      let g2 = g; // shown as [..., m, n]
      if (a.ndim === 1 && b.ndim === 1) g2 = g.reshape(1, 1);
      else if (a.ndim === 1) g2 = g.unsqueeze(-2);
      else if (b.ndim === 1) g2 = g.unsqueeze(-1);
      let ga = needs[0] ? g2.matmul(b2.mT) : null;
      let gb = needs[1] ? (b2.ndim === 2 && a2.ndim > 2 ? foldedWeightGrad(a2, g2) : a2.mT.matmul(g2)) : null;
      if (ga && a.ndim === 1) ga = ga.squeeze(-2);
      if (gb && b.ndim === 1) gb = gb.squeeze(-1);
      return [ga, gb];
    },
    { saved: [a, b] },
  );
}

/** d b for [..., m, k] @ [k, n]: one [k, (... m)] @ [(... m), n] GEMM rather than a batch of them summed. */
function foldedWeightGrad(a: Tensor, g: Tensor): Tensor {
  const k = a.shape[a.ndim - 1]!;
  const n = g.shape[g.ndim - 1]!;
  return a.reshape(-1, k).mT.matmul(g.reshape(-1, n));
}
