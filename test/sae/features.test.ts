// Feature analysis: logit effects against the product computed by hand on a shipped model.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { HookedTransformer } from "../../src/index.js";
import { logitEffects } from "../../src/sae/features/logit-effects.js";
import { featureActivations, topExamples } from "../../src/sae/features/top-activations.js";
import { initSaeParams } from "../../src/sae/train/params.js";
import { saeOfParams } from "../../src/sae/train/save.js";

const MODEL = fileURLToPath(new URL("../../../shared/models/stories260K", import.meta.url));

describe("logitEffects", () => {
  it("gives the top and bottom tokens of W_dec[f] · W_U", async () => {
    const model = await HookedTransformer.fromPretrained(MODEL);
    const p = initSaeParams(64, 32, 5);
    const sae = saeOfParams(p, { kind: "l1", coefficient: 1 }, "blocks.2.hook_resid_pre");
    const W_U = model.W_U.contiguous().dataSync() as Float32Array; // [64, 512]
    const byHand = Array.from({ length: 512 }, (_, t) => {
      let s = 0;
      for (let i = 0; i < 64; i++) s += p.W_dec[7 * 64 + i]! * W_U[i * 512 + t]!;
      return s;
    });
    const sorted = byHand.map((e, t) => [e, t]).sort((a, b) => b[0]! - a[0]!);
    const fx = logitEffects(model, sae, 7, 3);
    expect(fx.top.map((e) => e.token)).toEqual(sorted.slice(0, 3).map((e) => e[1]));
    expect(fx.bottom.map((e) => e.token)).toEqual(
      sorted
        .slice(-3)
        .reverse()
        .map((e) => e[1]),
    );
    expect(fx.top[0]!.effect).toBeCloseTo(sorted[0]![0]!, 5);
    expect(fx.top[0]!.text).toBe(model.tokenizer!.idToString(fx.top[0]!.token));
    expect(() => logitEffects(model, sae, 32)).toThrow(/feature 32 is outside 0\.\.31/);
    const narrow = saeOfParams(initSaeParams(16, 8, 0), { kind: "l1", coefficient: 1 }, "blocks.0.attn.hook_z");
    expect(() => logitEffects(model, narrow, 0)).toThrow(/d_in \(16\) is not the model's d_model \(64\)/);
  }, 30_000);
});

describe("featureActivations and topExamples", () => {
  it("encodes the hook's activations and picks the largest with context", async () => {
    const model = await HookedTransformer.fromPretrained(MODEL);
    const sae = saeOfParams(initSaeParams(64, 32, 5), { kind: "l1", coefficient: 1 }, "blocks.2.hook_resid_pre");
    const tokens = model.toTokens(["Once upon a time, there was a girl.", "The dog ran to the park."]);
    const fa = await featureActivations(model, sae, tokens, 3);
    const [, cache] = await model.runWithCache(tokens, { namesFilter: ["blocks.2.hook_resid_pre"] });
    const ref = (await sae.encode(cache.get("blocks.2.hook_resid_pre")))
      .get(":", ":", 3)
      .contiguous()
      .dataSync() as Float32Array;
    expect(Array.from(fa.acts)).toEqual(Array.from(ref));
    expect(fa.density).toBeCloseTo(ref.filter((v) => v > 0).length / ref.length, 6);
    const top = topExamples(fa, tokens, 3, 2, 1);
    const best = Math.max(...ref);
    expect(top[0]!.activation).toBe(best);
    expect(top.map((e) => e.activation)).toEqual([...top.map((e) => e.activation)].sort((a, b) => b - a));
    expect(top[0]!.acts[top[0]!.pos - top[0]!.start]).toBe(best);
    expect(top[0]!.tokens.length).toBe(top[0]!.acts.length);
    await expect(featureActivations(model, sae, tokens, -1)).rejects.toThrow(/feature -1 is outside/);
  }, 30_000);
});
