// The model-execution API (src/model/run): pieces of the model give exactly what the whole forward gives, hooks
// apply to one call and see the runner's absolute positions, and component calls fire no hook.
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, runner, type Tensor } from "../../src/index.js";
import type { HookFn } from "../../src/model/hook-point.js";
import { GOLDEN_DIR as G, goldenInputs, maxAbsDiff } from "../golden.js";

let model: HookedTransformer;
let tokens: Tensor;
let logits: Tensor;
let cache: Awaited<ReturnType<HookedTransformer["runWithCache"]>>[1];

beforeAll(async () => {
  model = await HookedTransformer.fromPretrained(G);
  tokens = (await goldenInputs).get("tokens")!;
  [logits, cache] = await model.runWithCache(tokens);
});

describe("runner", () => {
  it("runBlocks from a cached residual, with the cached keys and values of earlier positions as a prefix", async () => {
    const pos = tokens.shape[1]!;
    const p = 4;
    const resid = cache.get("blocks.1.hook_resid_pre").narrow(1, p, pos - p);
    const out = await runner.runBlocks(model, resid, { from: 1, to: model.cfg.nLayers, prefix: runner.KeyValuePrefix.fromCache(cache, p) });
    const final = cache.get(`blocks.${model.cfg.nLayers - 1}.hook_resid_post`);
    expect(maxAbsDiff(out, final.narrow(1, p, pos - p))).toBeLessThan(1e-4);
    // the last block's outputs from a later position on: the earlier ones only give keys and values
    const tail = await runner.runBlocks(model, resid, { from: 1, to: model.cfg.nLayers, prefix: runner.KeyValuePrefix.fromCache(cache, p), outputFrom: pos - 2 });
    expect(maxAbsDiff(tail, final.narrow(1, pos - 2, 2))).toBeLessThan(1e-4);
  });

  it("hooks given to a runner call fire in it only, at absolute positions", async () => {
    const seen: number[] = [];
    const record: HookFn = (act, hook) => { seen.push(hook.positionOffset, act.shape[1]!); };
    const resid = cache.get("blocks.2.hook_resid_pre").narrow(1, 3, tokens.shape[1]! - 3);
    await runner.runBlocks(model, resid, { from: 2, to: 3, prefix: runner.KeyValuePrefix.fromCache(cache, 3), hooks: [["blocks.2.attn.hook_z", record]] });
    expect(seen).toEqual([3, tokens.shape[1]! - 3]);
    seen.length = 0;
    await model.forward(tokens);
    expect(seen).toEqual([]);
  });

  it("runBlockFromZ gives the block's output from its cached z; logitsFromResidual gives the forward's logits", async () => {
    const out = await runner.runBlockFromZ(model, 1, cache.get("blocks.1.hook_resid_pre"), cache.get("blocks.1.attn.hook_z"));
    expect(maxAbsDiff(out, cache.get("blocks.1.hook_resid_post"))).toBeLessThan(1e-5);
    const final = cache.get(`blocks.${model.cfg.nLayers - 1}.hook_resid_post`);
    expect(maxAbsDiff(await runner.logitsFromResidual(model, final), logits)).toBe(0);
    const last = await runner.logitsFromResidual(model, final, [tokens.shape[1]! - 1]);
    expect(maxAbsDiff(last, logits.narrow(1, tokens.shape[1]! - 1, 1))).toBe(0);
  });

  it("component calls fire no hook, shared ones included, and mlpOutput is ln2 then the MLP", async () => {
    let calls = 0;
    model.addHook((n) => n.startsWith("blocks.0.") || n.startsWith("ln_final"), () => { calls++; });
    try {
      const mlp = await runner.mlpOutput(model, 0, cache.get("blocks.0.hook_resid_mid"));
      expect(maxAbsDiff(mlp, cache.get("blocks.0.hook_mlp_out"))).toBe(0);
      await runner.finalNorm(model, cache.get("blocks.0.hook_resid_mid"));
      await runner.ln1(model, 0, cache.get("blocks.0.hook_resid_pre"));
    } finally {
      model.resetHooks();
    }
    expect(calls).toBe(0);
  });
});
