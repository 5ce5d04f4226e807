// Finite-difference checks of cat, stack, gather, scatter, sort and topk values.
import { describe, expect, it } from "vitest";
import { cat, stack, tensor } from "../../src/index.js";
import { gradcheck, normal } from "./gradcheck.js";

describe("autograd: cat and stack", () => {
  it("cat along each dim, with a part that needs no gradient", async () => {
    const c = normal([2, 2], 3);
    await gradcheck((a, b) => cat([a, c, b], 1).exp(), [normal([2, 3], 1), normal([2, 1], 2)]);
    await gradcheck((a, b) => cat([a, b], 0).mul(normal([5, 3], 4)), [normal([2, 3], 1), normal([3, 3], 2)]);
  });
  it("cat skips empty 1-D parts; stack on a new dim", async () => {
    await gradcheck((a) => cat([normal([0]), a, a]).square(), [normal([3])]);
    await gradcheck((a, b) => stack([a, b, a], 1).tanh(), [normal([2, 3], 5), normal([2, 3], 6)]);
  });
});

describe("autograd: gather and scatter", () => {
  const index = tensor(
    [
      [0, 2, 2],
      [1, 0, 1],
    ],
    undefined,
    "int32",
  );
  it("gather (repeated indices add up)", async () => {
    await gradcheck((a) => a.gather(1, index).exp(), [normal([2, 4])]);
    await gradcheck((a) => a.gather(0, tensor([[1, 0, 1, 0]], undefined, "int32")).mul(3), [normal([2, 4])]);
  });
  const distinct = tensor(
    [
      [0, 2, 3],
      [1, 0, 2],
    ],
    undefined,
    "int32",
  );
  it("scatter: the overwritten elements of self get none; src gets its written elements", async () => {
    await gradcheck((a, s) => a.scatter(1, distinct, s).square(), [normal([2, 4], 7), normal([2, 3], 8)]);
    await gradcheck(
      (a, s) => a.scatter(1, distinct, s.get(":", "0:3")).square(),
      [normal([2, 4], 7), normal([2, 5], 8)],
    );
  });
  it("scatter with reduce add (repeated indices), and a 0-d src", async () => {
    await gradcheck((a, s) => a.scatter(1, index, s, "add").square(), [normal([2, 4], 9), normal([2, 3], 10)]);
    await gradcheck((a, s) => a.scatter(1, distinct, s).exp(), [normal([2, 4], 11), normal([], 12)]);
  });
});

describe("autograd: sort and topk", () => {
  const x = normal([3, 6], 13);
  it("sort values along a dim, ascending and descending", async () => {
    await gradcheck((a) => a.sort(1).values.mul(tensor([1, 2, 3, 4, 5, 6], undefined, "float64")), [x]);
    await gradcheck((a) => a.sort(0, true).values.exp(), [x]);
  });
  it("topk through the heap (k small) and through a sort", async () => {
    const wide = normal([2, 40], 14);
    await gradcheck((a) => a.topk(2).values.square(), [wide]);
    await gradcheck((a) => a.topk(4, 1, false).values.square(), [x]);
  });
  it("indices carry no gradient", async () => {
    const a = x.detach().requiresGrad_();
    const { values, indices } = a.topk(2);
    expect(values.requiresGrad).toBe(true);
    expect(indices.requiresGrad).toBe(false);
  });
});
