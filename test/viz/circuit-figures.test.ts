// The circuit-discovery figures from plain numbers: the faithfulness curve (with a random-edge baseline, one draw or
// mean ± sd over several) and the attribution-vs-patching scatter with its correlations.
import { describe, expect, it } from "vitest";
import { attributionScatter, faithfulnessCurve, VizError } from "../../src/viz/index.js";

describe("faithfulnessCurve", () => {
  it("draws the method and the random baseline over the sizes, with a line at 1", () => {
    const f = faithfulnessCurve({
      sizes: [10, 100, 1000],
      faithfulness: [0.2, 0.7, 0.95],
      random: [0.01, 0.05, 0.3],
      method: "EAP-IG",
    });
    expect(f.data.length).toBe(2);
    expect(f.data[0]).toMatchObject({ name: "EAP-IG", x: [10, 100, 1000], y: [0.2, 0.7, 0.95], mode: "lines+markers" });
    expect(f.data[1]).toMatchObject({ name: "random edges", y: [0.01, 0.05, 0.3] });
    expect((f.layout.xaxis as { type: string }).type).toBe("log"); // sizes over two decades
    expect((f.layout.shapes as { y0: number }[])[0]!.y0).toBe(1);
  });

  it("several random draws become their mean with the standard deviation as error bars", () => {
    const f = faithfulnessCurve({
      sizes: [1, 2],
      faithfulness: [0.5, 0.9],
      random: [
        [0, 0.2],
        [0.2, 0.4],
      ],
    });
    expect(f.data[1]!.name).toBe("random edges (mean of 2)");
    expect(f.data[1]!.y as number[]).toEqual([0.1, expect.closeTo(0.3, 12)]);
    expect((f.data[1]!.error_y as { array: number[] }).array.map((v) => +v.toFixed(12))).toEqual([0.1, 0.1]);
    expect((f.layout.xaxis as { type: string }).type).toBe("linear");
  });

  it("refuses mismatched lengths, unsorted sizes and non-finite values", () => {
    expect(() => faithfulnessCurve({ sizes: [1, 2], faithfulness: [1] })).toThrow(
      /faithfulness has 1 values for 2 sizes/,
    );
    expect(() => faithfulnessCurve({ sizes: [2, 1], faithfulness: [1, 1] })).toThrow(/ascending/);
    expect(() => faithfulnessCurve({ sizes: [1], faithfulness: [NaN] })).toThrow(VizError);
    expect(() => faithfulnessCurve({ sizes: [1, 2], faithfulness: [1, 1], random: [[1, 2], [1]] })).toThrow(
      /random draw 1 has 1 values/,
    );
  });
});

describe("attributionScatter", () => {
  it("plots estimate against truth with the diagonal, Pearson and Spearman in the title and layout.meta", () => {
    const f = attributionScatter({
      attribution: [1, 2, 3, 4, 5],
      patching: [2, 1, 4, 3, 5],
      labels: ["a", "b", "c", "d", "e"],
    });
    expect(f.data[0]).toMatchObject({ x: [1, 2, 3, 4, 5], y: [2, 1, 4, 3, 5], hovertext: ["a", "b", "c", "d", "e"] });
    expect(f.data[1]).toMatchObject({ name: "y = x", x: [1, 5], y: [1, 5] });
    expect(f.layout.meta).toEqual({ pearson: expect.closeTo(0.8, 12), spearman: expect.closeTo(0.8, 12) });
    expect(JSON.stringify(f.layout.title)).toContain("Pearson r = 0.800, Spearman ρ = 0.800");
  });

  it("refuses unequal series", () => {
    expect(() => attributionScatter({ attribution: [1, 2], patching: [1] })).toThrow(/2 x values but 1 y values/);
  });
});
