// Logit lens and direct logit attribution helpers: against TL's goldens where TL has the same quantity, and against
// the model's own logits (the lens's last layer is the logits; attributions + b_U sum to the logit when folded).
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { ActivationCache, HookedTransformer, Tensor, tensor } from "../../src/index.js";
import {
  dlaByHead,
  dlaByLayer,
  dlaByNeuron,
  dlaFull,
  logitLens,
  residualDirections,
} from "../../src/analysis/logit-lens.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";
import { GOLDEN_CASES, GOLDEN_DIR, expectClose, type GoldenCase } from "../golden.js";

const G = GOLDEN_DIR;

const CASES = GOLDEN_CASES;
type CaseName = GoldenCase;

const common = JSON.parse(readFileSync(`${G}/common.json`, "utf8")) as {
  answer_tokens: number[];
  wrong_tokens: number[];
};
const answer = tensor(common.answer_tokens, undefined, "int32");
const wrong = tensor(common.wrong_tokens, undefined, "int32");
const inputsP = readSafetensorsFile(`${G}/inputs.safetensors`).then((r) => r.tensors);

function runCase(name: CaseName): void {
  describe(`logit lens and DLA, case ${name}`, () => {
    let model: HookedTransformer;
    let out: Map<string, Tensor>;
    let tokens: Tensor;
    let cache: ActivationCache;
    let logits: Tensor;
    const folded = name !== "raw";

    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained(G, CASES[name]);
      out = (await readSafetensorsFile(`${G}/${name}/outputs.safetensors`)).tensors;
      tokens = (await inputsP).get("tokens")!;
      [logits, cache] = await model.runWithCache(tokens);
    });

    it("logit lens: the last layer is the model's logits; the normalised streams are TL's accumulated_resid(apply_ln)", () => {
      const lens = logitLens(model, cache, { inclMid: true });
      expect(lens.labels).toEqual(["0_pre", "0_mid", "1_pre", "1_mid", "2_pre", "2_mid", "final_post"]);
      expect(lens.logits!.shape).toEqual([7, 2, 12, 1000]);
      expectClose("final_post logits", lens.logits!.get(-1), logits);
      expectClose("normalized", lens.normalized, out.get("decomp/accumulated_resid_ln")!);
      const last = logitLens(model, cache, { inclMid: true, posSlice: -1 });
      expectClose("normalized at -1", last.normalized, out.get("decomp/accumulated_resid_last_ln")!);
      expectClose("logits at -1", last.logits!, lens.logits!.get(":", ":", -1));
    });

    it("logit lens: target logits, log-probs, ranks, differences and top-k", () => {
      const full = logitLens(model, cache, { posSlice: -1 }).logits!; // [4, 2, 1000]
      const lens = logitLens(model, cache, { posSlice: -1, tokens: answer, incorrectTokens: wrong, topK: 3 });
      expect(lens.logits).toBeUndefined();
      const pick = (t: Tensor, ids: Tensor): Tensor =>
        t.gather(-1, ids.unsqueeze(0).expand(t.shape[0]!, ids.shape[0]!).unsqueeze(-1)).squeeze(-1);
      expectClose("tokenLogits", lens.tokenLogits!, pick(full, answer), 0);
      expectClose("logitDiff", lens.logitDiff!, pick(full, answer).sub(pick(full, wrong)), 1e-6);
      expectClose("tokenLogProbs", lens.tokenLogProbs!, pick(full.logSoftmax(-1), answer), 1e-5);
      const ranks = lens.tokenRanks!.toArray() as number[][];
      const fullArr = full.toArray() as number[][][];
      ranks.forEach((row, c) =>
        row.forEach((r, b) => {
          const v = fullArr[c]![b]![common.answer_tokens[b]!]!;
          expect(r).toBe(fullArr[c]![b]!.filter((x) => x > v).length);
        }),
      );
      expect(lens.topK!.indices.shape).toEqual([4, 2, 3]);
      expectClose("top-k values", lens.topK!.values, full.topk(3, -1).values, 0);
      // the final layer's logit difference is the model's
      const modelDiff = tensor(
        common.answer_tokens.map(
          (a, b) => logits.get(b, -1, a).item() - logits.get(b, -1, common.wrong_tokens[b]!).item(),
        ),
      );
      expectClose("final logit diff", lens.logitDiff!.get(-1), modelDiff);
      // per-row tokens at every position equal the same tokens given per position
      const perRow = logitLens(model, cache, { tokens: answer });
      const perPos = logitLens(model, cache, { tokens: answer.unsqueeze(1).expand(2, 12) });
      expectClose("per-row = per-position", perRow.tokenLogits!, perPos.tokenLogits!, 0);
      expect(perRow.tokenLogits!.shape).toEqual([4, 2, 12]);
    });

    it("DLA per layer and per head: TL's logit_attrs goldens", () => {
      const byLayer = dlaByLayer(model, cache, { target: { tokens: answer }, posSlice: -1 });
      expect(byLayer.labels).toEqual([
        "embed",
        "pos_embed",
        "0_attn_out",
        "0_mlp_out",
        "1_attn_out",
        "1_mlp_out",
        "2_attn_out",
        "2_mlp_out",
      ]);
      expectClose("logit_attrs_decompose_last", byLayer.attrs, out.get("decomp/logit_attrs_decompose_last")!);
      const acc = dlaByLayer(model, cache, {
        target: { tokens: answer, incorrectTokens: wrong },
        posSlice: -1,
        accumulated: true,
        inclMid: true,
      });
      expectClose("logit_attrs_accumulated_last_diff", acc.attrs, out.get("decomp/logit_attrs_accumulated_last_diff")!);
      const heads = dlaByHead(model, cache, { target: { tokens: answer, incorrectTokens: wrong }, posSlice: -1 });
      expectClose("logit_attrs_heads_last_diff", heads.attrs, out.get("decomp/logit_attrs_heads_last_diff")!);
      expect(heads.perHead.shape).toEqual([3, 4, 2]);
      expectClose("perHead", heads.perHead.reshape([12, 2]), heads.attrs, 0);
      const allPos = dlaByHead(model, cache, { target: { tokens } });
      expectClose("logit_attrs_heads_allpos", allPos.attrs, out.get("decomp/logit_attrs_heads_allpos")!);
      expect(allPos.labels[5]).toBe("L1H1");
    });

    it("DLA per neuron equals logitAttrs(stackNeuronResults) without building the stack", () => {
      const target = { tokens: answer, incorrectTokens: wrong };
      const fast = dlaByNeuron(model, cache, { target, posSlice: -1 });
      const slow = cache.logitAttrs(cache.stackNeuronResults({ posSlice: -1 }), {
        tokens: answer,
        incorrectTokens: wrong,
        posSlice: -1,
      });
      expect(fast.labels).toEqual(cache.stackNeuronResults({ posSlice: -1, returnLabels: true })[1]);
      expectClose("neurons at -1", fast.attrs, slow, 1e-5);
      expect(fast.perNeuron.shape).toEqual([3, 256, 2]);
      // all positions with per-row targets, a neuron subset and fewer layers
      const sub = dlaByNeuron(model, cache, { target: { tokens: answer }, neuronSlice: "10:20", layer: 2 });
      const subSlow = cache.logitAttrs(cache.stackNeuronResults({ layer: 2, neuronSlice: "10:20" }), {
        tokens: answer,
      });
      expect(sub.attrs.shape).toEqual([20, 2, 12]);
      expectClose("neuron subset, all positions", sub.attrs, subSlow, 1e-5);
    });

    it("a direction target gives the same numbers as the token pair", () => {
      const { directions, unembedBias } = residualDirections(model, { tokens: answer, incorrectTokens: wrong });
      expect(directions.shape).toEqual([2, 64]);
      const viaTokens = dlaByLayer(model, cache, { target: { tokens: answer, incorrectTokens: wrong } });
      const viaDirection = dlaByLayer(model, cache, { target: { direction: directions } });
      expectClose("direction = token pair", viaDirection.attrs, viaTokens.attrs, 0);
      expect(viaDirection.unembedBias).toBeNull();
      expect(viaTokens.unembedBias!.shape).toEqual([2, 12]);
      expectClose("unembedBias", viaTokens.unembedBias!.get(":", 0), unembedBias!, 0);
      // one direction for every row: neuron path and stack path agree
      const d = model.W_U.get(":", 7);
      expectClose(
        "single direction, neurons",
        dlaByNeuron(model, cache, { target: { direction: d }, posSlice: "-3:" }).attrs,
        cache.logitAttrs(cache.stackNeuronResults({ posSlice: "-3:" }), { tokens: 7, posSlice: "-3:" }),
        1e-5,
      );
    });

    if (folded) {
      it("attributions plus b_U give the logit and the logit difference exactly (folded)", () => {
        const diffTarget = { tokens: answer, incorrectTokens: wrong };
        const want = tensor(
          common.answer_tokens.map(
            (a, b) => logits.get(b, -1, a).item() - logits.get(b, -1, common.wrong_tokens[b]!).item(),
          ),
        );
        for (const r of [
          dlaFull(model, cache, { target: diffTarget, posSlice: -1 }),
          dlaFull(model, cache, { target: diffTarget, posSlice: -1, expandNeurons: false }),
          dlaByLayer(model, cache, { target: diffTarget, posSlice: -1 }),
        ]) {
          expectClose(`sum + bias (${r.labels.length} components)`, r.attrs.sum(0).add(r.unembedBias!), want, 2e-4);
        }
        // heads + remainder: the same total
        const heads = dlaByHead(model, cache, { target: diffTarget, posSlice: -1, inclRemainder: true });
        expect(heads.labels.at(-1)).toBe("remainder");
        expectClose("heads + remainder", heads.attrs.sum(0).add(heads.unembedBias!), want, 2e-4);
        // per neuron: the neurons plus every other component of the full decomposition
        const full = dlaFull(model, cache, { target: diffTarget, posSlice: -1 });
        expectClose(
          "full = heads + neurons + rest",
          full.attrs.narrow(0, 12, 768),
          dlaByNeuron(model, cache, { target: diffTarget, posSlice: -1 }).attrs,
          1e-5,
        );
      });
    }
  });
}

for (const name of Object.keys(CASES) as CaseName[]) runCase(name);

describe("on toy-ioi (GPT-2 tokenizer, real IOI behaviour)", () => {
  it("the logit difference of the IO over the subject: lens, DLA and the model agree", async () => {
    const model = await HookedTransformer.fromPretrained("toy-ioi");
    const prompt = "When Mary and John went to the store, John gave a drink to";
    const [logits, cache] = await model.runWithCache(prompt);
    const io = model.toSingleToken(" Mary");
    const s = model.toSingleToken(" John");
    const diff = logits.get(0, -1, io).item() - logits.get(0, -1, s).item();
    expect(diff).toBeGreaterThan(1);
    const lens = logitLens(model, cache, { posSlice: -1, tokens: " Mary", incorrectTokens: " John" });
    expect(lens.logitDiff!.get(-1, 0).item()).toBeCloseTo(diff, 3);
    expect(lens.tokenRanks!.get(-1, 0).item()).toBe(
      logits
        .get(0, -1)
        .gt(logits.get(0, -1, io))
        .sum()
        .item(),
    );
    const heads = dlaByHead(model, cache, {
      target: { tokens: [" Mary"], incorrectTokens: [" John"] },
      posSlice: -1,
      inclRemainder: true,
    });
    expect(heads.attrs.sum(0).add(heads.unembedBias!).get(0).item()).toBeCloseTo(diff, 3);
    expect(heads.perHead.shape).toEqual([4, 4, 1]);
    // the largest head contribution is a real positive push towards the IO
    expect(heads.perHead.max().item()).toBeGreaterThan(0.5);
    const layers = dlaByLayer(model, cache, { target: { tokens: " Mary", incorrectTokens: " John" }, posSlice: -1 });
    expect(layers.attrs.sum(0).add(layers.unembedBias!).get(0).item()).toBeCloseTo(diff, 3);
  });
});
