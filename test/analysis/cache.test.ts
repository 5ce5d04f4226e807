// ActivationCache analysis methods against TransformerLens 2.18 (../shared/golden/tl, decomp/*) in all four weight
// processing cases, plus the invariants that make them useful (decompositions sum to the residual stream,
// attributions plus b_U sum to the logit on a folded model).
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { ActivationCache, HookedTransformer, Tensor, tensor } from "../../src/index.js";
import { Slice } from "../../src/model/activation-cache.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";
import { GOLDEN_CASES, GOLDEN_DIR, expectClose, type GoldenCase } from "../golden.js";

const G = GOLDEN_DIR;

const CASES = GOLDEN_CASES;
type CaseName = GoldenCase;

const common = JSON.parse(readFileSync(`${G}/common.json`, "utf8")) as {
  answer_tokens: number[];
  wrong_tokens: number[];
};
const inputsP = readSafetensorsFile(`${G}/inputs.safetensors`).then((r) => r.tensors);

type Result = Tensor | [Tensor, string[]];
/** Every decomp/* tensor of the golden outputs, computed by tlens (TL's call in the comment). */
function decompCalls(cache: ActivationCache, model: HookedTransformer, tokens: Tensor): Record<string, () => Result> {
  const answer = common.answer_tokens;
  const wrong = common.wrong_tokens;
  return {
    // accumulated_resid(incl_mid=True)
    accumulated_resid: () => cache.accumulatedResid({ inclMid: true, returnLabels: true }),
    accumulated_resid_ln: () => cache.accumulatedResid({ inclMid: true, applyLn: true, returnLabels: true }),
    accumulated_resid_L2_mlp_input: () => cache.accumulatedResid({ layer: 2, mlpInput: true, returnLabels: true }),
    accumulated_resid_last_ln: () =>
      cache.accumulatedResid({ inclMid: true, applyLn: true, posSlice: -1, returnLabels: true }),
    decompose_resid: () => cache.decomposeResid({ returnLabels: true }),
    decompose_resid_ln: () => cache.decomposeResid({ applyLn: true, returnLabels: true }),
    decompose_resid_L1_mlp_input_attn: () =>
      cache.decomposeResid({ layer: 1, mlpInput: true, mode: "attn", returnLabels: true }),
    decompose_resid_noembeds: () => cache.decomposeResid({ inclEmbeds: false, returnLabels: true }),
    stack_head_results: () => cache.stackHeadResults({ layer: -1, returnLabels: true }),
    stack_head_results_remainder: () => cache.stackHeadResults({ layer: -1, inclRemainder: true, returnLabels: true }),
    stack_head_results_L2_last_ln: () =>
      cache.stackHeadResults({ layer: 2, posSlice: -1, applyLn: true, returnLabels: true }),
    stack_neuron_results_last: () => cache.stackNeuronResults({ layer: 3, posSlice: -1, returnLabels: true }),
    full_resid_decomposition_last_ln: () =>
      cache.getFullResidDecomposition({ posSlice: -1, applyLn: true, expandNeurons: true, returnLabels: true }),
    full_resid_decomposition_noexpand: () =>
      cache.getFullResidDecomposition({ expandNeurons: false, returnLabels: true }),
    apply_ln_to_stack_decompose_final: () => cache.applyLnToStack(cache.decomposeResid(), { layer: null }),
    apply_ln_to_stack_decompose_L1_mlp: () =>
      cache.applyLnToStack(cache.decomposeResid({ layer: 1, mlpInput: true }), { layer: 1, mlpInput: true }),
    apply_ln_to_stack_heads_last: () =>
      cache.applyLnToStack(cache.stackHeadResults().get(":", ":", -1), { layer: -1, posSlice: -1 }),
    logit_attrs_accumulated_last_diff: () =>
      cache.logitAttrs(cache.accumulatedResid({ inclMid: true, posSlice: -1 }), {
        tokens: answer,
        incorrectTokens: wrong,
        posSlice: -1,
      }),
    logit_attrs_decompose_last: () =>
      cache.logitAttrs(cache.decomposeResid().get(":", ":", -1), { tokens: answer, posSlice: -1 }),
    logit_attrs_heads_last_diff: () =>
      cache.logitAttrs(cache.stackHeadResults().get(":", ":", -1), {
        tokens: answer,
        incorrectTokens: wrong,
        posSlice: -1,
      }),
    logit_attrs_heads_allpos: () => cache.logitAttrs(cache.stackHeadResults(), { tokens }),
    tokens_to_residual_directions: () => model.tokensToResidualDirections(answer),
  };
}

function runCase(name: CaseName): void {
  describe(`decomp parity, case ${name}`, () => {
    let model: HookedTransformer;
    let out: Map<string, Tensor>;
    let tokens: Tensor;
    let cache: ActivationCache;
    let logits: Tensor;
    const index = JSON.parse(readFileSync(`${G}/${name}/index.json`, "utf8")) as {
      labels: Record<string, string[]>;
      tensors: Record<string, { labels_key?: string }>;
    };

    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained(G, CASES[name]);
      out = (await readSafetensorsFile(`${G}/${name}/outputs.safetensors`)).tensors;
      tokens = (await inputsP).get("tokens")!;
      [logits, cache] = await model.runWithCache(tokens);
    });

    it("every decomp/* tensor matches TL to 1e-4, with TL's labels", () => {
      const calls = decompCalls(cache, model, tokens);
      const golden = [...out.keys()].filter((k) => k.startsWith("decomp/")).map((k) => k.slice("decomp/".length));
      expect(golden.sort()).toEqual(Object.keys(calls).sort());
      for (const key of golden) {
        const r = calls[key]!();
        const [t, labels] = Array.isArray(r) ? r : [r, undefined];
        expectClose(`${name} decomp/${key}`, t, out.get(`decomp/${key}`)!);
        const labelsKey = index.tensors[`decomp/${key}`]!.labels_key;
        if (labelsKey) expect(labels, `${key} labels`).toEqual(index.labels[labelsKey]);
      }
    });

    it("computeHeadResults equals TL's hook_result (use_attn_result)", async () => {
      const [, fresh] = await model.runWithCache(tokens);
      expect(fresh.has("blocks.0.attn.hook_result")).toBe(false);
      fresh.computeHeadResults();
      for (let l = 0; l < 3; l++) {
        const key = `blocks.${l}.attn.hook_result`;
        expectClose(key, fresh.get(key), out.get(`cache_extra/${key}`)!);
      }
    });

    it("decompositions sum to the residual stream", () => {
      const final = cache.get("blocks.2.hook_resid_post");
      expectClose("decomposeResid().sum(0)", cache.decomposeResid().sum(0), final);
      expectClose("accumulatedResid()[-1]", cache.accumulatedResid().get(-1), final);
      expectClose("getFullResidDecomposition().sum(0)", cache.getFullResidDecomposition().sum(0), final);
      expectClose(
        "getFullResidDecomposition(expandNeurons false).sum(0)",
        cache.getFullResidDecomposition({ expandNeurons: false }).sum(0),
        final,
      );
      expectClose(
        "stackHeadResults(inclRemainder).sum(0)",
        cache.stackHeadResults({ inclRemainder: true }).sum(0),
        final,
      );
      expectClose(
        "stackNeuronResults(inclRemainder).sum(0)",
        cache.stackNeuronResults({ inclRemainder: true }).sum(0),
        final,
      );
      // into a middle layer, attention and MLP inputs
      const mid1 = cache.get("blocks.1.hook_resid_mid");
      expectClose("decomposeResid(layer 1, mlpInput)", cache.decomposeResid({ layer: 1, mlpInput: true }).sum(0), mid1);
      expectClose(
        "full(layer 1, mlpInput)",
        cache.getFullResidDecomposition({ layer: 1, mlpInput: true }).sum(0),
        mid1,
      );
      expectClose(
        "full(layer 1, mlpInput, no expand)",
        cache.getFullResidDecomposition({ layer: 1, mlpInput: true, expandNeurons: false }).sum(0),
        mid1,
      );
      expectClose(
        "stackNeuronResults(layer 1, mlpInput, remainder)",
        cache.stackNeuronResults({ layer: 1, mlpInput: true, inclRemainder: true }).sum(0),
        mid1,
      );
      expectClose(
        "full(layer 2)",
        cache.getFullResidDecomposition({ layer: 2 }).sum(0),
        cache.get("blocks.2.hook_resid_pre"),
      );
      expectClose(
        "full(layer 0)",
        cache.getFullResidDecomposition({ layer: 0 }).sum(0),
        cache.get("blocks.0.hook_resid_pre"),
      );
      expectClose(
        "stackHeadResults(layer 0, remainder)",
        cache.stackHeadResults({ layer: 0, inclRemainder: true }).sum(0),
        cache.get("blocks.0.hook_resid_pre"),
      );
    });

    if (name === "processed" || name === "fold_ln") {
      it("logit attributions plus b_U give the logits (folded model)", () => {
        const answer = tensor(common.answer_tokens, undefined, "int32");
        const attrs = cache.logitAttrs(cache.decomposeResid({ posSlice: -1 }), { tokens: answer, posSlice: -1 }); // [comp, batch]
        const total = attrs.sum(0).add(model.b_U.get(answer));
        const want = tensor(common.answer_tokens.map((t, b) => logits.get(b, -1, t).item()));
        expectClose("sum(logitAttrs) + b_U[answer]", total, want, 2e-4);
        // the same through every head and neuron
        const full = cache.logitAttrs(cache.getFullResidDecomposition({ posSlice: -1 }), {
          tokens: answer,
          posSlice: -1,
        });
        expectClose("sum(logitAttrs(full)) + b_U", full.sum(0).add(model.b_U.get(answer)), want, 2e-4);
        // per-position targets [batch, pos]: each position's attribution to the input token
        const perPos = cache.logitAttrs(cache.decomposeResid(), { tokens }); // [comp, batch, pos]
        const gathered = logits.gather(-1, tokens.unsqueeze(-1)).squeeze(-1);
        expectClose("per-position logits", perPos.sum(0).add(model.b_U.get(tokens)), gathered, 2e-4);
      });
    }
  });
}

for (const name of Object.keys(CASES) as CaseName[]) runCase(name);

describe("ActivationCache options", () => {
  let model: HookedTransformer;
  let tokens: Tensor;
  let cache: ActivationCache;
  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained(G);
    tokens = (await inputsP).get("tokens")!;
    [, cache] = await model.runWithCache(tokens);
  });

  it("Slice: integers, ranges (string or object), index lists and tensors", () => {
    const t = tensor([
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
    ]);
    expect(new Slice(-1).apply(t, 1).toArray()).toEqual([4, 9]);
    expect(new Slice("1:3").apply(t, -1).toArray()).toEqual([
      [1, 2],
      [6, 7],
    ]);
    expect(new Slice({ start: 1, stop: 3 }).apply(t, -1).toArray()).toEqual([
      [1, 2],
      [6, 7],
    ]);
    expect(new Slice({ step: 2 }).apply(t, 1).toArray()).toEqual([
      [0, 2, 4],
      [5, 7, 9],
    ]);
    expect(new Slice([4, 0]).apply(t, 1).toArray()).toEqual([
      [4, 0],
      [9, 5],
    ]);
    expect(new Slice(tensor([1], undefined, "int32")).apply(t, 0).toArray()).toEqual([[5, 6, 7, 8, 9]]);
    expect(new Slice().apply(t, 0)).toBe(t);
    expect(new Slice("-2:").indices(5)).toEqual([3, 4]);
    expect(new Slice(-1).indices(12)).toEqual([11]);
    expect(new Slice([3, 6]).mode).toBe("array");
    expect(() => new Slice("1-3")).toThrow(/bad slice/);
    expect(() => new Slice(1.5)).toThrow(/integer/);
  });

  it("posSlice forms agree with slicing afterwards", () => {
    const full = cache.decomposeResid(); // [8, 2, 12, 64]
    expectClose("range", cache.decomposeResid({ posSlice: "3:7" }), full.get(":", ":", "3:7"), 0);
    expectClose(
      "object range",
      cache.decomposeResid({ posSlice: { start: 3, stop: 7 } }),
      full.get(":", ":", "3:7"),
      0,
    );
    const idx = tensor([2, 5, 11], undefined, "int32");
    expectClose("index list", cache.decomposeResid({ posSlice: [2, 5, 11] }), full.get(":", ":", idx), 0);
    // applyLn with a range slices the cached scale the same way
    expectClose(
      "applyLn range",
      cache.decomposeResid({ posSlice: "3:7", applyLn: true }),
      cache.decomposeResid({ applyLn: true }).get(":", ":", "3:7"),
      1e-6,
    );
    expectClose(
      "heads, index list + ln",
      cache.stackHeadResults({ posSlice: [2, 5, 11], applyLn: true }),
      cache.stackHeadResults({ applyLn: true }).get(":", ":", idx),
      1e-6,
    );
  });

  it("neuronSlice selects neurons and labels them", () => {
    const [some, labels] = cache.stackNeuronResults({
      layer: 2,
      posSlice: -1,
      neuronSlice: [5, 7],
      returnLabels: true,
    });
    expect(labels).toEqual(["L0N5", "L0N7", "L1N5", "L1N7"]);
    const all = cache.stackNeuronResults({ layer: 2, posSlice: -1 });
    expectClose("neurons 5, 7", some, all.get(tensor([5, 7, 261, 263], undefined, "int32")), 0);
    const [one, oneLabels] = cache.stackNeuronResults({ layer: 1, neuronSlice: 3, returnLabels: true });
    expect(oneLabels).toEqual(["L0N3"]);
    expect(one.shape).toEqual([1, 2, 12, 64]);
    const [range, rangeLabels] = cache.stackNeuronResults({ layer: 1, neuronSlice: "254:", returnLabels: true });
    expect(rangeLabels).toEqual(["L0N254", "L0N255"]);
    expect(range.shape[0]).toBe(2);
  });

  it("batchSlice picks rows of the stack and of the cached scale", () => {
    const stack = cache.decomposeResid({ posSlice: -1 }); // [8, 2, 64]
    const both = cache.applyLnToStack(stack, { posSlice: -1 });
    expectClose("batchSlice 1", cache.applyLnToStack(stack, { posSlice: -1, batchSlice: 1 }), both.get(":", 1), 0);
    expectClose(
      "batchSlice [1]",
      cache.applyLnToStack(stack, { posSlice: -1, batchSlice: [1] }),
      both.get(":", "1:2"),
      0,
    );
    const attrs = cache.logitAttrs(stack, { tokens: common.answer_tokens, posSlice: -1 });
    const row1 = cache.logitAttrs(stack, { tokens: common.answer_tokens[1]!, posSlice: -1, batchSlice: 1 });
    expectClose("logitAttrs batchSlice", row1, attrs.get(":", 1), 1e-6);
  });

  it("layer 0 gives empty stacks; labels stay aligned", () => {
    const [heads, labels] = cache.stackHeadResults({ layer: 0, returnLabels: true });
    expect(heads.shape).toEqual([0, 2, 12, 64]);
    expect(labels).toEqual([]);
    const [noEmb, l2] = cache.decomposeResid({ layer: 0, inclEmbeds: false, returnLabels: true });
    expect(noEmb.shape).toEqual([0, 2, 12, 64]);
    expect(l2).toEqual([]);
    const [full, l3] = cache.getFullResidDecomposition({ layer: 0, returnLabels: true });
    expect(l3).toEqual(["embed", "pos_embed", "bias"]);
    expect(full.shape).toEqual([3, 2, 12, 64]);
  });

  it("single tokens as ids and strings of ids; mismatched shapes are errors", () => {
    const stack = cache.decomposeResid({ posSlice: -1 });
    const a = cache.logitAttrs(stack, { tokens: 436, posSlice: -1 });
    const b = cache.logitAttrs(stack, { tokens: [436, 436], posSlice: -1 });
    expectClose("scalar token", a, b, 0);
    expect(() => cache.logitAttrs(stack, { tokens: [1, 2], incorrectTokens: 3, posSlice: -1 })).toThrow(/same shape/);
    // a stack at every position with the scale of the last one does not fit
    expect(() => cache.applyLnToStack(cache.decomposeResid(), { posSlice: "0:3" })).toThrow(/posSlice/);
  });

  it("removeBatchDim keeps the model; the methods work without a batch dim", async () => {
    const [, single] = await model.runWithCache(tokens.get("1:2"), { removeBatchDim: true });
    expect(single.hasBatchDim).toBe(false);
    expect(single.model).toBe(model);
    const batched = cache.decomposeResid({ posSlice: -1, applyLn: true });
    expectClose(
      "decomposeResid row 1",
      single.decomposeResid({ posSlice: -1, applyLn: true }),
      batched.get(":", 1),
      1e-5,
    );
    const attrs = single.logitAttrs(single.stackHeadResults({ posSlice: -1 }), {
      tokens: common.answer_tokens[1]!,
      posSlice: -1,
    });
    const want = cache
      .logitAttrs(cache.stackHeadResults({ posSlice: -1 }), { tokens: common.answer_tokens, posSlice: -1 })
      .get(":", 1);
    expectClose("heads DLA row 1", attrs, want, 1e-5);
    expect(single.accumulatedResid({ applyLn: true }).shape).toEqual([4, 12, 64]);
    // and applySliceToBatchDim(int) does the same on a batched cache
    const sliced = cache.applySliceToBatchDim(1);
    expect(sliced.hasBatchDim).toBe(false);
    expectClose("applySliceToBatchDim", sliced.decomposeResid({ posSlice: -1, applyLn: true }), batched.get(":", 1), 0);
  });

  it("errors name what is missing", async () => {
    const [, partial] = await model.runWithCache(tokens, {
      namesFilter: (n) => n.endsWith("resid_pre") || n.endsWith("resid_post"),
    });
    expect(() => partial.accumulatedResid({ applyLn: true, layer: 1 })).toThrow(/blocks\.1\.ln1\.hook_scale/);
    expect(() => partial.stackHeadResults()).toThrow(/hook_z/);
    expect(() => cache.accumulatedResid({ layer: 7 })).toThrow(/out of range/);
    const bare = new ActivationCache(new Map([["hook_embed", tensor([1])]]));
    expect(() => bare.decomposeResid()).toThrow(/needs the model/);
    expect(cache.get("resid_post", -1)).toBe(cache.get("blocks.2.hook_resid_post"));
  });
});
