// The model-execution API (src/model/run): pieces of the model give exactly what the whole forward gives, hooks
// apply to one call and see the runner's absolute positions, and component calls fire no hook.
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, Tensor } from "../../src/index.js";
import * as runner from "../../src/model/run/index.js";
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
    const out = await runner.runBlocks(model, resid, {
      from: 1,
      to: model.cfg.nLayers,
      prefix: runner.KeyValuePrefix.fromCache(cache, p),
    });
    const final = cache.get(`blocks.${model.cfg.nLayers - 1}.hook_resid_post`);
    expect(maxAbsDiff(out, final.narrow(1, p, pos - p))).toBeLessThan(1e-4);
    // the last block's outputs from a later position on: the earlier ones only give keys and values
    const tail = await runner.runBlocks(model, resid, {
      from: 1,
      to: model.cfg.nLayers,
      prefix: runner.KeyValuePrefix.fromCache(cache, p),
      outputFrom: pos - 2,
    });
    expect(maxAbsDiff(tail, final.narrow(1, pos - 2, 2))).toBeLessThan(1e-4);
  });

  it("hooks given to a runner call fire in it only, at absolute positions", async () => {
    const seen: number[] = [];
    const record: HookFn = (act, hook) => {
      seen.push(hook.positionOffset, act.shape[1]!);
    };
    const resid = cache.get("blocks.2.hook_resid_pre").narrow(1, 3, tokens.shape[1]! - 3);
    await runner.runBlocks(model, resid, {
      from: 2,
      to: 3,
      prefix: runner.KeyValuePrefix.fromCache(cache, 3),
      hooks: [["blocks.2.attn.hook_z", record]],
    });
    expect(seen).toEqual([3, tokens.shape[1]! - 3]);
    seen.length = 0;
    await model.forward(tokens);
    expect(seen).toEqual([]);
  });

  it("runBlockFromZ gives the block's output from its cached z; logitsFromResidual gives the forward's logits", async () => {
    const out = await runner.runBlockFromZ(
      model,
      1,
      cache.get("blocks.1.hook_resid_pre"),
      cache.get("blocks.1.attn.hook_z"),
    );
    expect(maxAbsDiff(out, cache.get("blocks.1.hook_resid_post"))).toBeLessThan(1e-5);
    const final = cache.get(`blocks.${model.cfg.nLayers - 1}.hook_resid_post`);
    expect(maxAbsDiff(await runner.logitsFromResidual(model, final), logits)).toBe(0);
    const last = await runner.logitsFromResidual(model, final, [tokens.shape[1]! - 1]);
    expect(maxAbsDiff(last, logits.narrow(1, tokens.shape[1]! - 1, 1))).toBe(0);
  });

  it("a few heads' z from their q, k, v, scores or pattern; their output through W_O; the block from its attention output", async () => {
    const p = 3;
    const n = tokens.shape[1]! - p;
    const heads = [2, 0];
    const idx = Tensor.fromTypedArray(Int32Array.from(heads), [2]);
    const of = (name: string): Tensor => cache.get(`blocks.1.attn.hook_${name}`);
    const want = of("z").narrow(1, p, n).get(":", ":", idx); // [batch, n, 2, d_head]
    const v = of("v").get(":", ":", idx);
    const fromQkv = await runner.headsZ(model, 1, {
      from: "qkv",
      q: of("q").narrow(1, p, n).get(":", ":", idx),
      k: of("k").get(":", ":", idx),
      v,
      past: p,
    });
    expect(maxAbsDiff(fromQkv, want)).toBeLessThan(1e-5);
    const fromScores = await runner.headsZ(model, 1, {
      from: "scores",
      scores: of("attn_scores").get(":", idx).narrow(2, p, n),
      v,
    });
    expect(maxAbsDiff(fromScores, want)).toBeLessThan(1e-5);
    const fromPattern = await runner.headsZ(model, 1, {
      from: "pattern",
      pattern: of("pattern").get(":", idx).narrow(2, p, n),
      v,
    });
    expect(maxAbsDiff(fromPattern, want)).toBeLessThan(1e-5);
    // the attention output is b_O plus every head's part
    const z = of("z");
    const attn = await runner.attentionOutput(model, 1, z);
    expect(maxAbsDiff(attn, cache.get("blocks.1.hook_attn_out"))).toBeLessThan(1e-5);
    const all = Array.from({ length: model.cfg.nHeads }, (_, h) => h);
    const parts = runner.headsOutput(model, 1, z, all).add(model.blocks[1]!.attn.b_O);
    expect(maxAbsDiff(parts, attn)).toBeLessThan(1e-5);
    const two = runner.headsOutput(model, 1, z.get(":", ":", idx), heads);
    const one = (h: number): Tensor => runner.headsOutput(model, 1, z.narrow(2, h, 1), [h]);
    expect(maxAbsDiff(two, one(2).add(one(0)))).toBeLessThan(1e-5);
    const out = await runner.runBlockFromAttention(model, 1, cache.get("blocks.1.hook_resid_pre"), attn);
    expect(maxAbsDiff(out, cache.get("blocks.1.hook_resid_post"))).toBeLessThan(1e-5);
  });

  it("component calls fire no hook, shared ones included, and mlpOutput is ln2 then the MLP", async () => {
    let calls = 0;
    model.addHook(
      (n) => n.startsWith("blocks.0.") || n.startsWith("ln_final"),
      () => {
        calls++;
      },
    );
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
