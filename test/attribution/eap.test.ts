// EAP and EAP-IG edge scores: a receiver's edges sum to its node score Σ Δ(receiver input) · ∂metric/∂(receiver
// input) (the input of a head or MLP is the sum of its senders plus biases that cancel); the model's flags are
// restored; EAP-IG with many steps is complete: the input's edges sum to metric(clean) − metric(corrupted).
import { describe, expect, it } from "vitest";
import { attribution, HookedTransformer, noGrad, type Tensor } from "../../src/index.js";
import { clean, corrupted, ids, metric, SMALL_CFG } from "./fixture.js";

const CFG = { ...SMALL_CFG, seed: 21 };

/** Σ (clean − corrupted receiver input) · grad at the corrupted run, per hook: [head] for q/k/v inputs, [1] otherwise. */
async function nodeScores(
  model: HookedTransformer,
  hooks: string[],
): Promise<Map<string, Float32Array | Float64Array>> {
  model.setUseSplitQkvInput(true);
  model.setUseHookMlpIn(true);
  try {
    const run = await attribution.gradRun(model, corrupted, metric, hooks);
    const [, cleanCache] = await noGrad(() => model.runWithCache(clean));
    const out = new Map<string, Float32Array | Float64Array>();
    for (const h of hooks) {
      const prod = cleanCache.get(h).sub(run.acts.get(h)!).mul(run.grads.get(h)!);
      out.set(h, (prod.ndim === 4 ? prod.sum([0, 1, 3]) : prod.sum()).contiguous().dataSync() as Float32Array);
    }
    return out;
  } finally {
    model.setUseSplitQkvInput(false);
    model.setUseHookMlpIn(false);
  }
}

const sumOver = (g: attribution.Graph, child: string, qkv: string | null): number =>
  g
    .parentEdges(child)
    .filter((e) => e.qkv === qkv)
    .reduce((s, e) => s + e.score!, 0);

describe("EAP", () => {
  const model = HookedTransformer.fromConfig(CFG);
  it("scores every edge; a receiver's edges add up to its node score; the model's flags are restored", async () => {
    const g = await attribution.attributeEdges(model, { clean, corrupted, metric });
    expect(g.edges.length).toBe(attribution.edgeCount(model.cfg));
    expect(model.cfg.useSplitQkvInput || model.cfg.useAttnResult || model.cfg.useHookMlpIn).toBe(false);
    const hooks = [
      "blocks.0.hook_q_input",
      "blocks.1.hook_k_input",
      "blocks.1.hook_v_input",
      "blocks.0.hook_mlp_in",
      "blocks.1.hook_mlp_in",
      "blocks.1.hook_resid_post",
    ];
    const want = await nodeScores(model, hooks);
    const pairs: [number, number][] = [];
    for (let h = 0; h < 4; h++) {
      pairs.push([sumOver(g, `a0.h${h}`, "q"), want.get("blocks.0.hook_q_input")![h]!]);
      pairs.push([sumOver(g, `a1.h${h}`, "k"), want.get("blocks.1.hook_k_input")![h]!]);
      pairs.push([sumOver(g, `a1.h${h}`, "v"), want.get("blocks.1.hook_v_input")![h]!]);
    }
    pairs.push(
      [sumOver(g, "m0", null), want.get("blocks.0.hook_mlp_in")![0]!],
      [sumOver(g, "m1", null), want.get("blocks.1.hook_mlp_in")![0]!],
    );
    pairs.push([sumOver(g, "logits", null), want.get("blocks.1.hook_resid_post")![0]!]);
    expect(pairs.some(([, w]) => Math.abs(w) > 1e-3)).toBe(true);
    for (const [got, w] of pairs) expect(Math.abs(got - w)).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(w));
  });

  it("1-step EAP-IG takes its gradient at α = 1, the clean input: minus the noising EAP (gradients at the clean run)", async () => {
    const ig1 = (
      await attribution.attributeEdges(model, { clean, corrupted, metric, method: "eap-ig", steps: 1 })
    ).scores();
    const noise = (await attribution.attributeEdges(model, { clean, corrupted, metric, convention: "noise" })).scores();
    const denoise = (await attribution.attributeEdges(model, { clean, corrupted, metric })).scores();
    expect(Math.max(...ig1.map((x, i) => Math.abs(x + noise[i]!)))).toBeLessThanOrEqual(1e-5);
    expect(Math.max(...ig1.map((x, i) => Math.abs(x - denoise[i]!)))).toBeGreaterThan(1e-3);
  });

  it("EAP-IG with many steps is complete: the input's edges sum to metric(clean) − metric(corrupted) within 1%", async () => {
    const g = await attribution.attributeEdges(model, { clean, corrupted, metric, method: "eap-ig", steps: 64 });
    const total = g.childEdges("input").reduce((s, e) => s + e.score!, 0);
    const want = metric(await model.forward(clean)).item() - metric(await model.forward(corrupted)).item();
    expect(Math.abs(want)).toBeGreaterThan(0.05);
    expect(Math.abs(total - want)).toBeLessThanOrEqual(0.01 * Math.abs(want));
  });

  it("1-step EAP-IG on activations is EAP: every run is the base run", async () => {
    const ig1 = (
      await attribution.attributeEdges(model, { clean, corrupted, metric, method: "eap-ig-activations", steps: 1 })
    ).scores();
    const eap = (await attribution.attributeEdges(model, { clean, corrupted, metric })).scores();
    expect(Math.max(...eap.map(Math.abs))).toBeGreaterThan(1e-2);
    expect(Math.max(...ig1.map((x, i) => Math.abs(x - eap[i]!)))).toBeLessThanOrEqual(1e-6);
  });

  it("EAP-IG on activations averages the receivers' gradients over each sender group's interpolated output", async () => {
    // reference through the model's own hooks and cached gradients (runWithCache inclBwd), not gradRun
    const steps = 3;
    const groups = [
      "blocks.0.hook_resid_pre",
      "blocks.0.attn.hook_result",
      "blocks.0.hook_mlp_out",
      "blocks.1.attn.hook_result",
      "blocks.1.hook_mlp_out",
    ];
    const receivers = ["blocks.1.hook_q_input", "blocks.1.hook_mlp_in", "blocks.1.hook_resid_post"];
    model.setUseAttnResult(true);
    model.setUseSplitQkvInput(true);
    model.setUseHookMlpIn(true);
    const avg = new Map<string, Tensor>();
    let delta: Map<string, Tensor>;
    try {
      const [, cleanCache] = await noGrad(() => model.runWithCache(clean));
      const [, corrCache] = await noGrad(() => model.runWithCache(corrupted));
      delta = new Map(groups.map((g) => [g, cleanCache.get(g).sub(corrCache.get(g))]));
      for (const g of groups) {
        for (let k = 1; k <= steps; k++) {
          const offset = delta.get(g)!.mul(1 - k / steps);
          model.addHook(g, (a) => a.add(offset));
          const [logits, cache] = await model.runWithCache(corrupted, { inclBwd: true, namesFilter: receivers });
          await metric(logits).backward();
          model.resetHooks();
          for (const r of receivers) {
            const gr = cache.get(`${r}_grad`).div(steps * groups.length);
            avg.set(r, avg.has(r) ? avg.get(r)!.add(gr) : gr);
          }
        }
      }
    } finally {
      model.resetHooks();
      model.setUseAttnResult(false);
      model.setUseSplitQkvInput(false);
      model.setUseHookMlpIn(false);
    }
    const g = await attribution.attributeEdges(model, {
      clean,
      corrupted,
      metric,
      method: "eap-ig-activations",
      steps,
    });
    const score = (parent: string, child: string, qkv: string | null): number =>
      g.edges.find((e) => e.parent === parent && e.child === child && e.qkv === qkv)!.score!;
    const senderDelta = (s: string): Tensor =>
      s === "input"
        ? delta!.get("blocks.0.hook_resid_pre")!
        : s.startsWith("m")
          ? delta!.get(`blocks.${s[1]}.hook_mlp_out`)!
          : delta!.get(`blocks.${s[1]}.attn.hook_result`)!.get(":", ":", Number(s.split(".h")[1]));
    const want = (s: string, r: string, head: number | null): number => {
      const grad = head === null ? avg.get(r)! : avg.get(r)!.get(":", ":", head);
      return senderDelta(s).mul(grad).sum().item();
    };
    const checks: [number, number][] = [
      [score("input", "a1.h2", "q"), want("input", "blocks.1.hook_q_input", 2)],
      [score("a0.h1", "a1.h0", "q"), want("a0.h1", "blocks.1.hook_q_input", 0)],
      [score("m0", "m1", null), want("m0", "blocks.1.hook_mlp_in", null)],
      [score("a1.h3", "logits", null), want("a1.h3", "blocks.1.hook_resid_post", null)],
      [score("m1", "logits", null), want("m1", "blocks.1.hook_resid_post", null)],
    ];
    expect(checks.some(([, w]) => Math.abs(w) > 1e-3)).toBe(true);
    for (const [got, w] of checks) expect(Math.abs(got - w)).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(w));
  });

  it("bad options: typed errors", async () => {
    await expect(
      attribution.attributeEdges(model, { clean, corrupted, metric, method: "eap-ig", steps: 0 }),
    ).rejects.toThrow(/steps/);
    await expect(
      attribution.attributeEdges(model, { clean, corrupted, metric, method: "eap-ig-activations", steps: 2.5 }),
    ).rejects.toThrow(/steps must be a positive integer, got 2.5/);
    const bogus = "eap-ig-inputz" as attribution.EdgeMethod;
    await expect(attribution.attributeEdges(model, { clean, corrupted, metric, method: bogus })).rejects.toThrow(
      /method must be one of "eap", "eap-ig", "eap-ig-activations", got "eap-ig-inputz"/,
    );
    await expect(attribution.attributeEdges(model, { clean, corrupted: ids([[1]]), metric })).rejects.toThrow(
      attribution.AttributionError,
    );
  });
});
