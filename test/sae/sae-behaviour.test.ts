// Normalisation modes, the error term, hooks inside the SAE, gradients through it, and the config checks.
import { describe, expect, it } from "vitest";
import { Generator, randn, tensor, type Tensor } from "../../src/index.js";
import { SAE, SaeError, saeConfigFromJson } from "../../src/sae/index.js";
import { identitySae, tinySae, tinyWeights } from "./fixtures.js";

const vec = (t: Tensor): number[] => [...t.contiguous().dataSync()];
const closeVec = (got: number[], want: number[], digits = 6): void =>
  got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, digits));

describe("normalize_activations", () => {
  it("constant_norm_rescale: in x·√d_in/‖x‖, out ÷ that", async () => {
    const sae = identitySae({ normalizeActivations: "constant_norm_rescale" });
    const c = Math.SQRT2 / 5; // x = [3, 4], ‖x‖ = 5
    const [out, cache] = await sae.runWithCache(tensor([[3, 4]]));
    closeVec(vec(cache.get("hook_sae_input")), [3, 4]);
    closeVec(vec(cache.get("hook_sae_acts_pre")), [3 * c, 4 * c]);
    closeVec(vec(cache.get("hook_sae_recons")), [3 * c + 0.1, 4 * c]);
    closeVec(vec(out), [3 + 0.1 / c, 4], 5);
  });

  it("layer_norm: (x − μ)/(σ + 1e-5) with Bessel's σ, out ·σ + μ", async () => {
    const sae = identitySae({ normalizeActivations: "layer_norm" });
    const s = Math.SQRT2; // x = [1, 3]: μ 2, x − μ = [−1, 1], σ = √2
    const [out, cache] = await sae.runWithCache(tensor([[1, 3]]));
    closeVec(vec(cache.get("hook_sae_acts_pre")), [-1 / (s + 1e-5), 1 / (s + 1e-5)]);
    closeVec(vec(out), [0.1 * s + 2, (1 / (s + 1e-5)) * s + 2], 5);
  });

  it("expected_average_only_in does nothing at inference (as SAELens's SAE)", async () => {
    const x = tensor([[3, -4]]);
    const a = await identitySae({ normalizeActivations: "expected_average_only_in" }).forward(x);
    expect(vec(a)).toEqual(vec(await identitySae({}).forward(x)));
  });

  it("decode alone de-normalises with the last encode's statistics", async () => {
    const sae = identitySae({ normalizeActivations: "constant_norm_rescale" });
    await expect(sae.decode(tensor([[1, 1]]))).rejects.toThrow(SaeError);
    const x = tensor([[3, 4]]);
    const acts = await sae.encode(x);
    expect(vec(await sae.decode(acts))).toEqual(vec(await sae.forward(x)));
  });
});

describe("the error term", () => {
  const x = randn([4, 5, 2], { generator: new Generator(1) });
  it("makes the output the input (to float rounding) and exists only in that mode", async () => {
    const sae = tinySae();
    const [out, cache] = await sae.runWithCache(x, { useErrorTerm: true });
    const err = Math.max(...vec(out.sub(x).abs()));
    expect(err).toBeLessThanOrEqual(1e-6);
    expect(cache.keys()).toContain("hook_sae_error");
    closeVec(vec(cache.get("hook_sae_error")), vec(x.sub(cache.get("hook_sae_recons"))));
  });

  it("an ablated feature changes the output by exactly its decoder row", async () => {
    const sae = tinySae();
    const [, clean] = await sae.runWithCache(x, { useErrorTerm: true });
    const ablate = (a: Tensor): Tensor => a.mul(tensor([1, 0, 1]));
    const out = await sae.runWithHooks(x, { useErrorTerm: true, fwdHooks: [["hook_sae_acts_post", ablate]] });
    // feature 1 decodes to [0, 1]: the output loses acts[..., 1] on dim 1 only
    const acts1 = clean.get("hook_sae_acts_post").narrow(-1, 1, 1).squeeze(-1);
    closeVec(vec(out.narrow(-1, 1, 1).squeeze(-1)), vec(x.narrow(-1, 1, 1).squeeze(-1).sub(acts1)));
    closeVec(vec(out.narrow(-1, 0, 1)), vec(x.narrow(-1, 0, 1)));
  });

  it("shared hooks (sae.addHook) fire in every forward until resetHooks", async () => {
    const sae = tinySae();
    const seen: string[] = [];
    sae.addHook("hook_sae_acts_post", (_a, h) => {
      seen.push(h.name);
    });
    await sae.forward(x);
    sae.resetHooks();
    await sae.forward(x);
    expect(seen).toEqual(["hook_sae_acts_post"]);
  });
});

describe("gradients", () => {
  it("flow through encode and decode to every parameter", async () => {
    const sae = tinySae({ applyBDecToInput: false }).requiresGrad_();
    const x = randn([3, 2], { generator: new Generator(2) });
    const out = await sae.forward(x);
    await out.sum().backward();
    // d Σ recons / d b_dec = the number of tokens, per dim (b_dec is only added in decode here)
    expect(vec(sae.b_dec.grad as Tensor)).toEqual([3, 3]);
    // d Σ recons / d W_dec[j, i] = Σ_t acts[t, j]
    const acts = await sae.encode(x);
    closeVec(vec((sae.W_dec.grad as Tensor).narrow(1, 0, 1).squeeze(1)), vec(acts.sum(0)));
    expect(Math.max(...vec((sae.W_enc.grad as Tensor).abs()))).toBeGreaterThan(0);
  });
});

describe("config and weight checks", () => {
  it("rejects an unknown architecture, a missing or misshapen tensor, a wrong input width", async () => {
    expect(() => tinySae({ architecture: "relu2" as "standard" })).toThrow(/unknown SAE architecture "relu2"/);
    expect(() => tinySae({ architecture: "jumprelu" })).toThrow(/missing tensor threshold/);
    expect(
      () =>
        new SAE(
          { dIn: 2, dSae: 3, hookName: "h" },
          {
            ...tinyWeights(),
            W_dec: tensor([
              [1, 0, 0],
              [0, 1, 0],
            ]),
          },
        ),
    ).toThrow(/W_dec has shape \[2, 3\], expected \[3, 2\]/);
    expect(() => tinySae({ architecture: "topk" })).toThrow(/topk needs an integer k/);
    await expect(tinySae().forward(tensor([[1, 2, 3]]))).rejects.toThrow(/input has width 3 .* d_in is 2/);
    expect(() => tinySae({}, { extra: tensor([1]) } as object)).toThrow(/unexpected tensor extra/);
  });

  it("reads pre-6 flat configs (hook_point, activation_fn_str topk, default apply_b_dec_to_input)", () => {
    const c = saeConfigFromJson({
      d_in: 64,
      d_sae: 512,
      hook_point: "blocks.3.hook_resid_post",
      hook_point_layer: 3,
      activation_fn_str: "topk",
      activation_fn_kwargs: { k: 8 },
      model_name: "gpt2",
    });
    expect(c).toMatchObject({
      architecture: "topk",
      k: 8,
      hookName: "blocks.3.hook_resid_post",
      hookLayer: 3,
      applyBDecToInput: true,
      modelName: "gpt2",
      normalizeActivations: "none",
    });
    expect(() => saeConfigFromJson({ d_in: 64, d_sae: 512 }, "x/cfg.json")).toThrow(/x\/cfg.json: no hook_name/);
  });
});
