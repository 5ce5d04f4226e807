// The engine on a whole model: TransformerLens 2.18's gradients (../shared/golden/tl-grad) on the 3-layer
// golden model, through the tensor-op forward, each within the tolerance grads.json suggests: the parameter
// gradients of the logit-difference metric and of the loss, and the metric's gradient at every hook point taken
// with registerHook on the hook's output. (Weights are frozen by default; here every parameter of the state dict
// is made to require grad.)
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HookedTransformer, type Tensor } from "../../src/index.js";
import { readSafetensorsFile } from "../../src/loading/safetensors.js";
import { GOLDEN_DIR } from "../golden.js";

const GRAD_DIR = fileURLToPath(new URL("../../../shared/golden/tl-grad", import.meta.url));
const meta = JSON.parse(readFileSync(`${GRAD_DIR}/grads.json`, "utf8")) as { tensors: Record<string, { suggested_atol: number }> };

describe("gradients = TransformerLens's (golden 3-layer model, processed)", () => {
  let golden: Map<string, Tensor>;
  let model: HookedTransformer;
  let params: Map<string, Tensor>;

  beforeAll(async () => {
    golden = (await readSafetensorsFile(`${GRAD_DIR}/grads.safetensors`)).tensors;
  });
  // a fresh model per test: the attention's cached fused weights keep the graph of the forward that built them
  beforeEach(async () => {
    model = await HookedTransformer.fromPretrained(GOLDEN_DIR, {});
    params = model.stateDict();
    for (const p of params.values()) p.requiresGrad_();
  });

  const metricOf = (logits: Tensor): Tensor => {
    const last = logits.get(":", -1);
    return last.get(":", 436).sub(last.get(":", 895)).sum();
  };
  const within = (key: string, got: Tensor, want: Tensor): void => {
    const diff = got.sub(want.reshape(got.shape)).abs().max().item();
    expect(diff, `${key}: max |Δ| ${diff}`).toBeLessThanOrEqual(meta.tensors[key].suggested_atol);
  };

  function expectGrads(prefix: string): void {
    expect(params.size).toBeGreaterThan(30);
    for (const [name, p] of params) {
      const key = `${prefix}param.${name}_grad`;
      const want = golden.get(key);
      expect(want, key).toBeDefined();
      expect(p.grad, name).not.toBeNull();
      within(key, p.grad!, want!);
    }
  }

  it("of the metric Σ_b logits[b, -1, 436] − logits[b, -1, 895]", async () => {
    const metric = metricOf(await model.forward(golden.get("tokens/clean")!));
    expect(metric.item()).toBeCloseTo(golden.get("metric/clean")!.item(), 4);
    await metric.backward();
    expectGrads("");
  });

  it("of the mean next-token loss", async () => {
    const loss = await model.forward(golden.get("tokens/clean")!, { returnType: "loss" });
    expect(loss.item()).toBeCloseTo(golden.get("loss/clean")!.item(), 3);
    await loss.backward();
    expectGrads("loss/");
  });

  it("at every hook point: the summed gradient of each hook's output (TL's _grad_sum for ln1's three firings)", async () => {
    const grads = new Map<string, Tensor>();
    const names = [...model.hookPoints.keys()];
    const fwdHooks = names.map((name): [string, (t: Tensor) => void] => [name, (t) => {
      t.registerHook((g) => { grads.set(name, grads.has(name) ? grads.get(name)!.add(g) : g); });
    }]);
    await metricOf(await model.runWithHooks(golden.get("tokens/clean")!, { fwdHooks })).backward();
    let checked = 0;
    for (const name of names) {
      const key = golden.has(`${name}_grad_sum`) ? `${name}_grad_sum` : `${name}_grad`;
      if (!golden.has(key)) continue;
      expect(grads.get(name), name).toBeDefined();
      within(key, grads.get(name)!, golden.get(key)!);
      checked++;
    }
    expect(checked).toBe(55);
  });
});
