// The embedded default model: loads by name with no network, and solves IOI.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { HookedTransformer, tensor } from "../../src/index.js";

const IOI = fileURLToPath(new URL("../../../shared/ioi/golden/mixed_N100_seed1.json", import.meta.url));

describe("toy-ioi", () => {
  it("loads by name and has the documented shape", async () => {
    const model = await HookedTransformer.fromPretrained("toy-ioi");
    expect(model.cfg.nLayers).toBe(4);
    expect(model.cfg.dModel).toBe(128);
    expect(model.cfg.nHeads).toBe(4);
    expect(model.cfg.dMlp).toBe(512);
    expect(model.cfg.dVocab).toBe(50257);
    expect(model.cfg.normalizationType).toBe("LNPre");
    expect(model.toStrTokens("When Mary and John")).toEqual(["<|endoftext|>", "When", " Mary", " and", " John"]);
  });

  it("prefers the indirect object on the IOI golden dataset (mean logit difference ≈ 8.1)", async () => {
    const data = JSON.parse(readFileSync(IOI, "utf8")) as {
      toks: number[][];
      word_idx: { end: number[] };
      io_tokenIDs: number[];
      s_tokenIDs: number[];
    };
    const model = await HookedTransformer.fromPretrained("toy-ioi");
    const logits = await model.forward(tensor(data.toks, undefined, "int32"));
    let sum = 0;
    data.toks.forEach((_, b) => {
      const end = data.word_idx.end[b]!;
      sum += logits.get(b, end, data.io_tokenIDs[b]!).item() - logits.get(b, end, data.s_tokenIDs[b]!).item();
    });
    const mean = sum / data.toks.length;
    expect(mean).toBeGreaterThan(8.0);
    expect(mean).toBeLessThan(8.2);
  });

  it("no-processing and processed models agree up to the unembedding shift", async () => {
    const raw = await HookedTransformer.fromPretrainedNoProcessing("toy-ioi");
    const processed = await HookedTransformer.fromPretrained("toy-ioi");
    const prompt = "When Mary and John went to the store, John gave a drink to";
    const a = (await raw.forward(prompt)).logSoftmax(-1);
    const b = (await processed.forward(prompt)).logSoftmax(-1);
    expect(a.sub(b).abs().max().item()).toBeLessThan(1e-3);
  });
});
