// Seeds over the whole 32-bit range: IOIDataset accepts 0 .. 2^32 - 1, and its flips re-seed Python's random with
// seed + (code points of the flip string), which passes 2^32 near the top; CPython's random.seed then keys MT19937
// with two 32-bit words, and the port must match it bit for bit.
import { describe, expect, it } from "vitest";
import { DatasetError } from "../../src/datasets/errors.js";
import { flipSeed, IOIDataset } from "../../src/datasets/ioi.js";
import { PythonRandom } from "../../src/datasets/python-random.js";

// from CPython 3.11: python3 -c "import random; random.seed(S); print([random.getrandbits(32) for _ in range(4)])"
const CPYTHON: Record<number, number[]> = {
  4294967295: [2728839433, 2661025012, 872737089, 924893097],
  4294968513: [2765645100, 748904220, 4041260144, 2014588278], // 2^32 - 1 + 1218 ("ABB->XYZ, BAB->XYZ")
  4294968501: [4166718186, 1010567687, 336922846, 3782619015], // 2^32 - 1 + 1206 ("ABB -> BAB, BAB -> ABB")
};

describe("seeds near 2^32", () => {
  it("PythonRandom matches CPython's random.seed for 2^32 - 1 and for the flip seeds above 2^32", () => {
    for (const [seed, bits] of Object.entries(CPYTHON)) {
      const r = new PythonRandom(Number(seed));
      expect(
        Array.from({ length: 4 }, () => r.getrandbits(32)),
        seed,
      ).toEqual(bits);
    }
  });

  it("IOIDataset with seed 2^32 - 1 generates and flips (both flips), the flip seeded as CPython would", () => {
    const ds = new IOIDataset({ promptType: "mixed", N: 12, seed: 2 ** 32 - 1 });
    expect(ds.seed).toBe(4294967295);
    for (const flip of ["ABB->XYZ, BAB->XYZ", "ABB -> BAB, BAB -> ABB"]) {
      const f = ds.genFlippedPrompts(flip);
      expect(f.seed).toBe(flipSeed(ds.seed, flip));
      expect(CPYTHON[f.seed]).toBeDefined();
      expect(f.ioiPrompts).toHaveLength(12);
    }
    // the fresh names are drawn from the flip seed's stream: the same call gives the same names
    expect(ds.genFlippedPrompts("ABB->XYZ, BAB->XYZ").sentences).toEqual(
      ds.genFlippedPrompts("ABB->XYZ, BAB->XYZ").sentences,
    );
    expect(ds.genFlippedPrompts("ABB->XYZ, BAB->XYZ").sentences).not.toEqual(ds.sentences);
  });

  it("seeds outside 0 .. 2^32 - 1 are still refused with a clear error naming the seed given", () => {
    for (const seed of [-1, 2 ** 32, 1.5]) {
      expect(() => new IOIDataset({ promptType: "mixed", N: 2, seed }), String(seed)).toThrow(DatasetError);
      expect(() => new IOIDataset({ promptType: "mixed", N: 2, seed }), String(seed)).toThrow(
        new RegExp(`got ${String(seed).replace(".", "\\.")}$`),
      );
    }
  });
});
