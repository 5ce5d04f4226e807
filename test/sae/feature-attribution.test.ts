// featureAttribution on toy-ioi with a random SAE at blocks.2.hook_resid_pre: activation × gradient against the
// model's own gradient at the hook (the error term makes d metric / d acts = W_dec · d metric / d resid) and against
// a central finite difference of the metric when one feature's activations are scaled.
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, tensor, type Tensor } from "../../src/index.js";
import { featureAttribution } from "../../src/sae/features/attribution.js";
import { HookedSAETransformer } from "../../src/sae/hooked-sae-transformer.js";
import { initSaeParams } from "../../src/sae/train/params.js";
import { saeOfParams } from "../../src/sae/train/save.js";

const hook = "blocks.2.hook_resid_pre";

describe("featureAttribution", () => {
  let base: HookedTransformer;
  let tokens: Tensor;
  let metric: (logits: Tensor) => Tensor;
  const p = initSaeParams(128, 256, 11, 1);
  const sae = saeOfParams(p, { kind: "l1", coefficient: 1 }, hook);
  beforeAll(async () => {
    base = await HookedTransformer.fromPretrained("toy-ioi");
    tokens = base.toTokens("When Mary and John went to the store, John gave a drink to");
    const [io, s] = [base.toSingleToken(" Mary"), base.toSingleToken(" John")];
    metric = (logits) => logits.get(0, -1, io).sub(logits.get(0, -1, s));
  }, 60_000);

  it("is act · (W_dec[f] · d metric / d resid) at every position, with the model's own metric", async () => {
    const model = new HookedSAETransformer(base);
    const r = await featureAttribution(model, sae, tokens, metric);
    const [logits, cache] = await base.runWithCache(tokens, { inclBwd: true, namesFilter: [hook] });
    const m = metric(logits);
    await m.backward();
    expect(r.metric).toBeCloseTo(m.item(), 4);
    const g = cache.get(`${hook}_grad`).contiguous().dataSync() as Float32Array; // [1, pos, 128]
    const acts = r.acts.contiguous().dataSync() as Float32Array; // [1, pos, 256]
    const attr = r.attribution.contiguous().dataSync() as Float32Array;
    const n = tokens.shape[1]!;
    expect(r.attribution.shape).toEqual([1, n, 256]);
    let worst = 0,
      scale = 0,
      firing = 0;
    for (let pos = 0; pos < n; pos++) {
      for (let f = 0; f < 256; f++) {
        let dot = 0;
        for (let i = 0; i < 128; i++) dot += p.W_dec[f * 128 + i]! * g[pos * 128 + i]!;
        const want = acts[pos * 256 + f]! * dot;
        if (acts[pos * 256 + f]! > 0) firing++;
        worst = Math.max(worst, Math.abs(attr[pos * 256 + f]! - want));
        scale = Math.max(scale, Math.abs(want));
      }
    }
    expect(firing).toBeGreaterThan(n * 10);
    expect(scale).toBeGreaterThan(1e-3);
    expect(worst).toBeLessThan(1e-4 * scale + 1e-6);
    const summed = r.perFeature.dataSync() as Float32Array;
    const byHand = Array.from({ length: 256 }, (_, f) =>
      Array.from({ length: n }, (_, pos) => attr[pos * 256 + f]).reduce((a, b) => a! + b!, 0),
    );
    expect(Math.max(...byHand.map((v, f) => Math.abs(v! - summed[f]!)))).toBeLessThan(1e-5);
  }, 60_000);

  it("matches a central finite difference of the metric in one feature's scale", async () => {
    const model = new HookedSAETransformer(base);
    const r = await featureAttribution(model, sae, tokens, metric);
    const per = Array.from(r.perFeature.dataSync() as Float32Array);
    const f = per.reduce((best, v, j) => (Math.abs(v) > Math.abs(per[best]!) ? j : best), 0);
    const eps = 0.05;
    const scaled = async (by: number): Promise<number> => {
      const logits = (await model.runWithHooks(tokens, {
        saes: sae,
        useErrorTerm: true,
        fwdHooks: [
          [
            `${hook}.hook_sae_acts_post`,
            (a: Tensor) => a.mul(tensor(Array.from({ length: 256 }, (_, j) => (j === f ? by : 1)))),
          ],
        ],
      })) as Tensor;
      return metric(logits).item();
    };
    const fd = ((await scaled(1 + eps)) - (await scaled(1 - eps))) / (2 * eps);
    expect(Math.abs(per[f]!)).toBeGreaterThan(1e-2);
    expect(Math.abs(fd - per[f]!)).toBeLessThan(0.02 * Math.abs(per[f]!));
    await expect(featureAttribution(model, sae, tokens, (l) => l.get(0, -1))).rejects.toThrow(/must give one number/);
  }, 60_000);
});
