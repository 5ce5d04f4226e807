// The dashboard's passes over the dataset (one model run per chunk: with the features given, the densities and the
// activations come from the same pass) and textTokenRows (a text cut into BOS-led rows).
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, type Tensor } from "../../src/index.js";
import { saeDashboardData } from "../../src/sae/features/dashboard-data.js";
import { featureDensities } from "../../src/sae/features/distribution.js";
import { featuresActivations } from "../../src/sae/features/top-activations.js";
import { initSaeParams } from "../../src/sae/train/params.js";
import { saeOfParams } from "../../src/sae/train/save.js";
import { textTokenRows } from "../../src/sae/train/text-rows.js";
import { encodeText } from "../../src/tokenizer/tokens.js";

const STORIES = fileURLToPath(new URL("../../../shared/models/stories260K", import.meta.url));
const TEXT =
  "Once upon a time, there was a little girl named Lily. She liked to play in the park with her dog. ".repeat(6);

describe("saeDashboardData's passes over the dataset", () => {
  const hook = "blocks.2.hook_resid_pre";
  const sae = saeOfParams(initSaeParams(128, 256, 3, 1), { kind: "l1", coefficient: 1 }, hook);
  let model: HookedTransformer;
  let tokens: Tensor;
  let runs = 0;
  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained("toy-ioi");
    tokens = model.toTokens([
      "When Mary and John went to the store, John gave a drink to",
      "After Lisa and Paul went to the park, Paul gave a ring to",
    ]);
    model.addHook(
      "hook_embed",
      () => {
        runs++;
      },
      { isPermanent: true },
    );
  });

  it("runs the model once per chunk with the features given (twice without), with the same figures", async () => {
    runs = 0;
    const given = await saeDashboardData(model, sae, tokens, [3, 40]);
    expect(runs).toBe(1);
    runs = 0;
    const chosen = await saeDashboardData(model, sae, tokens);
    expect(runs).toBe(2);
    // the one-pass densities and activations are those of the separate passes
    const dens = await featureDensities(model, sae, tokens);
    expect(given.dead).toBe(dens.dead);
    expect(given.log10Density).toEqual(chosen.log10Density);
    expect(given.log10Density.map((v) => v ?? -Infinity)).toEqual(Array.from(dens.log10));
    const fas = await featuresActivations(model, sae, tokens, [3, 40]);
    given.features.forEach((f, i) => {
      expect(f.feature).toBe(fas[i]!.feature);
      expect(f.density).toBe(fas[i]!.density);
      expect(f.maxActivation).toBe(Math.max(0, ...fas[i]!.acts));
    });
  });
});

describe("textTokenRows", () => {
  let model: HookedTransformer;
  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained(STORIES);
  });

  it("cuts the tokenized text into rows of ctx tokens, each after BOS, dropping a short last piece", () => {
    const ids = encodeText(model.tokenizer!, TEXT, { prependBos: false });
    const rows = textTokenRows(model, TEXT, 16);
    expect(rows.shape).toEqual([Math.floor(ids.length / 15), 16]);
    const data = Array.from(rows.dataSync(), Number);
    for (let r = 0; r < rows.shape[0]!; r++) {
      expect(data[r * 16]).toBe(model.tokenizer!.bosTokenId);
      expect(data.slice(r * 16 + 1, r * 16 + 16)).toEqual(ids.slice(r * 15, r * 15 + 15));
    }
  });

  it("keeps a text shorter than one row as one row, and refuses a bad row length or an empty text", () => {
    const ids = encodeText(model.tokenizer!, "Lily had a dog.", { prependBos: false });
    const one = textTokenRows(model, "Lily had a dog.", 64);
    expect(one.shape).toEqual([1, ids.length + 1]);
    expect(Array.from(one.dataSync(), Number).slice(1)).toEqual(ids);
    expect(() => textTokenRows(model, TEXT, 1)).toThrow(/row length must be an integer from 2 to the model's context/);
    expect(() => textTokenRows(model, TEXT, model.cfg.nCtx + 1)).toThrow(/row length/);
    expect(() => textTokenRows(model, "", 16)).toThrow(/the text has no tokens/);
  });
});
