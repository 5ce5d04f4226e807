// Steering by activation addition on toy-ioi: the hook adds exactly coeff·vector at the chosen absolute positions;
// coeff 0 (or a zero vector) changes nothing; the KV cache gives the same logits and generations as rerunning the
// whole sequence; contrastive vectors are differences of cached activations (adding one back with coeff 1 turns the
// negative prompt's run into the positive one's); sweeps report consistent logits, log-probs and KL.
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, Tensor, randn, Generator, tensor, zeros } from "../../src/index.js";
import { KeyValueCache } from "../../src/model/kv-cache.js";
import {
  addSteeringVector,
  contrastiveSteeringVector,
  generateWithSteering,
  runWithSteering,
  steeringGenerations,
  steeringHookName,
  steeringSweep,
  withSteering,
  type SteeringVector,
} from "../../src/analysis/steering.js";
import { maxAbsDiff } from "../golden.js";

const POS = "When Mary and John went to the store, John gave a drink to";
const NEG = "When John and Mary went to the store, Mary gave a drink to";

describe("steering on toy-ioi", () => {
  let model: HookedTransformer;
  let tokens: Tensor;
  const g = new Generator(3);
  let v: Tensor;

  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained("toy-ioi");
    tokens = model.toTokens([POS, NEG]);
    v = randn([model.cfg.dModel], { generator: g });
  });

  /** resid_pre of a layer with the steering vectors attached */
  const residWith = async (layer: number, specs: SteeringVector[]): Promise<Tensor> => {
    let r: Tensor | null = null;
    await withSteering(model, specs, () =>
      model.runWithHooks(tokens, {
        returnType: null,
        fwdHooks: [
          [
            `blocks.${layer}.hook_resid_pre`,
            (x) => {
              r = x;
            },
          ],
        ],
      }),
    );
    return r!;
  };

  it("names: short names with a layer, full names as given", () => {
    expect(steeringHookName({ hook: "resid_pre", layer: 2 })).toBe("blocks.2.hook_resid_pre");
    expect(steeringHookName({ hook: "blocks.1.attn.hook_z" })).toBe("blocks.1.attn.hook_z");
    expect(() => addSteeringVector(model, { hook: "blocks.1.hook_resid_prr", vector: v })).toThrow(
      /did you mean "blocks.1.hook_resid_pre"/,
    );
  });

  it("adds exactly coeff·vector at every position, at listed positions, or as a sequence from `start`", async () => {
    const clean = await residWith(2, []);
    const all = await residWith(2, [{ hook: "resid_pre", layer: 2, vector: v, coeff: 3 }]);
    expect(maxAbsDiff(all.sub(clean), v.mul(3).expand(clean.shape))).toBeLessThan(1e-5);
    const some = await residWith(2, [{ hook: "resid_pre", layer: 2, vector: v, coeff: -2, positions: [0, 4, 99] }]);
    const d = some.sub(clean);
    expect(maxAbsDiff(d.get(":", 4), v.mul(-2).expand(2, -1))).toBeLessThan(1e-5);
    expect(maxAbsDiff(d.get(":", 0), v.mul(-2).expand(2, -1))).toBeLessThan(1e-5);
    expect(d.get(":", "1:4").abs().max().item()).toBe(0);
    expect(d.get(":", "5:").abs().max().item()).toBe(0);
    const seq = randn([4, model.cfg.dModel], { generator: g });
    const s = (await residWith(2, [{ hook: "resid_pre", layer: 2, vector: seq, start: 3 }])).sub(clean);
    expect(maxAbsDiff(s.get(":", "3:7"), seq.expand(2, 4, -1))).toBeLessThan(1e-5);
    expect(s.get(":", ":3").abs().max().item()).toBe(0);
    expect(s.get(":", "7:").abs().max().item()).toBe(0);
    // a sequence per row, and a per-head vector on hook_z
    const perRow = randn([2, 2, model.cfg.dModel], { generator: g });
    const pr = (await residWith(2, [{ hook: "resid_pre", layer: 2, vector: perRow, start: 0 }])).sub(clean);
    expect(maxAbsDiff(pr.get(":", ":2"), perRow)).toBeLessThan(1e-5);
    const zVec = randn([model.cfg.nHeads, model.cfg.dHead], { generator: g });
    let z: Tensor | null = null;
    await withSteering(model, { hook: "z", layer: 1, vector: zVec }, () =>
      model.runWithHooks(tokens, {
        returnType: null,
        fwdHooks: [
          [
            "blocks.1.attn.hook_z",
            (x) => {
              z = x;
            },
          ],
        ],
      }),
    );
    const [, cache] = await model.runWithCache(tokens, { namesFilter: ["blocks.1.attn.hook_z"] });
    expect(maxAbsDiff(z!.sub(cache.get("z", 1)), zVec.expand(z!.shape))).toBeLessThan(1e-5);
  });

  it("coeff 0, or a zero vector, changes nothing", async () => {
    const clean = await model.forward(tokens);
    expect(
      maxAbsDiff(await runWithSteering(model, tokens, { hook: "resid_pre", layer: 1, vector: v, coeff: 0 }), clean),
    ).toBe(0);
    expect(
      maxAbsDiff(
        await runWithSteering(model, tokens, {
          hook: "resid_mid",
          layer: 2,
          vector: zeros([model.cfg.dModel]),
          coeff: 7,
        }),
        clean,
      ),
    ).toBeLessThan(1e-6);
    const seq = await runWithSteering(model, tokens, {
      hook: "resid_pre",
      layer: 0,
      vector: randn([5, model.cfg.dModel], { generator: g }),
      coeff: 0,
    });
    expect(maxAbsDiff(seq, clean)).toBe(0);
    // temporary hooks are gone afterwards
    expect(maxAbsDiff(await model.forward(tokens), clean)).toBe(0);
  });

  it("permanent hooks survive resetHooks() and runWithHooks until removed", async () => {
    const clean = await model.forward(tokens);
    const h = addSteeringVector(model, { hook: "resid_pre", layer: 1, vector: v, coeff: 2 }, { isPermanent: true });
    try {
      model.resetHooks();
      const steered = await model.forward(tokens);
      expect(maxAbsDiff(steered, clean)).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(await runWithSteering(model, tokens, []), steered)).toBe(0);
      h.remove();
      expect(
        maxAbsDiff(await runWithSteering(model, tokens, { hook: "resid_pre", layer: 1, vector: v, coeff: 2 }), steered),
      ).toBe(0);
    } finally {
      h.remove();
    }
    expect(maxAbsDiff(await model.forward(tokens), clean)).toBe(0);
  });

  it("with the KV cache the steered logits equal a full rerun (positions are absolute)", async () => {
    const specs: SteeringVector[] = [
      { hook: "resid_pre", layer: 1, vector: v, coeff: 1.5 }, // every position
      { hook: "resid_pre", layer: 0, vector: randn([9, model.cfg.dModel], { generator: g }), start: 4 }, // crosses the split
      { hook: "mlp_out", layer: 2, vector: v, coeff: -1, positions: [2, 12, 14] },
    ];
    const full = await runWithSteering(model, tokens, specs);
    const kv = new KeyValueCache(model.cfg.nLayers);
    const parts = await withSteering(model, specs, async () => {
      const a = await model.forward(tokens.narrow(1, 0, 8), { pastKvCache: kv });
      const b = await model.forward(tokens.narrow(1, 8, 4), { pastKvCache: kv });
      const c = await model.forward(tokens.narrow(1, 12, 3), { pastKvCache: kv });
      return [a, b, c];
    });
    expect(maxAbsDiff(parts[0]!, full.narrow(1, 0, 8))).toBeLessThan(1e-4);
    expect(maxAbsDiff(parts[1]!, full.narrow(1, 8, 4))).toBeLessThan(1e-4);
    expect(maxAbsDiff(parts[2]!, full.narrow(1, 12, 3))).toBeLessThan(1e-4);
  });

  it("generate: the same tokens with and without the KV cache, temporary or permanent", async () => {
    const seq = randn([12, model.cfg.dModel], { generator: g }); // longer than the prompt: reaches generated positions
    const specs: SteeringVector[] = [
      { hook: "resid_pre", layer: 0, vector: seq, coeff: 2 },
      { hook: "resid_pre", layer: 2, vector: v, coeff: 1 },
    ];
    const prompt = "When Anna and Bob";
    const withKv = await generateWithSteering(model, prompt, specs, {
      doSample: false,
      maxNewTokens: 14,
      stopAtEos: false,
    });
    const noKv = await generateWithSteering(model, prompt, specs, {
      doSample: false,
      maxNewTokens: 14,
      stopAtEos: false,
      useKvCache: false,
    });
    expect(withKv).toBe(noKv);
    const plain = await model.generate(prompt, { doSample: false, maxNewTokens: 14, stopAtEos: false });
    expect(withKv).not.toBe(plain);
    const handles = specs.map((s) => addSteeringVector(model, s, { isPermanent: true }));
    try {
      expect(await model.generate(prompt, { doSample: false, maxNewTokens: 14, stopAtEos: false })).toBe(withKv);
    } finally {
      handles.forEach((h) => h.remove());
    }
    // sampled, token input: still identical with a fixed seed
    const toks = model.toTokens(prompt);
    const s1 = (await generateWithSteering(model, toks, specs, {
      maxNewTokens: 10,
      seed: 5,
      stopAtEos: false,
    })) as Tensor;
    const s2 = (await generateWithSteering(model, toks, specs, {
      maxNewTokens: 10,
      seed: 5,
      stopAtEos: false,
      useKvCache: false,
    })) as Tensor;
    expect(maxAbsDiff(s1, s2)).toBe(0);
  });

  it("contrastive vectors: differences of cached activations; adding one back makes the negative run the positive one", async () => {
    // ActAdd ("sequence"): every position, front-aligned; at block 0's input the whole run becomes the positive prompt's
    const seq = await contrastiveSteeringVector(model, [[POS, NEG]], { hook: "resid_pre", layer: 0 });
    expect(seq.hook).toBe("blocks.0.hook_resid_pre");
    const n = model.toTokens(POS).shape[1]!;
    expect(seq.vector.shape).toEqual([n, model.cfg.dModel]);
    const [posLogits, posCache] = await model.runWithCache(POS);
    const [, negCache] = await model.runWithCache(NEG);
    expect(
      maxAbsDiff(seq.vector, posCache.get("resid_pre", 0).get(0).sub(negCache.get("resid_pre", 0).get(0))),
    ).toBeLessThan(1e-6);
    const steered = await runWithSteering(model, NEG, { hook: seq.hook, vector: seq.vector, coeff: 1 });
    expect(maxAbsDiff(steered, posLogits)).toBeLessThan(1e-4);
    // "last" at the final stream: the last position's logits become the positive prompt's
    const last = await contrastiveSteeringVector(model, [[POS, NEG]], { hook: "resid_post", layer: 3, mode: "last" });
    expect(last.vector.shape).toEqual([model.cfg.dModel]);
    const s2 = await runWithSteering(model, NEG, { hook: last.hook, vector: last.vector, positions: [n - 1] });
    expect(maxAbsDiff(s2.get(0, -1), posLogits.get(0, -1))).toBeLessThan(1e-4);
    // several pairs: the mean of the per-pair differences; identical prompts give zero
    const pairs: [string, string][] = [
      [POS, NEG],
      ["Then, Anna and Bob had fun. Bob gave it to", "Then, Bob and Anna had fun. Anna gave it to"],
      [POS, POS],
    ];
    const many = await contrastiveSteeringVector(model, pairs, { hook: "resid_pre", layer: 2, mode: "last" });
    expect(many.perPair.shape).toEqual([3, model.cfg.dModel]);
    expect(many.perPair.get(2).abs().max().item()).toBe(0);
    expect(maxAbsDiff(many.vector, many.perPair.mean(0))).toBeLessThan(1e-6);
    const one = await contrastiveSteeringVector(model, [pairs[1]!], { hook: "resid_pre", layer: 2, mode: "last" });
    expect(maxAbsDiff(many.perPair.get(1), one.vector)).toBeLessThan(1e-5); // batching with padding changes nothing
    // "mean" skips BOS
    const mean = await contrastiveSteeringVector(model, [[POS, NEG]], { hook: "resid_pre", layer: 1, mode: "mean" });
    const pm = posCache.get("resid_pre", 1).get(0, "1:").mean(0).sub(negCache.get("resid_pre", 1).get(0, "1:").mean(0));
    expect(maxAbsDiff(mean.vector, pm)).toBeLessThan(1e-5);
  });

  it("contrastive vectors of prompts of different lengths are padded with ' ' (ActAdd)", async () => {
    const r = await contrastiveSteeringVector(model, [["Love", "Hate it"]], { hook: "resid_pre", layer: 1 });
    const space = model.toSingleToken(" ");
    const posToks = Array.from(r.positiveTokens.get(0).dataSync());
    expect(posToks.length).toBe(r.vector.shape[0]);
    expect(posToks[posToks.length - 1]).toBe(space);
    expect(r.negativeTokens.shape).toEqual(r.positiveTokens.shape);
    const [, a] = await model.runWithCache(r.positiveTokens);
    const [, b] = await model.runWithCache(r.negativeTokens);
    expect(maxAbsDiff(r.vector, a.get("resid_pre", 1).get(0).sub(b.get("resid_pre", 1).get(0)))).toBeLessThan(1e-5);
    await expect(contrastiveSteeringVector(model, [], { hook: "resid_pre", layer: 1 })).rejects.toThrow(/at least one/);
    await expect(
      contrastiveSteeringVector(model, [["a", "b"]], { hook: "resid_pre", layer: 1, mode: "max" as "last" }),
    ).rejects.toThrow(/mode/);
  });

  it("sweep: coeff 0 is the unsteered model, logits/log-probs match a steered run, KL ≥ 0", async () => {
    const last = await contrastiveSteeringVector(model, [[POS, NEG]], { hook: "resid_pre", layer: 2, mode: "last" });
    const steering = { hook: last.hook, vector: last.vector };
    const prompts = [NEG, "Then, Anna and Bob had fun. Bob gave it to"]; // different lengths: each read at its own end
    const coeffs = [-2, 0, 1, 4];
    const sw = await steeringSweep(model, prompts, { steering, coeffs, tokens: [" John", " Mary"], topK: 3 });
    expect(sw.tokenLogits!.shape).toEqual([4, 2, 2]);
    expect(sw.logitDiff!.shape).toEqual([4, 2]);
    expect(sw.topK!.tokens.shape).toEqual([4, 2, 3]);
    expect(sw.positions).toEqual(prompts.map((p) => model.toTokens(p).shape[1]! - 1));
    expect(sw.klFromUnsteered.get(1).abs().max().item()).toBe(0);
    expect(sw.klFromUnsteered.min().item()).toBeGreaterThanOrEqual(-1e-6);
    expect(sw.klFromUnsteered.get(3).min().item()).toBeGreaterThan(0);
    const john = model.toSingleToken(" John");
    const mary = model.toSingleToken(" Mary");
    for (const [ci, c] of coeffs.entries()) {
      for (let b = 0; b < 2; b++) {
        const toks = model.toTokens(prompts[b]!);
        const logits = await runWithSteering(model, toks, { ...steering, coeff: c });
        const row = logits.get(0, -1);
        const lp = row.logSoftmax(-1);
        expect(Math.abs(sw.tokenLogits!.get(ci, b, 0).item() - row.get(john).item())).toBeLessThan(1e-4);
        expect(Math.abs(sw.tokenLogProbs!.get(ci, b, 1).item() - lp.get(mary).item())).toBeLessThan(1e-4);
        expect(Math.abs(sw.logitDiff!.get(ci, b).item() - (row.get(john).item() - row.get(mary).item()))).toBeLessThan(
          1e-4,
        );
        expect(sw.topK!.tokens.get(ci, b, 0).item()).toBe(row.argmax().item());
      }
    }
  });

  it("steering the final stream along W_U[t] raises t's log-prob monotonically", async () => {
    const t = model.toSingleToken(" Mary");
    const dir = model.W_U.get(":", t);
    const sw = await steeringSweep(model, NEG, {
      steering: { hook: "resid_post", layer: 3, vector: dir.div(dir.norm()) },
      coeffs: [0, 2, 4, 8, 16],
      tokens: [t],
    });
    const lp = Array.from(sw.tokenLogProbs!.reshape(-1).dataSync());
    for (let i = 1; i < lp.length; i++) expect(lp[i]).toBeGreaterThan(lp[i - 1]!);
  });

  it("generations per coefficient share the sampling seed; coeff 0 is the unsteered text", async () => {
    const spec = { hook: "resid_pre", layer: 1, vector: v };
    const gens = await steeringGenerations(model, "Then, Mary and John", spec, [0, 3], { maxNewTokens: 8 });
    expect(gens.map((x) => x.coeff)).toEqual([0, 3]);
    expect(gens[0]!.output).toBe(await model.generate("Then, Mary and John", { maxNewTokens: 8, seed: 0 }));
    expect(typeof gens[1]!.output).toBe("string");
  });

  it("rejects vectors that do not fit the activation", async () => {
    await expect(
      runWithSteering(model, tokens, { hook: "resid_pre", layer: 1, vector: tensor([1, 2, 3]) }),
    ).rejects.toThrow(/must be \[128\]/);
    await expect(
      runWithSteering(model, tokens, { hook: "resid_pre", layer: 1, vector: randn([3, 2, 2, 128]) }),
    ).rejects.toThrow(/must be/);
    expect(() => addSteeringVector(model, { hook: "resid_pre", layer: 1, vector: v, positions: [-1] })).toThrow(/≥ 0/);
    expect(() => addSteeringVector(model, { hook: "resid_pre", layer: 1, vector: v, coeff: NaN })).toThrow(/finite/);
  });
});
