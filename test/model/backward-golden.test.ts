// TransformerLens 2.18's gradients (../shared/golden/tl-grad) through the model's public API: runWithCache
// { inclBwd } for every hook's gradient (default and split mode, clean and corrupted runs, the metric and the loss),
// model.requiresGrad_() for the parameter gradients, backward hooks for the firing order, and the attribution
// estimates (act_other − act) · grad built from two caches. Each tensor within grads.json's suggested_atol.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, stack, type ActivationCache, type Tensor } from "../../src/index.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";
import { GOLDEN_DIR } from "../golden.js";

const GRAD_DIR = fileURLToPath(new URL("../../../shared/golden/tl-grad", import.meta.url));
const meta = JSON.parse(readFileSync(`${GRAD_DIR}/grads.json`, "utf8")) as {
  tensors: Record<string, { suggested_atol: number }>;
  bwd_fire_order_default: string[];
  bwd_fire_order_split: string[];
};

let golden: Map<string, Tensor>;
beforeAll(async () => {
  golden = (await readSafetensorsFile(`${GRAD_DIR}/grads.safetensors`)).tensors;
});

const load = (): Promise<HookedTransformer> => HookedTransformer.fromPretrained(GOLDEN_DIR, {});
const metricOf = (logits: Tensor): Tensor => {
  const last = logits.get(":", -1);
  return last.get(":", 436).sub(last.get(":", 895)).sum();
};
function within(key: string, got: Tensor, want: Tensor): void {
  const diff = got.sub(want.reshape(got.shape)).abs().max().item();
  expect(diff, `${key}: max |Δ| ${diff}`).toBeLessThanOrEqual(meta.tensors[key]!.suggested_atol);
}

/** Every golden `<prefix><hook>_grad` (the true total `_grad_sum` where TL's cache keeps one firing of several). */
function expectHookGrads(cache: ActivationCache, model: HookedTransformer, prefix: string): number {
  let checked = 0;
  for (const name of model.hookPoints.keys()) {
    const key = golden.has(`${prefix}${name}_grad_sum`) ? `${prefix}${name}_grad_sum` : `${prefix}${name}_grad`;
    if (!golden.has(key)) continue;
    within(key, cache.get(`${name}_grad`), golden.get(key)!);
    checked++;
  }
  return checked;
}

describe("runWithCache({ inclBwd }) = TransformerLens's gradient cache", () => {
  it("of the metric, with frozen weights: every hook's gradient once metric.backward() has run", async () => {
    const model = await load();
    const [logits, cache] = await model.runWithCache(golden.get("tokens/clean")!, { inclBwd: true });
    expect(cache.has("blocks.0.attn.hook_pattern_grad")).toBe(false);
    const metric = metricOf(logits);
    expect(metric.item()).toBeCloseTo(golden.get("metric/clean")!.item(), 4);
    await metric.backward();
    expect(expectHookGrads(cache, model, "")).toBe(55);
    // ln1's gradient is the sum over its three uses, not TL's last firing (the query path)
    const q = golden.get("blocks.0.ln1.hook_normalized_grad")!;
    expect(
      cache
        .get("blocks.0.ln1.hook_normalized_grad")
        .sub(q.reshape([2, 10, 64]))
        .abs()
        .max()
        .item(),
    ).toBeGreaterThan(1e-3);
    // frozen weights get no gradient
    expect(model.W_E.grad).toBeNull();
  });

  it('of the loss: returnType "loss" runs backward itself, as TL', async () => {
    const model = await load();
    const [loss, cache] = await model.runWithCache(golden.get("tokens/clean")!, { returnType: "loss", inclBwd: true });
    expect(loss.item()).toBeCloseTo(golden.get("loss/clean")!.item(), 3);
    expect(expectHookGrads(cache, model, "loss/")).toBe(55);
  });

  it("in split mode (attn result, split q/k/v input, hook_mlp_in)", async () => {
    const model = await load();
    model.setUseAttnResult(true);
    model.setUseSplitQkvInput(true);
    model.setUseHookMlpIn(true);
    const [logits, cache] = await model.runWithCache(golden.get("split/tokens")!, { inclBwd: true });
    const metric = metricOf(logits);
    expect(metric.item()).toBeCloseTo(golden.get("split/metric")!.item(), 4);
    await metric.backward();
    expect(expectHookGrads(cache, model, "split/")).toBe(55 + 5 * 3);
  });

  it("on the corrupted run, and the attribution estimates (other act − act) · grad", async () => {
    const model = await load();
    const run = async (tokens: Tensor): Promise<ActivationCache> => {
      const [logits, cache] = await model.runWithCache(tokens, { inclBwd: true });
      await metricOf(logits).backward();
      return cache;
    };
    const clean = await run(golden.get("tokens/clean")!);
    const corrupted = await run(golden.get("tokens/corrupted")!);
    for (const l of [0, 1, 2]) {
      for (const h of ["hook_resid_pre", "hook_attn_out", "hook_mlp_out", "attn.hook_z"]) {
        const key = `corrupted/blocks.${l}.${h}_grad`;
        within(key, corrupted.get(`blocks.${l}.${h}_grad`), golden.get(key)!);
      }
    }
    // [batch, pos, d] → [pos] summed over batch and d; hook_z [batch, pos, head, d_head] → [pos, head]
    const attr = (to: ActivationCache, from: ActivationCache, hook: string, l: number): Tensor => {
      const name = `blocks.${l}.${hook}`;
      const prod = from
        .get(name)
        .sub(to.get(name))
        .mul(to.get(`${name}_grad`));
      return hook === "attn.hook_z" ? prod.sum([0, 3]) : prod.sum([0, 2]);
    };
    const kinds: [string, string][] = [
      ["resid_pre", "hook_resid_pre"],
      ["attn_out", "hook_attn_out"],
      ["mlp_out", "hook_mlp_out"],
      ["head_out", "attn.hook_z"],
    ];
    for (const [kind, hook] of kinds) {
      within(
        `attr/clean_grad/${kind}`,
        stack([0, 1, 2].map((l) => attr(clean, corrupted, hook, l))),
        golden.get(`attr/clean_grad/${kind}`)!,
      );
      within(
        `attr/corrupted_grad/${kind}`,
        stack([0, 1, 2].map((l) => attr(corrupted, clean, hook, l))),
        golden.get(`attr/corrupted_grad/${kind}`)!,
      );
    }
  });
});

describe("parameter gradients: model.requiresGrad_()", () => {
  it("of the metric and then of the loss, on one model (two backward passes)", async () => {
    const model = (await load()).requiresGrad_();
    const params = model.stateDict();
    expect(params.size).toBe([...golden.keys()].filter((k) => k.startsWith("param.")).length);
    const expectParamGrads = (prefix: string): void => {
      for (const [name, p] of params)
        within(`${prefix}param.${name}_grad`, p.grad!, golden.get(`${prefix}param.${name}_grad`)!);
    };
    await metricOf(await model.forward(golden.get("tokens/clean")!)).backward();
    expectParamGrads("");
    for (const p of params.values()) p.grad = null;
    await (await model.forward(golden.get("tokens/clean")!, { returnType: "loss" })).backward();
    expectParamGrads("loss/");
    model.requiresGrad_(false);
    expect([...model.stateDict().values()].some((p) => p.requiresGrad)).toBe(false);
  });
});

describe("backward hooks fire in TL's order", () => {
  // TL fires ln1's two hooks three times (once per q, k, v input); tlens the same, so the sequences are equal
  for (const [mode, order] of [
    ["default", () => meta.bwd_fire_order_default],
    ["split", () => meta.bwd_fire_order_split],
  ] as const) {
    it(`${mode} flags, scoped model.hooks({ bwdHooks })`, async () => {
      const model = await load();
      if (mode === "split") {
        model.setUseAttnResult(true);
        model.setUseSplitQkvInput(true);
        model.setUseHookMlpIn(true);
      }
      const fired: string[] = [];
      await model.hooks(
        {
          bwdHooks: [
            [
              () => true,
              (_g, hook) => {
                fired.push(hook.name);
              },
            ],
          ],
        },
        async () => {
          await metricOf(await model.forward(golden.get("tokens/clean")!)).backward();
        },
      );
      expect(fired).toEqual(order());
    });
  }
});
