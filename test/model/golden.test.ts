// Parity with TransformerLens 2.18 on the golden GPT-2-architecture model (../shared/golden/tl): logits, loss,
// every cached hook (default and optional), hook interventions and processed parameters, for all four cases.
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, tensor, type Tensor } from "../../src/index.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";
import { readFileSync } from "node:fs";
import {
  GOLDEN_CASES as CASES,
  GOLDEN_DIR as G,
  goldenCommon,
  goldenInputs as inputsP,
  goldenOutputs,
  expectClose,
  maxAbsDiff,
  type GoldenCase as CaseName,
} from "../golden.js";

const TOL = 1e-4;

/** Equal up to the sign of each singular direction (one per (head, d_head) pair, at dims headDim and dirDim):
 *  SVD signs are not unique, and TL's come from torch's LAPACK. */
function expectCloseUpToDirectionSigns(name: string, a: Tensor, b: Tensor, headDim: number, dirDim: number): void {
  expect(a.shape).toEqual(b.shape);
  // TL's factors come from a float32 SVD: allow 1e-4 relative to the tensor's scale (hook_q reaches |10|)
  const tol = TOL * Math.max(1, b.abs().max().item());
  for (let h = 0; h < a.shape[headDim]!; h++) {
    for (let j = 0; j < a.shape[dirDim]!; j++) {
      const pick = (t: Tensor): Tensor => t.narrow(headDim, h, 1).narrow(dirDim, j, 1);
      const d = Math.min(maxAbsDiff(pick(a), pick(b)), maxAbsDiff(pick(a), pick(b).neg()));
      expect(d, `${name} head ${h} direction ${j}: ${d}`).toBeLessThanOrEqual(tol);
    }
  }
}

function runCase(name: CaseName): void {
  describe(`golden case ${name}`, () => {
    let model: HookedTransformer;
    let out: Map<string, Tensor>;
    let params: Map<string, Tensor>;
    let tokens: Tensor;
    const index = JSON.parse(readFileSync(`${G}/${name}/index.json`, "utf8")) as {
      hook_dict_names: string[];
      cache_names_default: string[];
      cache_names_extra: string[];
    };
    const refactor = name === "processed_refactor";
    // hooks whose values depend on the refactored factors' SVD signs (per d_head direction)
    const signDependent = new Set(["hook_q", "hook_k", "hook_v", "hook_z"]);

    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained(G, CASES[name]);
      out = await goldenOutputs(name);
      params = (await readSafetensorsFile(`${G}/${name}/tl_params.safetensors`)).tensors;
      tokens = (await inputsP).get("tokens")!;
    });

    it("has TL's parameters", () => {
      const sd = model.stateDict();
      expect([...sd.keys()].sort()).toEqual([...params.keys()].sort());
      for (const [k, v] of params) {
        const mine = sd.get(k)!;
        const local = k.split(".").pop()!;
        if (refactor && ["W_Q", "W_K", "W_V"].includes(local)) expectCloseUpToDirectionSigns(k, mine, v, 0, 2);
        else if (refactor && ["b_Q", "b_K", "W_O"].includes(local)) expectCloseUpToDirectionSigns(k, mine, v, 0, 1);
        else expectClose(k, mine, v);
      }
    });

    it("has TL's hook points", () => {
      expect([...model.hookPoints.keys()]).toEqual(index.hook_dict_names);
      expect([...model.hookNames()].sort()).toEqual([...index.hook_dict_names].sort());
    });

    it("gives TL's logits, loss and per-token loss", async () => {
      expectClose("logits", await model.forward(tokens), out.get("logits")!);
      const loss = await model.forward(tokens, { returnType: "loss" });
      expect(loss.shape).toEqual([]);
      expect(Math.abs(loss.item() - out.get("loss")!.item())).toBeLessThanOrEqual(TOL);
      expectClose(
        "loss_per_token",
        await model.forward(tokens, { returnType: "loss", lossPerToken: true }),
        out.get("loss_per_token")!,
      );
      const both = await model.forward(tokens, { returnType: "both" });
      expect(Math.abs(both.loss.item() - loss.item())).toBeLessThan(1e-6);
    });

    it("caches every default hook with TL's values", async () => {
      const [logits, cache] = await model.runWithCache(tokens);
      expectClose("logits", logits, out.get("logits")!);
      expect(cache.keys()).toEqual(index.cache_names_default);
      for (const key of index.cache_names_default) {
        const golden = out.get(`cache/${key}`)!;
        const hook = key.split(".").pop()!;
        if (refactor && signDependent.has(hook)) expectCloseUpToDirectionSigns(key, cache.get(key), golden, 2, 3);
        else expectClose(key, cache.get(key), golden);
      }
    });

    it("caches the optional hooks when their flags are on", async () => {
      const m = await HookedTransformer.fromPretrained(G, CASES[name]);
      m.setUseAttnResult(true);
      m.setUseSplitQkvInput(true);
      m.setUseHookMlpIn(true);
      m.setUseAttnIn(true);
      const [logits, cache] = await m.runWithCache(tokens);
      expectClose("logits with every optional hook", logits, out.get("logits")!);
      for (const key of index.cache_names_extra) expectClose(key, cache.get(key), out.get(`cache_extra/${key}`)!);
    });

    it("gives TL's tokensToResidualDirections", () => {
      const dirs = model.tokensToResidualDirections(goldenCommon.answer_tokens);
      const golden = out.get("decomp/tokens_to_residual_directions")!;
      expectClose("tokens_to_residual_directions", dirs, golden);
      expect(model.tokensToResidualDirections(goldenCommon.answer_tokens[0]!).shape).toEqual([64]);
    });

    it("matches TL's hook interventions", async () => {
      const steer = out.get("hooks/steer_vector")!;
      const ablateZ: [string, (z: Tensor) => void] = [
        "blocks.1.attn.hook_z",
        (z) => {
          z.set([":", ":", 2], 0);
        },
      ];
      const steerResid: [string, (r: Tensor) => Tensor] = ["blocks.1.hook_resid_pre", (r) => r.add(steer)];
      const cases: [string, [string, (t: Tensor) => Tensor | void][]][] = [
        ["ablate_z_L1H2", [ablateZ]],
        ["steer_resid_pre_L1", [steerResid]],
        [
          "ablate_mlp_post_L2_n0to9",
          [
            [
              "blocks.2.mlp.hook_post",
              (p) => {
                p.set(["...", "0:10"], 0);
              },
            ],
          ],
        ],
        [
          "uniform_pattern_L0H1",
          [
            [
              "blocks.0.attn.hook_pattern",
              (p) => {
                const q = p.shape[2]!;
                const uniform = tensor(
                  Array.from({ length: q }, (_, i) => Array.from({ length: q }, (_, j) => (j <= i ? 1 / (i + 1) : 0))),
                );
                p.set([":", 1], uniform);
              },
            ],
          ],
        ],
        ["combo_steer_and_ablate", [steerResid, ablateZ]],
      ];
      for (const [key, hooks] of cases) {
        const logits = await model.runWithHooks(tokens, { fwdHooks: hooks });
        expectClose(`hooks/${key}`, logits, out.get(`hooks/${key}/logits`)!);
      }
      // the hooks are gone afterwards
      expectClose("logits after hooks", await model.forward(tokens), out.get("logits")!);
    });
  });
}

for (const name of Object.keys(CASES) as CaseName[]) runCase(name);

describe("TransformerLens 3.5.1 differences", () => {
  it("follows TL 2.18 for ln hook_normalized (after the affine), which v3.5.1 moved before it", async () => {
    const model = await HookedTransformer.fromPretrainedNoProcessing(G);
    const tokens = (await inputsP).get("tokens")!;
    const [, cache] = await model.runWithCache(tokens);
    const v2 = (await readSafetensorsFile(`${G}/raw/outputs.safetensors`)).tensors;
    const v3 = (await readSafetensorsFile(`${G}/v3.5.1/raw/outputs.safetensors`)).tensors;
    const key = "blocks.1.ln2.hook_normalized";
    expectClose(key, cache.get(key), v2.get(`cache/${key}`)!);
    expect(maxAbsDiff(cache.get(key), v3.get(`cache/${key}`)!)).toBeGreaterThan(0.1);
  });
});
