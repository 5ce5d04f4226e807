// Quantile groups, activation histogram and feature densities on toy-ioi with a random SAE at blocks.2.hook_resid_pre,
// against the activations encoded directly and counted by hand.
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, type Tensor } from "../../src/index.js";
import {
  activationHistogram,
  featureDensities,
  histogram,
  quantileGroups,
} from "../../src/sae/features/distribution.js";
import {
  featureActivations,
  featuresActivations,
  type FeatureActivations,
} from "../../src/sae/features/top-activations.js";
import { initSaeParams } from "../../src/sae/train/params.js";
import { saeOfParams } from "../../src/sae/train/save.js";

const hook = "blocks.2.hook_resid_pre";
const sae = saeOfParams(initSaeParams(128, 256, 3, 1), { kind: "l1", coefficient: 1 }, hook);

describe("histogram", () => {
  it("bins values over [lo, hi] with hi in the last bin and values outside dropped", () => {
    const h = histogram([0, 0.5, 1, 1.5, 2, 2, -1, 3], 4, 0, 2);
    expect(h.edges).toEqual([0, 0.5, 1, 1.5, 2]);
    expect(h.counts).toEqual([1, 1, 1, 3]);
    expect(() => histogram([1], 0, 0, 1)).toThrow(/bins must be a positive integer/);
  });
});

describe("feature distributions over a dataset", () => {
  let model: HookedTransformer;
  let tokens: Tensor;
  let encoded: Float32Array; // [rows, ctx, 256]
  let fa: FeatureActivations;
  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained("toy-ioi");
    const prompts = [
      "When Mary and John went to the store, John gave a drink to",
      "Then, Tom and Anna had a long argument, and afterwards Tom said to",
      "After Lisa and Paul went to the park, Paul gave a ring to",
      "Friends Kate and Mark found a bone at the school. Kate gave it to",
    ];
    tokens = model.toTokens(prompts).narrow(1, 0, 12).contiguous();
    const [, cache] = await model.runWithCache(tokens, { namesFilter: [hook] });
    encoded = (await sae.encode(cache.get(hook))).contiguous().dataSync() as Float32Array;
    fa = await featureActivations(model, sae, tokens, 5);
  }, 60_000);

  const column = (f: number): number[] => Array.from({ length: encoded.length / 256 }, (_, t) => encoded[t * 256 + f]!);

  it("featuresActivations gives each feature's column from one pass, in chunks of rows", async () => {
    const many = await featuresActivations(model, sae, tokens, [5, 200, 17]);
    expect(many.map((m) => m.feature)).toEqual([5, 200, 17]);
    for (const m of many) {
      const want = column(m.feature);
      expect(Math.max(...Array.from(m.acts, (v, i) => Math.abs(v - want[i]!)))).toBeLessThan(1e-5);
      expect(m.density).toBeCloseTo(want.filter((v) => v > 0).length / want.length, 9);
    }
    expect(Array.from(fa.acts)).toEqual(Array.from(many[0]!.acts));
  });

  it("activationHistogram counts the positive activations over (0, max]", () => {
    const col = column(5).filter((v) => v > 0);
    expect(col.length).toBeGreaterThan(4);
    const h = activationHistogram(fa, 8);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(col.length);
    expect(h.edges[8]).toBeCloseTo(Math.max(...col), 5);
    const w = h.edges[1]!;
    expect(h.counts[0]).toBe(col.filter((v) => v < w).length);
  });

  it("quantileGroups: equal-width intervals, every firing token counted once, seeded draws inside their interval", () => {
    const groups = quantileGroups(fa, tokens, { groups: 4, perGroup: 3, before: 3, after: 1, seed: 1 });
    const col = column(5);
    const firing = col.filter((v) => v > 0);
    expect(groups.map((g) => g.hi)).toEqual([...groups.map((g) => g.hi)].sort((a, b) => b - a));
    expect(groups[0]!.hi).toBeCloseTo(Math.max(...firing), 5);
    expect(groups.reduce((n, g) => n + g.count, 0)).toBe(firing.length);
    expect(groups.reduce((n, g) => n + g.fraction, 0)).toBeCloseTo(1, 9);
    for (const g of groups) {
      expect(g.count).toBe(firing.filter((v) => v > g.lo && v <= g.hi + 1e-9 * g.hi).length);
      expect(g.examples.length).toBe(Math.min(3, g.count));
      for (const e of g.examples) {
        expect(e.activation).toBeGreaterThan(g.lo);
        expect(e.activation).toBeLessThanOrEqual(g.hi * (1 + 1e-9));
        expect(e.activation).toBe(col[e.row * fa.ctx + e.pos]);
        expect(e.acts[e.pos - e.start]).toBe(e.activation);
        expect(e.tokens.length).toBe(e.acts.length);
      }
    }
    expect(quantileGroups(fa, tokens, { groups: 4, perGroup: 3, seed: 1 })).toEqual(
      quantileGroups(fa, tokens, { groups: 4, perGroup: 3, seed: 1 }),
    );
    expect(() => quantileGroups(fa, tokens, { groups: 0 })).toThrow(/groups must be a positive integer/);
  });

  it("featureDensities: every feature's firing fraction, log10, dead count and the log-density histogram", async () => {
    const d = await featureDensities(model, sae, tokens, { bins: 10, rowsPerRun: 3 });
    const n = encoded.length / 256;
    expect(d.tokens).toBe(n);
    for (let f = 0; f < 256; f++) expect(d.density[f]).toBeCloseTo(column(f).filter((v) => v > 0).length / n, 12);
    const dead = Array.from(d.density).filter((x) => x === 0).length;
    expect(d.dead).toBe(dead);
    expect(d.log10[5]).toBeCloseTo(Math.log10(fa.density), 12);
    expect(d.histogram.counts.reduce((a, b) => a + b, 0)).toBe(256 - dead);
    expect(d.histogram.edges[10]).toBe(0);
  });
});
