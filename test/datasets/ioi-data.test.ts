// generateIOIData (the dataset half of cautils generate_data_and_caches): the goldens; no model in this layer.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ABC_FLIP, generateIOIData } from "../../src/datasets/ioi-data.js";
import * as datasets from "../../src/datasets/index.js";
import * as tlens from "../../src/index.js";

const G = fileURLToPath(new URL("../../../shared/ioi/golden/", import.meta.url));
const golden = (f: string) => JSON.parse(readFileSync(G + f, "utf8")) as { sentences: string[] };

describe("generateIOIData", () => {
  it("is the N=150 seed-42 symmetric BOS dataset and its cautils ABC twin (goldens)", () => {
    const { ioiDataset, abcDataset } = generateIOIData({ N: 150, prependBos: true, symmetric: true });
    expect(ioiDataset.sentences).toEqual(golden("symmetric_mixed_N150_seed42_bos.json").sentences);
    expect(abcDataset.sentences).toEqual(
      golden(
        "xyz_flip/callum_cautils_hashseed7_letter_order_XYZ/symmetric_mixed_N150_seed42_bos__flip_ABB-XYZ_BAB-XYZ.json",
      ).sentences,
    );
    expect(ABC_FLIP).toBe("ABB->XYZ, BAB->XYZ");
  });
});

describe("the datasets layer", () => {
  it("is the package's datasets namespace (IOIDataset also at the root); running a model on it is analysis's (analysis/ioi/data.ts)", () => {
    expect(tlens.IOIDataset).toBe(datasets.IOIDataset);
    expect(tlens.datasets.PythonRandom).toBe(datasets.PythonRandom);
    expect(tlens.datasets.generateIOIData).toBe(generateIOIData);
    expect("generateDataAndCaches" in datasets).toBe(false);
    expect("generateDataAndCaches" in tlens.ioi).toBe(true);
  });
});
