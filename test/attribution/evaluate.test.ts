// Circuit evaluation: with every edge in, the clean metric; with none, the corrupted one; with one edge, exactly
// that edge's clean contribution; the model's flags are restored; the faithfulness curve's data.
import { describe, expect, it } from "vitest";
import { attribution, HookedTransformer } from "../../src/index.js";
import { clean, corrupted, metric, SMALL_CFG } from "./fixture.js";
import { logitsFromResidual } from "../../src/model/run/index.js";

const CFG = { ...SMALL_CFG, seed: 31 };

describe("evaluateCircuit", () => {
  const model = HookedTransformer.fromConfig(CFG);
  it("all edges: the clean run; no edges: the corrupted run; flags restored", async () => {
    const g = attribution.Graph.fromConfig(model.cfg);
    const mClean = metric(await model.forward(clean)).item();
    const mCorr = metric(await model.forward(corrupted)).item();
    expect(Math.abs(mClean - mCorr)).toBeGreaterThan(0.01);
    g.setAll(true);
    expect(await attribution.evaluateCircuit(model, g, { clean, corrupted, metric })).toBeCloseTo(mClean, 4);
    g.setAll(false);
    expect(await attribution.evaluateCircuit(model, g, { clean, corrupted, metric })).toBeCloseTo(mCorr, 4);
    expect(model.cfg.useSplitQkvInput || model.cfg.useAttnResult || model.cfg.useHookMlpIn).toBe(false);
  });

  it("one edge in: exactly that edge's clean contribution reaches its receiver (input -> logits)", async () => {
    const g = attribution.Graph.fromConfig(model.cfg);
    g.setAll(false);
    g.edge("input->logits").inGraph = true;
    const got = await attribution.evaluateCircuit(model, g, { clean, corrupted, metric });
    // the corrupted final residual with the input's clean − corrupted difference added, through ln_final + unembed
    const [, cc] = await model.runWithCache(clean);
    const [, kc] = await model.runWithCache(corrupted);
    const last = `blocks.${CFG.nLayers - 1}.hook_resid_post`;
    const resid = kc.get(last).add(cc.get("blocks.0.hook_resid_pre").sub(kc.get("blocks.0.hook_resid_pre")));
    const want = metric(await logitsFromResidual(model, resid)).item();
    expect(got).toBeCloseTo(want, 4);
  });

  it("faithfulness curve data: EAP circuits of growing size, 1 with every edge, random draws beside", async () => {
    const g = await attribution.attributeEdges(model, { clean, corrupted, metric });
    const all = g.edges.length;
    const r = await attribution.faithfulnessCurveData(model, g, [5, 40, all], {
      clean,
      corrupted,
      metric,
      randomDraws: 2,
    });
    expect(r.faithfulness[2]).toBeCloseTo(1, 4);
    expect(r.random.map((row) => row[2])).toEqual([expect.closeTo(1, 4), expect.closeTo(1, 4)]);
    expect(r.random.length).toBe(2);
    expect(r.metricClean).toBeCloseTo(metric(await model.forward(clean)).item(), 4);
    expect(g.countIncludedEdges()).toBe(all);
    await expect(attribution.faithfulnessCurveData(model, g, [40, 5], { clean, corrupted, metric })).rejects.toThrow(
      /ascending/,
    );
  });
});
