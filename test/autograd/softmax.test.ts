// Finite-difference checks of softmax and log-softmax along any dim, with masked (-inf) entries and with
// fully masked rows, whose gradient is zero and never NaN.
import { describe, expect, it } from "vitest";
import { tensor, where } from "../../src/index.js";
import { gradcheck, normal } from "./gradcheck.js";

describe("autograd: softmax and logSoftmax", () => {
  const x = normal([2, 3, 4]);
  for (const dim of [0, 1, -1]) {
    it(`along dim ${dim}`, async () => {
      await gradcheck((a) => a.softmax(dim), [x]);
      await gradcheck((a) => a.logSoftmax(dim), [x]);
    });
  }
  it("size-0 rows and columns", async () => {
    await gradcheck((a) => a.softmax(-1), [normal([0, 3], 9)]);
    await gradcheck((a) => a.logSoftmax(-1), [normal([2, 0], 9)]);
    await gradcheck((a) => a.softmax(0), [normal([], 9)]);
  });
  it("a permuted input and a size-1 dim", async () => {
    await gradcheck((a) => a.softmax(0), [normal([4, 3], 2).mT]);
    await gradcheck((a) => a.logSoftmax(1), [normal([3, 1], 3)]);
  });

  // a causal-style mask: row 0 sees one column, row 1 two, row 2 none (fully masked)
  const mask = tensor([
    [false, true, true],
    [false, false, true],
    [true, true, true],
  ]);
  it("partially masked rows: masked entries get probability 0 and gradient 0", async () => {
    await gradcheck((a) => a.maskedFill(mask.get("0:2"), -Infinity).softmax(-1), [normal([2, 3], 4)]);
  });
  it("a fully masked row: NaN probabilities (as torch), zero gradient and no NaN", async () => {
    const a = normal([3, 3], 5).requiresGrad_();
    const p = a.maskedFill(mask, -Infinity).softmax(-1);
    expect(Number.isNaN(p.get(2, 0).item())).toBe(true);
    // the usual fix: NaN rows to zero
    const fixed = where(p.isnan(), 0, p);
    await fixed
      .mul(normal([3, 3], 6))
      .sum()
      .backward();
    const g = a.grad!.toArray() as number[][];
    expect(g[2]).toEqual([0, 0, 0]);
    expect(g[0]!.slice(1)).toEqual([0, 0]);
    expect(g.flat().some(Number.isNaN)).toBe(false);
    await gradcheck(
      (b) => {
        const q = b.maskedFill(mask, -Infinity).softmax(-1);
        return where(q.isnan(), 0, q);
      },
      [normal([3, 3], 7)],
    );
  });
  it("log-softmax over a fully masked row has zero gradient there", async () => {
    await gradcheck(
      (b) => {
        const q = b.maskedFill(mask, -Infinity).logSoftmax(-1);
        return where(q.isinf().logicalOr(q.isnan()), 0, q);
      },
      [normal([3, 3], 8)],
    );
  });
});
