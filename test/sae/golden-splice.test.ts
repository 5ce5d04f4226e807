// HookedSAETransformer against SAELens 6.18's run_with_cache_with_saes / run_with_saes on the golden models:
// logits (sampled columns, logsumexp, argmax), the SAE's cache entries, downstream activations and the loss, with and
// without the error term.
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, type Tensor } from "../../src/index.js";
import { HookedSAETransformer, loadSaeFromDisk, type SAE } from "../../src/sae/index.js";
import { expectClose, GOLDEN_CASES } from "../golden.js";
import { GOLDEN_MODELS, goldenTensors, saeGoldenCases } from "./golden.js";
import { readFileSync } from "node:fs";

const cases = saeGoldenCases();
const models = new Map<string, Promise<HookedTransformer>>();
const modelFor = (name: string): Promise<HookedTransformer> => {
  const m = GOLDEN_MODELS[name]!;
  if (!models.has(name)) models.set(name, HookedTransformer.fromPretrained(m.path, m.raw ? GOLDEN_CASES.raw : {}));
  return models.get(name) as Promise<HookedTransformer>;
};

/** the logits the golden stores: full, or at vocab_sample plus logsumexp and argmax */
function compareLogits(
  prefix: string,
  logits: Tensor,
  g: (n: string) => Tensor,
  has: (n: string) => boolean,
  vocab: Tensor | null,
): void {
  if (has(`${prefix}/logits`)) {
    expectClose(`${prefix}/logits`, logits, g(`${prefix}/logits`), 1e-4);
    return;
  }
  expectClose(`${prefix}/logits_sampled`, logits.get("...", vocab as Tensor), g(`${prefix}/logits_sampled`), 1e-4);
  expectClose(`${prefix}/logsumexp`, logits.logsumexp(-1), g(`${prefix}/logsumexp`), 1e-4);
  expect([...logits.argmax(-1).dataSync()]).toEqual([...g(`${prefix}/argmax`).dataSync()]);
}

describe.each(cases.map((c) => [`${c.model}/${c.name}`, c] as const))("HookedSAETransformer golden %s", (_, c) => {
  let model: HookedSAETransformer;
  let sae: SAE;
  let g: (n: string) => Tensor;
  let names: string[];
  let tokens: Tensor;
  let vocab: Tensor | null;
  const index = JSON.parse(readFileSync(`${c.dir}/index.json`, "utf8")) as {
    hooked_cache_names: string[];
    hooked_cache_names_error_term: string[];
    tensors: Record<string, unknown>;
  };
  beforeAll(async () => {
    model = new HookedSAETransformer(await modelFor(c.model));
    sae = (await loadSaeFromDisk(c.dir)).sae;
    g = await goldenTensors(`${c.dir}/outputs.safetensors`, `${c.dir}/index.json`);
    const inputs = await goldenTensors(`${c.dir}/../inputs.safetensors`, `${c.dir}/../model_index.json`);
    tokens = inputs("tokens");
    vocab = c.model === "toy-ioi" ? inputs("vocab_sample") : null;
    names = Object.keys(index.tensors);
  });

  it.each([
    ["spliced", false],
    ["spliced_error_term", true],
  ] as const)("%s: logits, cache, loss", async (prefix, useErrorTerm) => {
    const [logits, cache] = await model.runWithCacheWithSaes(tokens, { saes: [sae], useErrorTerm });
    compareLogits(prefix, logits, g, (n) => names.includes(n), vocab);
    for (const n of names.filter((k) => k.startsWith(`${prefix}/cache/`))) {
      expectClose(n, cache.get(n.slice(`${prefix}/cache/`.length)), g(n), 1e-4);
    }
    // SAELens's names in its order, less the blocks.{l}.mlp.hook_in points HookedSAETransformer adds to TL's model
    const want = (useErrorTerm ? index.hooked_cache_names_error_term : index.hooked_cache_names).filter(
      (n) => !n.endsWith(".mlp.hook_in"),
    );
    expect(cache.keys()).toEqual(want);
    const loss = await model.runWithSaes(tokens, { saes: [sae], useErrorTerm, returnType: "loss" });
    expectClose(`${prefix}/loss`, (loss as Tensor).reshape(1), g(`${prefix}/loss`), 1e-4);
    expect(model.actsToSaes.size).toBe(0);
  });
});
