// The forward bench's onnxruntime-node column must run the same model: the ONNX graph bench/ort-graph.ts builds
// from a tlens model's weights gives tlens's logits.
import { describe, expect, it } from "vitest";
import { randint, type Tensor } from "../../src/index.js";
import { GPT2_SMALL_SHAPE, randomGpt2Small } from "../../bench/random-model.js";
import { maxAbsDiff, ortGenerator, ortRunner } from "../../bench/ort-forward.js";

const SMALL = { ...GPT2_SMALL_SHAPE, nLayers: 2, dModel: 64, nHeads: 4, dHead: 16, dMlp: 256, dVocab: 500, nCtx: 32 };

describe("bench onnxruntime graph", () => {
  it("matches tlens's logits on a small GPT-2-shaped model", async () => {
    const model = randomGpt2Small(SMALL);
    const runner = await ortRunner(model, 7, 1);
    const tokens = randint(0, 500, [3, 7]);
    const ort = await runner.run(tokens);
    const ref = (await model.forward(tokens)).contiguous().dataSync();
    expect(ort.length).toBe(3 * 7 * 500);
    expect(maxAbsDiff(ort, ref)).toBeLessThan(1e-4);
    // the logits are not trivially small, so the bound above says something
    expect(maxAbsDiff(ref, new Float32Array(ref.length))).toBeGreaterThan(0.01);
  });

  it("the decode-step graph with its KV cache generates tlens's greedy tokens", async () => {
    const model = randomGpt2Small(SMALL);
    const prompt = randint(0, 500, [1, 6]);
    const ort = await (await ortGenerator(model, 1)).generate(Array.from(prompt.dataSync()), 9);
    const want = (await model.generate(prompt, { maxNewTokens: 10, doSample: false, stopAtEos: false })) as Tensor;
    expect(ort.tokens).toEqual(Array.from(want.dataSync()).slice(6));
    const first = (await model.forward(prompt)).get(0, -1).contiguous().dataSync();
    expect(maxAbsDiff(ort.firstLogits, first)).toBeLessThan(1e-4);
    expect(new Set(ort.tokens).size).toBeGreaterThan(1); // not one token repeated: the cache is read
  });
});
