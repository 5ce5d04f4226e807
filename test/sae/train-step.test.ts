// The SAE trainer's hand-written step: gradients equal the tensor autograd's of the same loss, TopK keeps exactly
// k, Adam's update is torch's, unit-norm decoder handling keeps rows at norm 1.
import { describe, expect, it } from "vitest";
import { Adam } from "../../src/sae/train/adam.js";
import { initSaeParams, rowNorm, type SaeParams } from "../../src/sae/train/params.js";
import { SaeStep, type Sparsity } from "../../src/sae/train/sae-step.js";
import { kthLargest } from "../../src/sae/train/select.js";
import { applyUpdate } from "../../src/sae/train/trainer.js";
import { DeadFeatureTracker, resampleFeatures } from "../../src/sae/train/resample.js";
import { Generator } from "../../src/tensor/index.js";
import { autogradGrads, expectClose } from "./step-reference.js";

const B = 24,
  D = 6,
  S = 16;

function batch(seed: number): Float32Array {
  const g = new Generator(seed);
  return Float32Array.from({ length: B * D }, () => g.normal());
}

/** Params with nonzero biases and non-unit decoder rows, so every gradient term shows. */
function params(): SaeParams {
  const p = initSaeParams(D, S, 3, 0.7);
  const g = new Generator(9);
  for (let j = 0; j < S; j++) p.b_enc[j] = 0.3 * g.normal();
  for (let i = 0; i < D; i++) p.b_dec[i] = 0.2 * g.normal();
  for (let j = 0; j < S; j++) for (let i = 0; i < D; i++) p.W_dec[j * D + i]! *= 1 + j / S;
  return p;
}

describe("SaeStep (hand-written forward / backward)", () => {
  for (const sparsity of [
    { kind: "l1", coefficient: 0.8 },
    { kind: "topk", k: 4 },
  ] as Sparsity[]) {
    it(`matches the autograd's gradients and loss terms (${sparsity.kind})`, async () => {
      const p = params(),
        x = batch(1);
      const step = new SaeStep(p, B);
      const fired = new Float64Array(S);
      const stats = step.run(x, sparsity, fired);
      const ref = await autogradGrads(p, x, sparsity);
      expect(stats.mse).toBeCloseTo(ref.mse, 4);
      expect(stats.l1).toBeCloseTo(ref.l1, 4);
      for (const k of ["W_enc", "W_dec", "b_enc", "b_dec"] as const) expectClose(step.grads[k], ref[k]);
      if (sparsity.kind === "topk") expect(stats.l0).toBeLessThanOrEqual(4);
      expect(fired.reduce((a, b) => a + b, 0)).toBeCloseTo(stats.l0 * B, 6);
    });
  }

  // 5 dead features with k_aux 3 (a selection per row, scale 1) and 2 with k_aux 4 (all of them, scale 1/2)
  for (const aux of [
    { dead: [1, 4, 7, 11, 15], coefficient: 0.5, kAux: 3 },
    { dead: [2, 9], coefficient: 2, kAux: 4 },
  ]) {
    it(`TopK's auxiliary loss (AuxK) matches the autograd's (${aux.dead.length} dead, k_aux ${aux.kAux})`, async () => {
      const p = params(),
        x = batch(2),
        sparsity: Sparsity = { kind: "topk", k: 4 };
      const step = new SaeStep(p, B);
      const stats = step.run(x, sparsity, new Float64Array(S), aux);
      const ref = await autogradGrads(p, x, sparsity, aux);
      expect(ref.auxLoss).toBeGreaterThan(0.01);
      expect(stats.auxLoss).toBeCloseTo(ref.auxLoss, 4);
      for (const k of ["W_enc", "W_dec", "b_enc", "b_dec"] as const) expectClose(step.grads[k], ref[k]);
      // it changes the dead features' encoder columns only
      const plain = new SaeStep(p, B);
      plain.run(x, sparsity, new Float64Array(S));
      const moved = (j: number): number =>
        Math.hypot(
          ...Array.from({ length: D }, (_, i) => step.grads.W_enc[i * S + j]! - plain.grads.W_enc[i * S + j]!),
        );
      for (let j = 0; j < S; j++) {
        if (aux.dead.includes(j)) expect(moved(j)).toBeGreaterThan(1e-4);
        else expect(moved(j)).toBe(0);
      }
    });
  }

  it("TopK keeps exactly k, ties at the cut included", () => {
    const p = initSaeParams(2, 5, 0);
    // W_enc = identity-like on the first two features and copies of them: pre = [x0, x1, x0, x1, x0]
    p.W_enc.fill(0);
    p.W_enc.set([1, 0, 1, 0, 1], 0);
    p.W_enc.set([0, 1, 0, 1, 0], 5);
    const step = new SaeStep(p, 1);
    const fired = new Float64Array(5);
    const stats = step.run(Float32Array.from([2, 1]), { kind: "topk", k: 2 }, fired);
    expect(stats.l0).toBe(2);
    // the value 2 appears at features 0, 2, 4: the first two in index order are kept
    expect([...fired]).toEqual([1, 0, 1, 0, 0]);
  });

  it("kthLargest finds the k-th largest and rejects k out of range", () => {
    const v = Float32Array.from([3, -1, 7, 7, 0, 2]);
    const scratch = new Float32Array(6);
    expect([1, 2, 3, 4, 5, 6].map((k) => kthLargest(v, 0, 6, k, scratch))).toEqual([7, 7, 3, 2, 0, -1]);
    expect(() => kthLargest(v, 0, 6, 0, scratch)).toThrow(/k = 0 must lie in 1\.\.6/);
  });
});

describe("Adam", () => {
  it("takes torch.optim.Adam's steps (bias-corrected)", () => {
    const w = Float32Array.from([1, -2]);
    const adam = new Adam([w]);
    adam.begin();
    adam.update(w, Float32Array.from([0.5, -4]), 0.1);
    // first step: m̂ = g, v̂ = g², so w −= lr · g / (|g| + eps)
    expect(w[0]).toBeCloseTo(0.9, 6);
    expect(w[1]).toBeCloseTo(-1.9, 6);
    adam.begin();
    adam.update(w, Float32Array.from([1, 0]), 0.1);
    // second step by hand: m = 0.9·0.1·0.5 + 0.1·1 = 0.145, v = 0.999·0.001·0.25 + 0.001 = 0.00124975
    const m = 0.145 / (1 - 0.81),
      v = 0.00124975 / (1 - 0.999 ** 2);
    expect(w[0]).toBeCloseTo(0.9 - (0.1 * m) / (Math.sqrt(v) + 1e-8), 6);
    expect(() => adam.update(new Float32Array(2), new Float32Array(2), 0.1)).toThrow(
      /not one of the optimizer's parameters/,
    );
    expect(() => new Adam([w], { beta1: 1 })).toThrow(/betas must lie in \[0, 1\)/);
  });
});

describe("decoder norm and dead features", () => {
  it("unit decoder handling keeps every row at norm 1", () => {
    const p = params(),
      step = new SaeStep(p, B);
    const adam = new Adam([p.W_enc, p.W_dec, p.b_enc, p.b_dec]);
    for (let i = 0; i < 3; i++) {
      step.run(batch(i), { kind: "topk", k: 3 }, new Float64Array(S));
      applyUpdate(p, step.grads, adam, 0.05, "unit");
    }
    for (let j = 0; j < S; j++) expect(rowNorm(p.W_dec, j, D)).toBeCloseTo(1, 5);
  });

  it("tracks silent features and resamples them toward badly reconstructed inputs", () => {
    const tracker = new DeadFeatureTracker(3);
    tracker.record(Float64Array.from([1, 0, 0]), 100);
    tracker.record(Float64Array.from([0, 2, 0]), 100);
    expect(tracker.dead(200)).toEqual([2]);
    expect(tracker.dead(100)).toEqual([0, 2]);
    const p = params(),
      adam = new Adam([p.W_enc, p.W_dec, p.b_enc, p.b_dec]);
    const x = batch(4);
    // only example 5 has any error: it is the one drawn
    const loss = new Float32Array(B);
    loss[5] = 1;
    resampleFeatures(p, [2], x, loss, adam, new Generator(0));
    const norm = Math.hypot(...x.subarray(5 * D, 6 * D));
    for (let i = 0; i < D; i++) expect(p.W_dec[2 * D + i]).toBeCloseTo(x[5 * D + i]! / norm, 6);
    expect(p.b_enc[2]).toBe(0);
  });
});
