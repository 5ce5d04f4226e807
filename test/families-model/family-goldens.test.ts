// Model-side parity with TransformerLens 2.18 on the family goldens (../shared/golden/families: pythia, qwen2,
// gemma2): each model is built from TL's own config (index.json's tl_config) and TL-named parameters (raw and
// processed), independently of the Hugging Face loading, and must give TL's hook points, logits, loss and every
// cached hook within the README's tolerances (atol = max(1e-5, 10 · f64_maxabs) per tensor; -inf entries exactly).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, type HookedTransformerConfig, type Tensor } from "../../src/index.js";
import { makeConfig } from "../../src/loading/config.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";
import { KeyValueCache } from "../../src/model/kv-cache.js";
import { pretrainedProcessing, processStateDict, type StateDict } from "../../src/model/weight-processing.js";
import { maxAbsDiff } from "../golden.js";

const DIR = fileURLToPath(new URL("../../../shared/golden/families", import.meta.url));
const FAMILIES = ["pythia", "qwen2", "gemma2"] as const;
const CASES = ["raw", "processed"] as const;

interface CaseIndex {
  tl_config: Record<string, unknown>;
  hook_dict_names: string[];
  cache_names: string[];
  param_names: string[];
}
interface FamilyIndex {
  cases: Record<(typeof CASES)[number], CaseIndex>;
  tensors: Record<string, { f64_maxabs: number }>;
}

/** TL's snake_case config → ours (camelCase); fields tlens has no counterpart for are left out by makeConfig. */
function fromTlConfig(tl: Record<string, unknown>): Partial<HookedTransformerConfig> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tl)) {
    if (v === null || k === "n_params" || k === "init_weights") continue;
    out[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  }
  return { ...out, initWeights: false } as Partial<HookedTransformerConfig>;
}

/** The `<case>/params/<name>` tensors of the outputs, by TL name. */
function caseParams(out: Map<string, Tensor>, name: string): StateDict {
  const prefix = `${name}/params/`;
  return new Map([...out].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

for (const family of FAMILIES) {
  const index = JSON.parse(readFileSync(`${DIR}/${family}/index.json`, "utf8")) as FamilyIndex;
  for (const name of CASES) {
    describe(`${family} ${name}`, () => {
      const c = index.cases[name];
      let model: HookedTransformer;
      let out: Map<string, Tensor>;
      let tokens: Tensor;
      const tol = (key: string): number => Math.max(1e-5, 10 * (index.tensors[key]?.f64_maxabs ?? 1e-5));
      const close = (key: string, mine: Tensor | undefined): void => {
        expect(mine, `${key} is missing`).toBeDefined();
        const d = maxAbsDiff(mine!, out.get(key)!);
        expect(d, `${key}: max abs diff ${d}`).toBeLessThanOrEqual(tol(key));
      };

      beforeAll(async () => {
        out = (await readSafetensorsFile(`${DIR}/${family}/outputs.safetensors`)).tensors;
        tokens = (await readSafetensorsFile(`${DIR}/${family}/inputs.safetensors`)).tensors.get("tokens")!;
        model = new HookedTransformer(fromTlConfig(c.tl_config));
        model.loadStateDict(caseParams(out, name));
      });

      it("has TL's parameters and hook points, in TL's order", () => {
        expect([...model.stateDict().keys()].sort()).toEqual([...c.param_names].sort());
        expect([...model.hookPoints.keys()]).toEqual(c.hook_dict_names);
      });

      it("gives TL's logits, loss and every cached hook", async () => {
        const [logits, cache] = await model.runWithCache(tokens);
        close(`${name}/logits`, logits);
        expect(cache.keys()).toEqual(c.cache_names);
        for (const key of c.cache_names) close(`${name}/cache/${key}`, cache.get(key));
        const loss = await model.forward(tokens, { returnType: "loss" });
        expect(Math.abs(loss.item() - out.get(`${name}/loss`)!.item())).toBeLessThanOrEqual(tol(`${name}/loss`));
        close(`${name}/loss_per_token`, await model.forward(tokens, { returnType: "loss", lossPerToken: true }));
      });

      it("keeps TL's logits with every optional hook on (per-head inputs, hook_result, hook_mlp_in)", async () => {
        const m = new HookedTransformer(fromTlConfig(c.tl_config));
        m.loadStateDict(caseParams(out, name));
        m.setUseAttnResult(true);
        m.setUseSplitQkvInput(true);
        m.setUseHookMlpIn(true);
        m.setUseAttnIn(true);
        const [logits, cache] = await m.runWithCache(tokens);
        close(`${name}/logits`, logits);
        expect(cache.keys()).toContain("blocks.1.hook_mlp_in");
        expect(cache.get("blocks.1.hook_k_input").shape[2]).toBe(m.blocks[1]!.nKvHeads);
      });

      it("gives TL's logits when the last positions run on a KV cache of the first ones", async () => {
        const kv = new KeyValueCache(model.cfg.nLayers);
        const split = 13;
        await model.forward(tokens.narrow(1, 0, split), { pastKvCache: kv });
        const rest = await model.forward(tokens.narrow(1, split, tokens.shape[1]! - split), { pastKvCache: kv });
        const d = maxAbsDiff(rest, out.get(`${name}/logits`)!.narrow(1, split, tokens.shape[1]! - split));
        expect(d, `logits after the cache: ${d}`).toBeLessThanOrEqual(tol(`${name}/logits`));
      });
    });
  }

  it(`${family}: weight processing of TL's raw parameters gives TL's processed ones`, async () => {
    const out = (await readSafetensorsFile(`${DIR}/${family}/outputs.safetensors`)).tensors;
    const cfg = makeConfig(fromTlConfig(index.cases.raw.tl_config));
    const processed = processStateDict(caseParams(out, "raw"), cfg, pretrainedProcessing(cfg, {}));
    const golden = caseParams(out, "processed");
    expect([...processed.keys()].sort()).toEqual([...golden.keys()].sort());
    for (const [k, v] of golden) {
      const d = maxAbsDiff(processed.get(k)!, v);
      const tol = Math.max(1e-6, 10 * (index.tensors[`processed/params/${k}`]?.f64_maxabs ?? 0));
      expect(d, `${k}: max abs diff ${d}`).toBeLessThanOrEqual(tol);
    }
  });
}
