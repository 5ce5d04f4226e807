// topk's heap path (k much smaller than the dim) agrees with the full sort, including ties and NaN.
import { describe, expect, it } from "vitest";
import { Generator, randn, tensor } from "../src/index.js";

describe("topk", () => {
  it("selection equals sorting on random rows, both directions, any dim", () => {
    const g = new Generator(5);
    const x = randn([3, 200, 4], { generator: g }).round(); // many ties
    x.set([1, 7, 2], NaN);
    for (const dim of [0, 1, 2]) {
      for (const largest of [true, false]) {
        const size = x.shape[dim]!;
        const k = Math.max(1, Math.floor(size / 10));
        const fast = x.topk(k, dim, largest);
        const full = x.sort(dim, largest);
        expect(fast.values.toArray()).toEqual(full.values.narrow(dim, 0, k).toArray());
        expect(fast.indices.toArray()).toEqual(full.indices.narrow(dim, 0, k).toArray());
      }
    }
  });
  it("keeps the lower index first on ties", () => {
    const t = tensor([1, 5, 5, 0, 5, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(t.topk(2).indices.toArray()).toEqual([1, 2]);
  });
});
