// Finite-difference checks of the reductions over dims with and without keepdim, of the ones composed
// from them (mean, var, std, norm, logsumexp), cumsum, and size-0/1 edges.
import { describe, expect, it } from "vitest";
import { tensor } from "../../src/index.js";
import { gradcheck, normal, uniform } from "./gradcheck.js";

describe("autograd: sum and mean", () => {
  it("over everything, one dim, several dims, keepdim, negative dims", async () => {
    const x = normal([2, 3, 4]);
    await gradcheck((a) => a.sum(), [x]);
    await gradcheck((a) => a.sum(1), [x]);
    await gradcheck((a) => a.sum([0, 2], true), [x]);
    await gradcheck((a) => a.mean(-1), [x]);
    await gradcheck((a) => a.mean([0, 1], true), [x]);
  });
  it("a 0-d tensor and a size-1 dim", async () => {
    await gradcheck((a) => a.sum().mul(a), [normal([])]);
    await gradcheck((a) => a.mean(0), [normal([1, 3])]);
  });
  it("an empty dim: sum is 0 and the gradient is empty", async () => {
    const x = normal([0, 3]).requiresGrad_();
    await x.sum(0).sum().backward();
    expect(x.grad!.shape).toEqual([0, 3]);
    await gradcheck((a) => a.sum(0), [normal([0, 3])]);
  });
});

describe("autograd: max, min, amax, prod", () => {
  it("max/min over a dim and everything (distinct values)", async () => {
    const x = normal([3, 5], 3);
    await gradcheck((a) => a.max(1), [x]);
    await gradcheck((a) => a.min(0, true), [x]);
    await gradcheck((a) => a.max(), [x]);
    await gradcheck((a) => a.amax([0, 1]), [x]);
  });
  it("ties share the gradient evenly", async () => {
    const x = tensor([1, 3, 3], undefined, "float64").requiresGrad_();
    await x.max().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([0, 0.5, 0.5]);
  });
  it("prod over a dim", async () => {
    await gradcheck((a) => a.prod(1), [uniform([2, 3], 0.5, 2)]);
  });
});

describe("autograd: composed reductions", () => {
  const x = normal([3, 4], 5);
  it("var and std (Bessel and population)", async () => {
    await gradcheck((a) => a.var(1), [x]);
    await gradcheck((a) => a.std(0, true, 0), [x]);
  });
  it("norm p = 1, 2, 3, inf", async () => {
    await gradcheck((a) => a.norm(1), [x]);
    await gradcheck((a) => a.norm(-1, true, 2), [x]);
    await gradcheck((a) => a.norm(0, false, 1), [x]);
    await gradcheck((a) => a.norm(undefined, false, 3), [x]);
    await gradcheck((a) => a.norm(1, false, Infinity), [x]);
  });
  it("logsumexp, including a row with -inf entries", async () => {
    await gradcheck((a) => a.logsumexp(1), [x]);
    await gradcheck((a) => a.logsumexp([0, 1], true), [x]);
    const m = tensor([
      [0, 0, 1, 1],
      [1, 1, 1, 1],
    ]).eq(0);
    await gradcheck((a) => a.maskedFill(m, -Infinity).logsumexp(1), [x.get("0:2").detach()]);
  });
  it("cumsum along each dim", async () => {
    await gradcheck((a) => a.cumsum(0), [x]);
    await gradcheck((a) => a.cumsum(-1), [x]);
  });
});
