// generate: greedy decoding with and without the KV cache, sampling options, and hooks during generation.
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, randn, manualSeed, type Tensor } from "../../src/index.js";
import { sampleLogits } from "../../src/model/generate.js";
import { Generator, tensor } from "../../src/index.js";

let model: HookedTransformer;
const prompt = "When Mary and John went to the store, John gave a drink to";

beforeAll(async () => {
  model = await HookedTransformer.fromPretrained("toy-ioi");
});

describe("generate", () => {
  it("greedy output is identical with and without the KV cache", async () => {
    const toks = model.toTokens(prompt);
    const cached = (await model.generate(toks, { maxNewTokens: 12, doSample: false, stopAtEos: false })) as Tensor;
    const uncached = (await model.generate(toks, {
      maxNewTokens: 12,
      doSample: false,
      stopAtEos: false,
      useKvCache: false,
    })) as Tensor;
    expect(cached.shape).toEqual([1, toks.shape[1]! + 12]);
    expect(cached.toArray()).toEqual(uncached.toArray());
    // the model solves IOI: the first new token is the indirect object
    expect(model.toStrTokens(cached.get(0, toks.shape[1]!).reshape(1))).toEqual([" Mary"]);
  });

  it("string in, string out (no BOS); a batch of prompts is left-padded", async () => {
    const text = (await model.generate(prompt, { maxNewTokens: 3, doSample: false })) as string;
    expect(text.startsWith(prompt + " Mary")).toBe(true);
    const texts = (await model.generate([prompt, "When Alice and Andrew went to the school, Andrew gave a ring to"], {
      maxNewTokens: 1,
      doSample: false,
    })) as string[];
    expect(texts[0]).toBe(prompt + " Mary");
    expect(texts[1]!.endsWith(" Alice")).toBe(true);
  });

  it("a batch with padding gives each row what it gives alone", async () => {
    const short = "When Alice and Andrew went to the school, Andrew gave a ring to";
    const alone = (await model.generate(short, { maxNewTokens: 4, doSample: false, stopAtEos: false })) as string;
    for (const useKvCache of [true, false]) {
      const both = (await model.generate([prompt, short], {
        maxNewTokens: 4,
        doSample: false,
        stopAtEos: false,
        useKvCache,
      })) as string[];
      expect(both[1]).toBe(alone);
    }
  });

  it("sampling is seeded and respects topK", async () => {
    const a = await model.generate(prompt, { maxNewTokens: 5, seed: 3 });
    const b = await model.generate(prompt, { maxNewTokens: 5, seed: 3 });
    expect(a).toBe(b);
    const logits = tensor([[0, 5, 1, 4]]);
    const g = new Generator(1);
    for (let i = 0; i < 50; i++) expect([1, 3]).toContain(sampleLogits(logits, { topK: 2 }, g)[0]);
    for (let i = 0; i < 20; i++) expect(sampleLogits(logits, { topP: 0.5 }, g)[0]).toBe(1);
    expect(sampleLogits(logits, { doSample: false }, g)[0]).toBe(1);
  });

  it("a permanent hook built for a fixed length keeps working, with the KV cache too", async () => {
    // mean-ablation style: replacement values exist for the first L positions only
    const toks = model.toTokens(prompt);
    const L = toks.shape[1]!;
    manualSeed(0);
    const means = randn([L, model.cfg.nHeads, model.cfg.dHead]).mul(0.1);
    const m = await HookedTransformer.fromPretrained("toy-ioi");
    m.addHook(
      "blocks.0.attn.hook_z",
      (z, hook) => {
        const start = hook.positionOffset;
        const end = Math.min(start + z.shape[1]!, L);
        if (end > start) z.set([":", `0:${end - start}`], means.get(`${start}:${end}`));
      },
      { isPermanent: true },
    );
    const cached = (await m.generate(toks, { maxNewTokens: 8, doSample: false, stopAtEos: false })) as Tensor;
    const uncached = (await m.generate(toks, {
      maxNewTokens: 8,
      doSample: false,
      stopAtEos: false,
      useKvCache: false,
    })) as Tensor;
    expect(cached.toArray()).toEqual(uncached.toArray());
    // the hook really acted: the ablated model's continuation differs from the clean one
    const clean = (await model.generate(toks, { maxNewTokens: 8, doSample: false, stopAtEos: false })) as Tensor;
    expect(cached.toArray()).not.toEqual(clean.toArray());
    // a hook that ignores the position offset fails with an error that names it, not a crash
    m.resetHooks({ includingPermanent: true });
    m.addHook("blocks.0.attn.hook_z", (z) => z.add(means), { isPermanent: true });
    await expect(m.generate(toks, { maxNewTokens: 2, doSample: false })).rejects.toThrow(
      /hook on "blocks.0.attn.hook_z"/,
    );
  });

  it("hooks see positionOffset 0 in plain runs after a cached generation", async () => {
    const toks = model.toTokens(prompt);
    await model.generate(toks, { maxNewTokens: 3, doSample: false });
    const offsets: number[] = [];
    const record = (_: Tensor, hook: { positionOffset: number }): void => {
      offsets.push(hook.positionOffset);
    };
    const resid = await model.forward(toks, { stopAtLayer: 2 });
    await model.runWithHooks(resid, { startAtLayer: 2, fwdHooks: [["blocks.3.hook_resid_pre", record]] });
    await model.runWithHooks(toks, { fwdHooks: [["blocks.3.hook_resid_pre", record]], returnType: null });
    expect(offsets).toEqual([0, 0]);
  });

  it("refuses to run past n_ctx", async () => {
    await expect(model.generate(prompt, { maxNewTokens: 60 })).rejects.toThrow(/n_ctx = 64/);
  });
});
