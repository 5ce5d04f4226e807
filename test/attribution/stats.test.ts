// Pearson and Spearman against values worked by hand (and scipy's conventions for ties).
import { describe, expect, it } from "vitest";
import { pearson, ranks, spearman } from "../../src/analysis/attribution/index.js";

describe("stats", () => {
  it("pearson: ±1 on lines, a hand-computed value otherwise, NaN for a constant series", () => {
    expect(pearson([1, 2, 3, 4], [3, 5, 7, 9])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    // x = [1,2,3,4,5], y = [2,1,4,3,5]: Σdxdy = 8, Σdx² = Σdy² = 10 → 0.8
    expect(pearson([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])).toBeCloseTo(0.8, 12);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
  });

  it("ranks share the mean rank on ties; spearman is pearson on ranks", () => {
    expect(Array.from(ranks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 12); // monotone, not linear
    expect(pearson([1, 2, 3, 4], [1, 8, 27, 64])).toBeLessThan(0.99);
    // scipy.stats.spearmanr([1,2,2,3], [1,3,2,4]) = 0.9486832980505138
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(0.9486832980505138, 12);
  });

  it("refuses unequal lengths, fewer than 2 pairs and non-finite values", () => {
    expect(() => pearson([1, 2], [1])).toThrow(/2 x values but 1 y values/);
    expect(() => spearman([1], [1])).toThrow(/at least 2 pairs/);
    expect(() => pearson([1, NaN], [1, 2])).toThrow(/pair 1 is \(NaN, 2\)/);
  });
});
