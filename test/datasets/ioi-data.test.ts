// generateDataAndCaches (cautils generate_data_and_caches) on the embedded toy-ioi model.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer } from "../../src/model/index.js";
import { ABC_FLIP, generateDataAndCaches, generateIOIData, logitsToLogitDiffs } from "../../src/datasets/ioi-data.js";
import { DatasetError } from "../../src/datasets/errors.js";
import * as tlens from "../../src/index.js";

const G = fileURLToPath(new URL("../../../shared/ioi/golden/", import.meta.url));
const golden = (f: string) => JSON.parse(readFileSync(G + f, "utf8")) as { sentences: string[] };

let model: HookedTransformer;
beforeAll(async () => {
  model = await HookedTransformer.fromPretrained("toy-ioi");
});

describe("generateIOIData", () => {
  it("is the N=150 seed-42 symmetric BOS dataset and its cautils ABC twin (goldens)", () => {
    const { ioiDataset, abcDataset } = generateIOIData({ N: 150, prependBos: true, symmetric: true });
    expect(ioiDataset.sentences).toEqual(golden("symmetric_mixed_N150_seed42_bos.json").sentences);
    expect(abcDataset.sentences).toEqual(golden("xyz_flip/callum_cautils_hashseed7_letter_order_XYZ/symmetric_mixed_N150_seed42_bos__flip_ABB-XYZ_BAB-XYZ.json").sentences);
    expect(ABC_FLIP).toBe("ABB->XYZ, BAB->XYZ");
  });
});

describe("generateDataAndCaches", () => {
  it("runs the model on both datasets; the metric is 0 on clean logits and -1 on ABC logits", async () => {
    const r = await generateDataAndCaches(model, { N: 8, seed: 42, prependBos: true, symmetric: true });
    expect(r.ioiDataset.N).toBe(8);
    expect(r.ioiLogits.shape).toEqual([8, r.ioiDataset.toks.shape[1], 50257]);
    expect(r.ioiCache.get("resid_post", 3).shape).toEqual([8, r.ioiDataset.toks.shape[1], 128]);
    expect(r.abcCache!.has("blocks.0.attn.hook_pattern")).toBe(true);
    const diffs = await logitsToLogitDiffs(r.ioiLogits, r.ioiDataset);
    expect(r.ioiAverageLogitDiff).toBeCloseTo(diffs.reduce((a, b) => a + b) / 8, 10);
    expect(await r.ioiMetricNoising!(r.ioiLogits)).toBeCloseTo(0, 10);
    expect(await r.ioiMetricNoising!(r.abcLogits!)).toBeCloseTo(-1, 10);
    // manual check of one entry
    const i = 3;
    const want = r.ioiLogits.get(i, r.ioiDataset.wordIdx.end[i], r.ioiDataset.ioTokenIDs[i]).item() - r.ioiLogits.get(i, r.ioiDataset.wordIdx.end[i], r.ioiDataset.sTokenIDs[i]).item();
    expect(diffs[i]).toBe(want);
  });

  it("onlyIoi stops after the clean run; namesFilter limits its cache", async () => {
    const r = await generateDataAndCaches(model, { N: 4, onlyIoi: true, namesFilter: (n: string) => n.endsWith("hook_z") });
    expect(r.abcCache).toBeUndefined();
    expect(r.ioiMetricNoising).toBeUndefined();
    expect(r.abcDataset.N).toBe(4);
    expect(r.ioiCache.keys().every((k) => k.endsWith("hook_z"))).toBe(true);
  });

  it("logit diffs check the shape", async () => {
    const { ioiDataset } = generateIOIData({ N: 4 });
    await expect(logitsToLogitDiffs(tlens.zeros([3, 2, 5]), ioiDataset)).rejects.toThrow(DatasetError);
  });

  it("is exported from the package root", () => {
    expect(tlens.IOIDataset).toBeDefined();
    expect(tlens.PythonRandom).toBeDefined();
    expect(tlens.generateDataAndCaches).toBe(generateDataAndCaches);
  });
});
