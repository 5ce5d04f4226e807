// The SAE alone against SAELens 6.18's own outputs (../shared/golden/sae): encode, decode, forward with and without
// the error term, and the SAE's run_with_cache. Each folder was written by SAELens's save_model.
import { describe, expect, it } from "vitest";
import { loadSaeFromDisk } from "../../src/sae/index.js";
import { expectClose } from "../golden.js";
import { goldenTensors, saeGoldenCases } from "./golden.js";

const cases = saeGoldenCases();

describe.each(cases.map((c) => [`${c.model}/${c.name}`, c] as const))("SAELens golden %s", (_, c) => {
  it("encode, decode, forward and forward with the error term match", async () => {
    const { sae } = await loadSaeFromDisk(c.dir);
    const g = await goldenTensors(`${c.dir}/outputs.safetensors`, `${c.dir}/index.json`);
    const act = g("act");
    const enc = await sae.encode(act);
    expectClose("encode", enc, g("encode"), 1e-5);
    expect(enc.gt(0).eq(g("encode").gt(0)).all().item()).toBe(1);
    expect([...enc.gt(0).sum(-1).dataSync()]).toEqual([...g("l0_per_token").dataSync()]);
    expectClose("decode", await sae.decode(g("encode")), g("decode"), 1e-5);
    expectClose("forward", await sae.forward(act), g("forward"), 1e-5);
    expectClose("forward_error_term", await sae.forward(act, { useErrorTerm: true }), g("forward_error_term"), 1e-5);
  });

  it("run_with_cache has SAELens's hook names, order and values", async () => {
    const { sae } = await loadSaeFromDisk(c.dir);
    const g = await goldenTensors(`${c.dir}/outputs.safetensors`, `${c.dir}/index.json`);
    for (const [prefix, useErrorTerm] of [
      ["sae_cache", false],
      ["sae_cache_error_term", true],
    ] as const) {
      const [, cache] = await sae.runWithCache(g("act"), { useErrorTerm });
      const names = useErrorTerm
        ? [
            "hook_sae_input",
            "hook_sae_acts_pre",
            "hook_sae_acts_post",
            "hook_sae_recons",
            "hook_sae_error",
            "hook_sae_output",
          ]
        : ["hook_sae_input", "hook_sae_acts_pre", "hook_sae_acts_post", "hook_sae_recons", "hook_sae_output"];
      expect(cache.keys()).toEqual(names);
      for (const n of names) expectClose(`${prefix}/${n}`, cache.get(n), g(`${prefix}/${n}`), 1e-5);
    }
  });
});

it("the SAELens goldens are present (the parity tests above ran)", () => {
  expect(cases.length).toBeGreaterThanOrEqual(3);
});
