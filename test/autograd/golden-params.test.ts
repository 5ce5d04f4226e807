// The engine on a whole model: TransformerLens 2.18's parameter gradients (../shared/golden/tl-grad) of the
// logit-difference metric and of the loss on the 3-layer golden model, through the tensor-op forward, each
// within the tolerance grads.json suggests. (Weights are frozen by default; here every parameter of the
// state dict is made to require grad.)
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HookedTransformer, type Tensor } from "../../src/index.js";
import { readSafetensorsFile } from "../../src/loading/safetensors.js";
import { GOLDEN_DIR } from "../golden.js";

const GRAD_DIR = fileURLToPath(new URL("../../../shared/golden/tl-grad", import.meta.url));
const meta = JSON.parse(readFileSync(`${GRAD_DIR}/grads.json`, "utf8")) as { tensors: Record<string, { suggested_atol: number }> };

describe("parameter gradients = TransformerLens's (golden 3-layer model, processed)", () => {
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

  function expectGrads(prefix: string): void {
    expect(params.size).toBeGreaterThan(30);
    for (const [name, p] of params) {
      const key = `${prefix}param.${name}_grad`;
      const want = golden.get(key);
      expect(want, key).toBeDefined();
      expect(p.grad, name).not.toBeNull();
      const diff = p.grad!.sub(want!.reshape(p.grad!.shape)).abs().max().item();
      expect(diff, `${key}: max |Δ| ${diff}`).toBeLessThanOrEqual(meta.tensors[key].suggested_atol);
    }
  }

  it("of the metric Σ_b logits[b, -1, 436] − logits[b, -1, 895]", async () => {
    const last = (await model.forward(golden.get("tokens/clean")!)).get(":", -1);
    const metric = last.get(":", 436).sub(last.get(":", 895)).sum();
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
});
