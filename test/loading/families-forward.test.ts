// TransformerLens v2.18's forward on the family goldens (../shared/golden/families): logits, loss, every cached
// hook and every parameter, raw (fromPretrainedNoProcessing) and processed (fromPretrained), from the HF folders.
// Folders whose features the model does not implement yet (pythia: parallel attn+MLP; gemma2: local attention,
// soft caps, post-norms) are refused at load (families.test.ts) and join this list when they land.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { HookedTransformer } from "../../src/index.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";
import type { Tensor } from "../../src/tensor/index.js";
import { maxAbsDiff } from "../golden.js";

const FAMILIES_DIR = fileURLToPath(new URL("../../../shared/golden/families", import.meta.url));
const FORWARD_FOLDERS = ["qwen2", "pythia", "gemma2"] as const;

interface CaseIndex {
  cache_names: string[];
  param_names: string[];
}
interface GoldenIndex {
  cases: Record<"raw" | "processed", CaseIndex>;
  tensors: Record<string, { f64_maxabs: number }>;
}

describe.each(FORWARD_FOLDERS)("family forward golden %s", (folder) => {
  const dir = `${FAMILIES_DIR}/${folder}`;
  const index = JSON.parse(readFileSync(`${dir}/index.json`, "utf8")) as GoldenIndex;
  const files = Promise.all([
    readSafetensorsFile(`${dir}/inputs.safetensors`),
    readSafetensorsFile(`${dir}/outputs.safetensors`),
  ]);
  // the README's tolerance: 10× the float32-vs-float64 spread of TL itself, at least 1e-5 (1e-6 for parameters)
  const close = (name: string, ours: Tensor, want: Tensor, floor: number): void => {
    const tol = Math.max(floor, 10 * index.tensors[name]!.f64_maxabs);
    const d = maxAbsDiff(ours, want);
    expect([name, d <= tol ? "ok" : d]).toEqual([name, "ok"]);
  };

  it.each(["raw", "processed"] as const)("%s: logits, loss, every hook and parameter", async (kase) => {
    const [inputs, outputs] = await files;
    const golden = outputs.tensors;
    const tokens = inputs.tensors.get("tokens")!;
    const model =
      kase === "raw"
        ? await HookedTransformer.fromPretrainedNoProcessing(dir)
        : await HookedTransformer.fromPretrained(dir);
    const [logits, cache] = await model.runWithCache(tokens);
    close(`${kase}/logits`, logits, golden.get(`${kase}/logits`)!, 1e-5);
    const loss = (await model.forward(tokens, { returnType: "loss" })) as Tensor;
    close(`${kase}/loss`, loss.reshape([1]), golden.get(`${kase}/loss`)!, 1e-5);
    const perToken = (await model.forward(tokens, { returnType: "loss", lossPerToken: true })) as Tensor;
    close(`${kase}/loss_per_token`, perToken, golden.get(`${kase}/loss_per_token`)!, 1e-5);

    const { cache_names: hooks, param_names: params } = index.cases[kase];
    expect([...cache.keys()].sort()).toEqual([...hooks].sort());
    for (const hook of hooks)
      close(`${kase}/cache/${hook}`, cache.get(hook)!, golden.get(`${kase}/cache/${hook}`)!, 1e-5);
    const state = model.stateDict();
    expect([...state.keys()].sort()).toEqual([...params].sort());
    for (const p of params) close(`${kase}/params/${p}`, state.get(p)!, golden.get(`${kase}/params/${p}`)!, 1e-6);
  });
});
