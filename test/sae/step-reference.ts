// The SAE training step's loss through the tensor autograd, for the hand-written step's tests: its gradients and the
// loss's terms, with the sizes read off the parameters (batch = x.length / d_in).
import { expect } from "vitest";
import { Tensor, zerosLike } from "../../src/index.js";
import type { SaeParams } from "../../src/sae/train/params.js";
import type { Sparsity } from "../../src/sae/train/sae-step.js";
import type { AuxKLoss } from "../../src/sae/train/aux-k.js";

export async function autogradGrads(p: SaeParams, x: Float32Array, sparsity: Sparsity, aux?: AuxKLoss) {
  const D = p.dIn,
    S = p.dSae,
    B = x.length / D;
  const W_enc = Tensor.fromTypedArray(p.W_enc.slice(), [D, S]).requiresGrad_();
  const W_dec = Tensor.fromTypedArray(p.W_dec.slice(), [S, D]).requiresGrad_();
  const b_enc = Tensor.fromTypedArray(p.b_enc.slice(), [S]).requiresGrad_();
  const b_dec = Tensor.fromTypedArray(p.b_dec.slice(), [D]).requiresGrad_();
  const xt = Tensor.fromTypedArray(x, [B, D]);
  const pre = xt.sub(b_dec).matmul(W_enc).add(b_enc);
  let f: Tensor;
  if (sparsity.kind === "l1") f = pre.relu();
  else {
    const { values, indices } = pre.topk(sparsity.k, -1);
    f = zerosLike(pre).scatter(-1, indices, values.relu());
  }
  const xhat = f.matmul(W_dec).add(b_dec);
  const mse = xhat.sub(xt).square().sum(-1).mean();
  const l1 = f.mul(W_dec.norm(1)).sum(-1).mean();
  let loss = sparsity.kind === "l1" ? mse.add(l1.mul(sparsity.coefficient)) : mse;
  let auxLoss = 0;
  if (aux) {
    // SAELens's calculate_topk_aux_loss: the k_aux largest pre-activations among the dead features decode the residual
    const alive = Float32Array.from({ length: S }, (_, j) => (aux.dead.includes(j) ? 0 : -1e9));
    const m = Math.min(aux.kAux, aux.dead.length);
    const { indices } = pre.add(Tensor.fromTypedArray(alive, [S])).topk(m, -1);
    const acts = zerosLike(pre).scatter(-1, indices, pre.gather(-1, indices));
    const residual = xt.sub(xhat).detach();
    const a = acts
      .matmul(W_dec)
      .add(b_dec)
      .sub(residual)
      .square()
      .sum(-1)
      .mean()
      .mul(aux.coefficient * Math.min(aux.dead.length / aux.kAux, 1));
    auxLoss = a.item();
    loss = loss.add(a);
  }
  await loss.backward();
  return {
    W_enc: W_enc.grad!,
    W_dec: W_dec.grad!,
    b_enc: b_enc.grad!,
    b_dec: b_dec.grad!,
    mse: mse.item(),
    l1: l1.item(),
    auxLoss,
    f: f.dataSync() as Float32Array,
  };
}

/** a matches b within a relative tolerance (absolute near 0). */
export function expectClose(a: Float32Array, b: Tensor, tol = 2e-5): void {
  const ref = b.dataSync() as Float32Array;
  expect(a.length).toBe(ref.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - ref[i]!) / (1e-3 + Math.abs(ref[i]!)));
  expect(worst).toBeLessThan(tol * 50);
}
