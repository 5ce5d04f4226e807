// Hook management and the errors a researcher can run into, on the golden model.
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { HookError, HookedTransformer, IndexError, ShapeError, tensor, utils, type Tensor } from "../../src/index.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";

const G = fileURLToPath(new URL("../../../shared/golden/tl", import.meta.url));
let model: HookedTransformer;
let tokens: Tensor;
let clean: Tensor;

beforeAll(async () => {
  model = await HookedTransformer.fromPretrained(G);
  tokens = (await readSafetensorsFile(`${G}/inputs.safetensors`)).tensors.get("tokens")!;
  clean = await model.forward(tokens);
});

const sameAsClean = async (): Promise<void> => {
  const logits = await model.forward(tokens);
  expect(logits.sub(clean).abs().max().item()).toBe(0);
};

describe("hooks", () => {
  it("unknown hook names suggest the nearest", async () => {
    await expect(model.runWithHooks(tokens, { fwdHooks: [["blocks.0.attn.hook_patern", () => {}]] })).rejects.toThrow(
      /unknown hook "blocks.0.attn.hook_patern"; did you mean "blocks.0.attn.hook_pattern"\?/,
    );
    expect(() => model.addHook("hook_embd", () => {})).toThrow(HookError);
    await sameAsClean();
  });

  it("a hook returning the wrong shape names the hook and both shapes", async () => {
    const bad = model.runWithHooks(tokens, { fwdHooks: [["blocks.1.hook_resid_pre", (r) => r.get(":", "1:")]] });
    await expect(bad).rejects.toThrow(
      /hook on "blocks.1.hook_resid_pre" returned shape \[2, 11, 64\], but the activation has shape \[2, 12, 64\]/,
    );
    await sameAsClean();
  });

  it("after a hook throws, no hook stays attached", async () => {
    let calls = 0;
    const counting = (): void => {
      calls++;
    };
    const throwing = (): void => {
      throw new Error("boom");
    };
    await expect(
      model.runWithHooks(tokens, {
        fwdHooks: [
          ["hook_embed", counting],
          ["blocks.2.hook_mlp_out", throwing],
        ],
      }),
    ).rejects.toThrow("boom");
    await expect(
      model.runWithCache(tokens, { namesFilter: (n) => n.endsWith("hook_z") || n === "blocks.0.hook_resid_post" }),
    ).resolves.toBeDefined();
    calls = 0;
    await sameAsClean();
    expect(calls).toBe(0);
    for (const p of model.hookPoints.values()) expect(p.hasHooks).toBe(false);
  });

  it("permanent hooks survive resetHooks unless includingPermanent", async () => {
    let calls = 0;
    model.addHook(
      "hook_embed",
      () => {
        calls++;
      },
      { isPermanent: true },
    );
    model.addHook("hook_pos_embed", () => {
      calls += 10;
    });
    model.resetHooks();
    await model.forward(tokens);
    expect(calls).toBe(1);
    model.resetHooks({ includingPermanent: true });
    await model.forward(tokens);
    expect(calls).toBe(1);
  });

  it("hooks run in order, prepend puts one first, and see the hook point", async () => {
    const seen: string[] = [];
    model.addHook("blocks.1.attn.hook_z", (_z, hook) => {
      seen.push(`a:${hook.name}:${hook.layer()}`);
    });
    model.addHook(
      "blocks.1.attn.hook_z",
      () => {
        seen.push("b");
      },
      { prepend: true },
    );
    await model.forward(tokens);
    model.resetHooks();
    expect(seen).toEqual(["b", "a:blocks.1.attn.hook_z:1"]);
  });

  it("withHooks removes its hooks even when the body throws", async () => {
    await expect(
      model.withHooks([["hook_embed", (e) => e.mul(0)]], async () => {
        throw new Error("body");
      }),
    ).rejects.toThrow("body");
    await sameAsClean();
  });

  it("namesFilter and removeBatchDim", async () => {
    const [, cache] = await model.runWithCache(tokens, { namesFilter: (n) => n.endsWith("hook_pattern") });
    expect(cache.keys()).toEqual([
      "blocks.0.attn.hook_pattern",
      "blocks.1.attn.hook_pattern",
      "blocks.2.attn.hook_pattern",
    ]);
    expect(cache.get("pattern", 1).shape).toEqual([2, 4, 12, 12]);
    expect(() => cache.get("blocks.0.attn.hook_z")).toThrow(/not in the cache/);
    const [, single] = await model.runWithCache(tokens.get("0:1"), {
      namesFilter: "blocks.0.hook_resid_post",
      removeBatchDim: true,
    });
    expect(single.get("resid_post", 0).shape).toEqual([12, 64]);
  });

  it("a cached run computes exactly the numbers of an uncached one; a hook editing a scale still takes effect", async () => {
    const [cachedLogits, cache] = await model.runWithCache(tokens);
    expect(cachedLogits.sub(clean).abs().max().item()).toBe(0);
    const [, partial] = await model.runWithCache(tokens, { namesFilter: (n) => n.endsWith("hook_z") });
    expect(partial.get("blocks.1.attn.hook_z").sub(cache.get("blocks.1.attn.hook_z")).abs().max().item()).toBe(0);
    // a user hook on ln1 fires for q, k and v, as TL's (the cache's own hooks may fire once: they only read)
    let calls = 0;
    await model.runWithHooks(tokens, {
      fwdHooks: [
        [
          "blocks.0.ln1.hook_normalized",
          () => {
            calls++;
          },
        ],
      ],
    });
    expect(calls).toBe(3);
    // doubling ln_final's scale halves the normalised residual (before the affine), so the logits change
    const doubled = await model.runWithHooks(tokens, { fwdHooks: [["ln_final.hook_scale", (s) => s.mul(2)]] });
    expect(doubled.sub(clean).abs().max().item()).toBeGreaterThan(1e-2);
    const normalized = cache.get("ln_final.hook_normalized");
    let seen: Tensor | null = null;
    await model.runWithHooks(tokens, {
      fwdHooks: [
        ["ln_final.hook_scale", (s) => s.mul(2)],
        [
          "ln_final.hook_normalized",
          (x) => {
            seen = x.clone();
          },
        ],
      ],
    });
    // normalized = (x - mean) / scale (* w + b, for LN; the default processed model has LNPre): half the first term
    const b = model.lnFinal!.b;
    const expected = b ? normalized.sub(b).div(2).add(b) : normalized.div(2);
    expect(seen!.sub(expected).abs().max().item()).toBeLessThan(1e-5);
    await sameAsClean();
  });

  it("hooks fire in TL's order: with split q/k/v inputs the three input hooks fire before ln1 (three times)", async () => {
    model.setUseSplitQkvInput(true);
    try {
      const fired: string[] = [];
      await model.runWithHooks(tokens, {
        fwdHooks: [
          [
            (n) => n.startsWith("blocks.0.") && !n.includes(".attn.") && !n.includes("mlp"),
            (_a, h) => {
              fired.push(h.name);
            },
          ],
        ],
      });
      const ln1 = ["blocks.0.ln1.hook_scale", "blocks.0.ln1.hook_normalized"];
      expect(fired.slice(0, 10)).toEqual([
        "blocks.0.hook_resid_pre",
        "blocks.0.hook_q_input",
        "blocks.0.hook_k_input",
        "blocks.0.hook_v_input",
        ...ln1,
        ...ln1,
        ...ln1,
      ]);
      // the forward order of hookNames() lists each hook once, in the same order
      expect(model.hookNames().filter((n) => fired.includes(n))).toEqual([...new Set(fired)]);
    } finally {
      model.setUseSplitQkvInput(false);
    }
    await sameAsClean();
  });

  it("stopAtLayer and startAtLayer compose to the full forward", async () => {
    const resid = await model.forward(tokens, { stopAtLayer: 2 });
    expect(resid.shape).toEqual([2, 12, 64]);
    const logits = await model.forward(resid, { startAtLayer: 2 });
    expect(logits.sub(clean).abs().max().item()).toBeLessThan(1e-5);
    const loss = await model.forward(resid, { startAtLayer: 2, tokens, returnType: "loss" });
    const direct = await model.forward(tokens, { returnType: "loss" });
    expect(Math.abs(loss.item() - direct.item())).toBeLessThan(1e-6);
  });
});

describe("input errors", () => {
  it("token ids outside the vocabulary", async () => {
    await expect(model.forward(tensor([[1, 1000]], undefined, "int32"))).rejects.toThrow(IndexError);
    await expect(model.forward([[1, -1]])).rejects.toThrow(
      /token id -1 .* out of range for the vocabulary of size d_vocab = 1000/,
    );
  });
  it("sequences longer than n_ctx", async () => {
    await expect(model.forward(tensor([Array(65).fill(1)], undefined, "int32"))).rejects.toThrow(
      /65 tokens is longer than the model's context n_ctx = 64/,
    );
    await expect(model.forward(tensor([Array(65).fill(1)], undefined, "int32"))).rejects.toThrow(ShapeError);
  });
  it("non-integer tokens and strings without a tokenizer", async () => {
    await expect(model.forward(tensor([[1.5, 2]]))).rejects.toThrow(/integers/);
    await expect(model.forward("hello")).rejects.toThrow(/no tokenizer/);
  });
});

describe("utils.getActName", () => {
  const table = JSON.parse(readFileSync(`${G}/common.json`, "utf8")).get_act_name as {
    args: [string, number | null, string | null];
    result: string;
  }[];
  it("matches TL's table (except the ln_final case, which gives the real hook)", () => {
    for (const { args, result } of table) {
      const expected = result === "ln_final.ln_final.hook_scale" ? "ln_final.hook_scale" : result;
      expect(utils.getActName(...args)).toBe(expected);
    }
  });
});
