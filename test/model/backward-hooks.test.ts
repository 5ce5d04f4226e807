// Backward hooks on the model (TL's dir="bwd"): a returned gradient flows on upstream, async hooks, shared vs
// per-run hooks, scoped hooks removed even when the body throws, and the named errors (wrong shape, NaN, unknown
// hook name) saying which hook.
import { beforeAll, describe, expect, it } from "vitest";
import { GradError, HookError } from "../../src/errors.js";
import { HookedTransformer, type HookFn, type Tensor } from "../../src/index.js";
import { goldenInputs, GOLDEN_DIR } from "../golden.js";

let tokens: Tensor;
beforeAll(async () => {
  tokens = (await goldenInputs).get("clean_tokens")!;
});
const load = (): Promise<HookedTransformer> => HookedTransformer.fromPretrained(GOLDEN_DIR, {});
const metricOf = (logits: Tensor): Tensor =>
  logits
    .get(":", -1, 436)
    .sub(logits.get(":", -1, 895))
    .sum();
const maxAbs = (t: Tensor): number => t.abs().max().item();

/** The cache's gradients of the metric, with `bwdHooks` shared while it runs. */
async function gradCache(model: HookedTransformer, bwdHooks: [string, HookFn][] = []) {
  return model.hooks({ bwdHooks }, async () => {
    const [logits, cache] = await model.runWithCache(tokens, { inclBwd: true });
    await metricOf(logits).backward();
    return cache;
  });
}

describe("backward hooks", () => {
  it("a returned gradient replaces the gradient upstream; an async hook is awaited", async () => {
    const model = await load();
    const base = await gradCache(model);
    const zeroed = await gradCache(model, [["blocks.1.hook_resid_pre", (g) => g.mul(0)]]);
    expect(maxAbs(base.get("blocks.0.hook_resid_post_grad"))).toBeGreaterThan(0.01);
    expect(maxAbs(zeroed.get("blocks.0.hook_resid_post_grad"))).toBe(0);
    expect(maxAbs(zeroed.get("hook_embed_grad"))).toBe(0);
    // downstream of the hook the gradient is unchanged; the cache (a run's hook, after the shared ones) sees the replacement
    expect(maxAbs(zeroed.get("blocks.1.hook_resid_mid_grad").sub(base.get("blocks.1.hook_resid_mid_grad")))).toBe(0);
    expect(maxAbs(zeroed.get("blocks.1.hook_resid_pre_grad"))).toBe(0);
    const slow: HookFn = async (g) => {
      await new Promise((r) => setTimeout(r, 5));
      return g.mul(2);
    };
    const doubled = await gradCache(model, [["blocks.2.hook_resid_pre", slow]]);
    expect(maxAbs(doubled.get("hook_embed_grad").sub(base.get("hook_embed_grad").mul(2)))).toBeLessThan(1e-5);
  });

  it("fire once per backward pass; shared ones in every run until removed, per-run ones in their run only", async () => {
    const model = await load();
    const fired: string[] = [];
    const shared: HookFn = (_g, h) => {
      fired.push(`shared ${h.name}`);
    };
    model.addHook("blocks.0.attn.hook_z", shared, { dir: "bwd" });
    const a = metricOf(
      await model.runWithHooks(tokens, {
        bwdHooks: [
          [
            "blocks.1.attn.hook_z",
            () => {
              fired.push("a");
            },
          ],
        ],
      }),
    );
    const b = metricOf(
      await model.runWithHooks(tokens, {
        bwdHooks: [
          [
            "blocks.2.attn.hook_z",
            () => {
              fired.push("b");
            },
          ],
        ],
      }),
    );
    await b.backward();
    expect(fired).toEqual(["b", "shared blocks.0.attn.hook_z"]);
    // removed after the forward: it does not fire (as TL's removed hook)
    model.resetHooks();
    await a.backward();
    expect(fired).toEqual(["b", "shared blocks.0.attn.hook_z", "a"]);
  });

  it("with frozen weights a hook upstream of nothing that requires grad still fires; a later forward hook may edit in place", async () => {
    const model = await load();
    let grad: Tensor | null = null;
    const logits = await model.runWithHooks(tokens, {
      bwdHooks: [
        [
          "blocks.0.hook_resid_post",
          (g) => {
            grad = g;
          },
        ],
      ],
      fwdHooks: [
        [
          "blocks.1.hook_resid_pre",
          (act) => {
            act.set([":", 0], 0);
          },
        ],
      ],
    });
    await metricOf(logits).backward();
    expect(grad!.shape).toEqual([2, 10, 64]);
    // position 0 was overwritten downstream: no gradient flows back there
    expect(maxAbs(grad!.get(":", 0))).toBe(0);
    expect(maxAbs(grad!.get(":", -1))).toBeGreaterThan(0.01);
  });

  it("model.hooks() removes its hooks when the body throws", async () => {
    const model = await load();
    const hook: HookFn = () => undefined;
    await expect(
      model.hooks({ bwdHooks: [["blocks.0.hook_resid_pre", hook]], fwdHooks: [["hook_embed", hook]] }, async () => {
        throw new Error("metric failed");
      }),
    ).rejects.toThrow("metric failed");
    expect([...model.hookPoints.values()].some((p) => p.hasHooks)).toBe(false);
  });

  it("a hook that throws during backward: the rejection names the hook, and the scoped hooks are gone", async () => {
    const model = await load();
    await expect(
      model.hooks(
        {
          bwdHooks: [
            [
              "blocks.1.attn.hook_pattern",
              () => {
                throw new Error("boom");
              },
            ],
          ],
        },
        async () => {
          await metricOf(await model.forward(tokens)).backward();
        },
      ),
    ).rejects.toThrow('in backward hook on "blocks.1.attn.hook_pattern": boom');
    expect([...model.hookPoints.values()].some((p) => p.hasHooks)).toBe(false);
  });
});

describe("backward hook errors", () => {
  it("a wrong-shaped gradient: GradError naming the hook and both shapes", async () => {
    const model = await load();
    const logits = await model.runWithHooks(tokens, { bwdHooks: [["blocks.0.attn.hook_z", (g) => g.sum(0)]] });
    const err = await metricOf(logits)
      .backward()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GradError);
    expect((err as Error).message).toMatch(/"blocks\.0\.attn\.hook_z".*\[10, 4, 16\].*\[2, 10, 4, 16\]/);
  });

  it("a NaN gradient returned by a hook: GradError naming the hook", async () => {
    const model = await load();
    const logits = await model.runWithHooks(tokens, { bwdHooks: [["blocks.2.hook_mlp_out", (g) => g.div(0).mul(0)]] });
    const err = await metricOf(logits)
      .backward()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GradError);
    expect((err as Error).message).toContain(
      'backward hook on "blocks.2.hook_mlp_out" returned a gradient containing NaN',
    );
  });

  it("an unknown hook name: HookError with a suggestion, nothing added", async () => {
    const model = await load();
    expect(() => model.addHook("blocks.0.attn.hook_patern", () => undefined, { dir: "bwd" })).toThrow(
      /did you mean "blocks\.0\.attn\.hook_pattern"/,
    );
    await expect(
      model.runWithHooks(tokens, { bwdHooks: [["blocks.9.hook_resid_pre", () => undefined]] }),
    ).rejects.toBeInstanceOf(HookError);
    await expect(
      model.hooks(
        {
          bwdHooks: [
            ["hook_embed", () => undefined],
            ["hook_embedd", () => undefined],
          ],
        },
        async () => 1,
      ),
    ).rejects.toThrow(/did you mean "hook_embed"/);
    expect([...model.hookPoints.values()].some((p) => p.hasHooks)).toBe(false);
  });

  it("removeBatchDim with inclBwd on logits: HookError (the gradients arrive later)", async () => {
    const model = await load();
    await expect(
      model.runWithCache(tokens.narrow(0, 0, 1), { inclBwd: true, removeBatchDim: true }),
    ).rejects.toBeInstanceOf(HookError);
  });
});
