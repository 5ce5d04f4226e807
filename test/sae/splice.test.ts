// HookedSAETransformer on a shipped model (toy-ioi): the error term leaves the logits unchanged, hooks on an SAE's
// internals ablate or steer a feature, attached SAEs persist until resetSaes, and a mismatched SAE is refused.
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, randn, Generator, tensor, zeros, type Tensor } from "../../src/index.js";
import { HookedSAETransformer, SAE, SaeError } from "../../src/sae/index.js";
import { HookError } from "../../src/errors.js";

let base: HookedTransformer;
let tokens: Tensor;
const hookName = "blocks.1.hook_resid_pre";
/** a random standard SAE on toy-ioi's residual stream (d_model 128, d_sae 256) */
const randomSae = (seed: number, cfg: Partial<ConstructorParameters<typeof SAE>[0]> = {}): SAE => {
  const g = new Generator(seed);
  return new SAE(
    { dIn: 128, dSae: 256, hookName, ...cfg },
    {
      W_enc: randn([128, 256], { generator: g }).mul(0.1),
      b_enc: zeros([256]),
      W_dec: randn([256, 128], { generator: g }).mul(0.1),
      b_dec: randn([128], { generator: g }).mul(0.01),
    },
  );
};
const maxDiff = (a: Tensor, b: Tensor): number => a.sub(b).abs().max().item();

beforeAll(async () => {
  base = await HookedTransformer.fromPretrained("toy-ioi");
  tokens = tensor([
    [50256, 464, 3290, 373, 257, 922],
    [50256, 1649, 1110, 290, 1757, 1816],
  ]).to("int32");
});

describe("HookedSAETransformer", () => {
  it("with the error term the logits are the model's (to float rounding); without it they change", async () => {
    const model = new HookedSAETransformer(base);
    const clean = await base.forward(tokens);
    const sae = randomSae(1);
    const withErr = (await model.runWithSaes(tokens, { saes: sae, useErrorTerm: true })) as Tensor;
    expect(maxDiff(withErr, clean)).toBeLessThan(1e-4);
    const without = (await model.runWithSaes(tokens, { saes: sae })) as Tensor;
    expect(maxDiff(without, clean)).toBeGreaterThan(1e-2);
  });

  it("the cache holds <hook>.hook_sae_* and not <hook>; hook.name is the full name", async () => {
    const model = new HookedSAETransformer(base);
    const [, cache] = await model.runWithCacheWithSaes(tokens, { saes: randomSae(1), useErrorTerm: true });
    expect(cache.keys()).not.toContain(hookName);
    expect(cache.keys().filter((k) => k.startsWith(`${hookName}.`))).toEqual(
      [
        "hook_sae_input",
        "hook_sae_acts_pre",
        "hook_sae_acts_post",
        "hook_sae_recons",
        "hook_sae_error",
        "hook_sae_output",
      ].map((n) => `${hookName}.${n}`),
    );
    const seen: string[] = [];
    await model.runWithHooks(tokens, {
      saes: randomSae(1),
      fwdHooks: [
        [
          (n) => n.endsWith("acts_post"),
          (_a, h) => {
            seen.push(`${h.name}@${h.layer()}`);
          },
        ],
      ],
    });
    expect(seen).toEqual([`${hookName}.hook_sae_acts_post@1`]);
  });

  it("ablating a feature with the error term changes the residual by exactly its decoder direction", async () => {
    const model = new HookedSAETransformer(base);
    const sae = randomSae(2);
    model.addSae(sae, { useErrorTerm: true });
    const [, clean] = await model.runWithCache(tokens);
    const acts = clean.get(`${hookName}.hook_sae_acts_post`);
    const j = acts.sum([0, 1]).argmax().item();
    const ablate = (a: Tensor): Tensor => a.mul(tensor(Array.from({ length: 256 }, (_, i) => (i === j ? 0 : 1))));
    // the SAE's output at the hook: clean output − acts[..., j] · W_dec[j]
    const outs: Tensor[] = [];
    await model.runWithHooks(tokens, {
      fwdHooks: [
        [`${hookName}.hook_sae_acts_post`, ablate],
        [
          `${hookName}.hook_sae_output`,
          (a) => {
            outs.push(a);
          },
        ],
      ],
    });
    const want = clean.get(`${hookName}.hook_sae_output`).sub(acts.narrow(-1, j, 1).mul(sae.W_dec.narrow(0, j, 1)));
    expect(maxDiff(outs[0]!, want)).toBeLessThan(1e-5);
    model.resetSaes();
    expect(model.actsToSaes.size).toBe(0);
  });

  it("steering: adding to a feature's activation moves the logits; attached SAEs persist across calls", async () => {
    const model = new HookedSAETransformer(base);
    model.addSae(randomSae(3), { useErrorTerm: true });
    expect(model.hookNames()).toContain(`${hookName}.hook_sae_acts_post`);
    expect(model.hookNames()).not.toContain(hookName);
    const a = (await model.forward(tokens)) as Tensor;
    const steer = (x: Tensor): Tensor => x.add(tensor(Array.from({ length: 256 }, (_, i) => (i === 7 ? 20 : 0))));
    const b = (await model.runWithHooks(tokens, { fwdHooks: [[`${hookName}.hook_sae_acts_post`, steer]] })) as Tensor;
    expect(maxDiff(a, b)).toBeGreaterThan(1e-2);
    expect(maxDiff(a, await base.forward(tokens))).toBeLessThan(1e-4);
  });

  it("runWithCacheWithSaes with inclBwd caches the gradient at the SAE's features (attribution)", async () => {
    const model = new HookedSAETransformer(base);
    const sae = randomSae(4);
    const [loss, cache] = await model.runWithCacheWithSaes(tokens, {
      saes: sae,
      useErrorTerm: true,
      returnType: "loss",
      inclBwd: true,
    });
    expect(loss.numel).toBe(1);
    const g = cache.get(`${hookName}.hook_sae_acts_post_grad`);
    expect(g.shape).toEqual([2, 6, 256]);
    expect(g.abs().max().item()).toBeGreaterThan(0);
    expect(cache.keys()).toContain("blocks.0.hook_resid_pre_grad");
  });

  it("refuses an unknown hook, a d_in that is not the hook's width, a hook on the replaced point, resetting nothing", async () => {
    const model = new HookedSAETransformer(base);
    expect(() => model.addSae(randomSae(1, { hookName: "blocks.9.hook_resid_pre" }))).toThrow(HookError);
    const narrow = new SAE(
      { dIn: 64, dSae: 8, hookName },
      { W_enc: zeros([64, 8]), b_enc: zeros([8]), W_dec: zeros([8, 64]), b_dec: zeros([64]) },
    );
    expect(() => model.addSae(narrow)).toThrow(SaeError);
    expect(() => model.addSae(narrow)).toThrow(/d_in 64, but that hook is 128 wide/);
    model.addSae(randomSae(1));
    await expect(model.runWithHooks(tokens, { fwdHooks: [[hookName, () => undefined]] })).rejects.toThrow(
      /replaced by a spliced SAE/,
    );
    expect(() => model.resetSaes(["blocks.0.hook_resid_pre"])).toThrow(/no SAE is attached/);
  });
});
