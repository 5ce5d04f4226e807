// The lab's compute functions on toy-ioi against the library called directly (they must be the same numbers and the
// same figure objects), and request validation: every bad request is a 400 LabError with a message that says what to fix.
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, patching, viz, type Tensor } from "../../src/index.js";
import { ioiPromptPairs, makeIoiData } from "../../src/analysis/ioi/data.js";
import { dlaByHead, logitLens } from "../../src/analysis/logit-lens.js";
import type { LabModel } from "../../src/lab/compute.js";
import {
  LabError,
  LIMITS,
  validateAttention,
  validateDla,
  validateIoi,
  validateLogitLens,
  validatePatch,
  validateRun,
} from "../../src/lab/validate.js";
import { IOI_CLEAN, IOI_CORRUPTED, toyLab } from "./helpers.js";

let lab: LabModel;
let model: HookedTransformer;
beforeAll(async () => {
  lab = await toyLab();
  model = lab.model;
});

function expectBad(f: () => unknown, message: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, `expected a LabError matching ${message}`).toBeInstanceOf(LabError);
  expect((err as LabError).status).toBe(400);
  expect((err as LabError).message).toMatch(message);
}

describe("validation", () => {
  it("prompts: a non-empty string of at most maxPromptChars characters and n_ctx tokens", () => {
    expectBad(() => validateRun(model, { prompt: "" }), /prompt is empty/);
    expectBad(() => validateRun(model, { prompt: "   " }), /prompt is empty/);
    expectBad(() => validateRun(model, { prompt: 42 }), /prompt must be a string/);
    expectBad(
      () => validateRun(model, { prompt: "a".repeat(LIMITS.maxPromptChars + 1) }),
      /2001 characters; the lab takes at most 2000/,
    );
    expectBad(
      () => validateRun(model, { prompt: " x".repeat(64) }),
      /prompt is 65 tokens \(with BOS\); the model's context is 64 tokens/,
    );
    expect(validateRun(model, { prompt: " x".repeat(63) }).prompt.ids).toHaveLength(64);
    expectBad(() => validateRun(model, null), /JSON object/);
    expectBad(() => validateRun(model, [1]), /JSON object/);
    expectBad(() => validateRun(model, { prompt: "hi", layer: 1 }), /unknown field "layer"/);
    expectBad(() => validateRun(model, { prompt: "hi", topK: 0 }), /topK must be an integer from 1 to 50/);
  });

  it("layers and heads: integers in range", () => {
    expect(validateAttention(model, { prompt: "hi", layer: 3, head: 3 })).toMatchObject({ layer: 3, head: 3 });
    expect(validateAttention(model, { prompt: "hi", layer: 0 }).head).toBeNull();
    expectBad(
      () => validateAttention(model, { prompt: "hi", layer: 4 }),
      /layer must be an integer from 0 to 3, got 4/,
    );
    expectBad(() => validateAttention(model, { prompt: "hi", layer: -1 }), /layer must be an integer from 0 to 3/);
    expectBad(() => validateAttention(model, { prompt: "hi", layer: 1.5 }), /layer must be an integer/);
    expectBad(() => validateAttention(model, { prompt: "hi", layer: "1" }), /layer must be an integer/);
    expectBad(() => validateAttention(model, { prompt: "hi" }), /layer is required/);
    expectBad(
      () => validateAttention(model, { prompt: "hi", layer: 0, head: 4 }),
      /head must be an integer from 0 to 3, got 4/,
    );
  });

  it("answer tokens: one token (string or id); positions inside the prompt", () => {
    expect(validateDla(model, { prompt: IOI_CLEAN, answer: " Mary", other: " John" })).toMatchObject({
      answer: { text: " Mary" },
      other: { text: " John" },
      position: 14,
    });
    expect(validateDla(model, { prompt: IOI_CLEAN, answer: 5335 }).answer).toEqual({ id: 5335, text: " Mary" });
    expectBad(
      () => validateDla(model, { prompt: IOI_CLEAN, answer: " Mary Jane" }),
      /answer " Mary Jane" is not a single token: it is 2 tokens \[" Mary", " Jane"\]/,
    );
    expectBad(
      () => validateDla(model, { prompt: IOI_CLEAN, answer: "Maryland" }),
      /not a single token.*usually start with one/,
    );
    expectBad(() => validateDla(model, { prompt: IOI_CLEAN, answer: 50257 }), /token id 50257 is outside 0..50256/);
    expectBad(() => validateDla(model, { prompt: IOI_CLEAN }), /answer must be a single token/);
    expectBad(() => validateDla(model, { prompt: IOI_CLEAN, answer: " Mary", other: " Mary" }), /the same token/);
    expectBad(
      () => validateLogitLens(model, { prompt: IOI_CLEAN, token: " Mary", position: 15 }),
      /position must be an integer from 0 to 14/,
    );
  });

  it("patching: a known kind, prompts of the same length; IOI: n and seed in range", () => {
    const ok = { kind: "resid_pre", clean: IOI_CLEAN, corrupted: IOI_CORRUPTED, answer: " Mary", other: " John" };
    expect(validatePatch(model, ok).clean.ids).toHaveLength(15);
    expectBad(
      () => validatePatch(model, { ...ok, kind: "resid_post" }),
      /kind must be one of resid_pre, attn_out, mlp_out, head_out/,
    );
    expectBad(
      () => validatePatch(model, { ...ok, corrupted: "When Mary went to the store" }),
      /same number of tokens \(clean 15, corrupted 7\)/,
    );
    expectBad(() => validatePatch(model, { ...ok, clean: "" }), /clean is empty/);
    expect(validateIoi({})).toEqual({ n: 8, seed: 1 });
    expectBad(() => validateIoi({ n: 51 }), /n must be an integer from 1 to 50/);
    expectBad(() => validateIoi({ seed: -1 }), /seed must be an integer/);
  });
});

describe("compute = the library", () => {
  let cache: Awaited<ReturnType<HookedTransformer["runWithCache"]>>[1];
  let logits: Tensor;
  beforeAll(async () => {
    [logits, cache] = await model.runWithCache(model.toTokens(IOI_CLEAN));
  });

  it("run: the tokens and the top-k softmax of the last position", async () => {
    const r = await lab.run(validateRun(model, { prompt: IOI_CLEAN, topK: 5 }));
    expect(r.tokens.map((t) => t.text)).toEqual(model.toStrTokens(IOI_CLEAN));
    expect(r.tokens.map((t) => t.id)).toEqual(Array.from(model.toTokens(IOI_CLEAN).dataSync()));
    const { values, indices } = logits.get(0, -1).softmax(-1).topk(5, -1);
    expect(r.predictions.map((p) => p.id)).toEqual(Array.from(indices.dataSync()));
    r.predictions.forEach((p, i) => expect(p.prob).toBeCloseTo(values.dataSync()[i]!, 6));
    expect(r.predictions[0]!.text).toBe(" Mary");
  });

  it("attention: the viewer of the cached pattern", async () => {
    const all = await lab.attention(validateAttention(model, { prompt: IOI_CLEAN, layer: 2 }));
    const pattern = cache.get("blocks.2.attn.hook_pattern").get(0);
    const tokens = model.toStrTokens(IOI_CLEAN);
    expect(JSON.parse(JSON.stringify(all.viewer))).toEqual(
      JSON.parse(
        JSON.stringify(
          viz.attentionHeads({
            tokens,
            attention: pattern,
            headNames: ["L2H0", "L2H1", "L2H2", "L2H3"],
            title: "Layer 2",
          }),
        ),
      ),
    );
    const one = await lab.attention(validateAttention(model, { prompt: IOI_CLEAN, layer: 2, head: 1 }));
    expect((one.viewer.props.attention as number[][][])[0]).toEqual(pattern.get(1).toArray());
  });

  it("logit lens: the token's probability per residual stream (logitLens)", async () => {
    const r = await lab.logitLens(validateLogitLens(model, { prompt: IOI_CLEAN, token: " Mary" }));
    const lens = logitLens(model, cache, { posSlice: -1, tokens: " Mary" });
    expect(r.labels).toEqual(lens.labels);
    r.probs.forEach((p, i) => expect(p).toBeCloseTo(Math.exp(lens.tokenLogProbs!.dataSync()[i]!), 6));
    expect(r.probs.at(-1)).toBeCloseTo(logits.get(0, -1).softmax(-1).get(5335).item(), 5); // final_post = the model
    expect(r.figure.data[0]).toMatchObject({ type: "scatter", x: lens.labels });
  });

  it("DLA per head: dlaByHead at the last position, as an imshow", async () => {
    const r = await lab.dla(validateDla(model, { prompt: IOI_CLEAN, answer: " Mary", other: " John" }));
    const expected = dlaByHead(model, cache, {
      target: { tokens: " Mary", incorrectTokens: " John" },
      posSlice: -1,
    }).perHead.squeeze(-1);
    expect(r.values).toEqual(expected.toArray());
    expect(JSON.stringify(r.figure)).toBe(
      JSON.stringify(
        viz.imshow(expected.toArray() as number[][], {
          labels: { x: "Head", y: "Layer", color: "DLA" },
          title: 'Direct logit attribution per head to logit[" Mary"] − logit[" John"]',
          textAuto: ".2f",
        }),
      ),
    );
  });

  it("patching: getActPatchResidPre / getActPatchAttnHeadOutAllPos normalised, with progress up to the total", async () => {
    const req = validatePatch(model, {
      kind: "resid_pre",
      clean: IOI_CLEAN,
      corrupted: IOI_CORRUPTED,
      answer: " Mary",
      other: " John",
    });
    const progress: [number, number][] = [];
    const r = await lab.patch(req, { onProgress: (d, t) => progress.push([d, t]) });
    const metric = (l: Tensor): number => l.get(0, -1, 5335).item() - l.get(0, -1, 1757).item();
    const corrupted = model.toTokens(IOI_CORRUPTED);
    const clean = metric(logits);
    const corr = metric((await model.forward(corrupted)) as Tensor);
    expect(r.clean).toBeCloseTo(clean, 4);
    expect(r.corrupted).toBeCloseTo(corr, 4);
    const direct = await patching.getActPatchResidPre(
      model,
      corrupted,
      cache,
      (l) => (metric(l) - corr) / (clean - corr),
    );
    expect(r.values.flat().length).toBe(4 * 15);
    r.values.flat().forEach((v, i) => expect(v).toBeCloseTo(direct.dataSync()[i]!, 4));
    expect(r.values[0]![10]).toBeCloseTo(1, 3); // the stream entering layer 0 at S2 carries everything
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toEqual([60, 60]);
    expect(r.figure.data[0]).toMatchObject({ type: "heatmap" });

    const heads = await lab.patch({ ...req, kind: "head_out" });
    const directHeads = await patching.getActPatchAttnHeadOutAllPos(
      model,
      corrupted,
      cache,
      (l) => (metric(l) - corr) / (clean - corr),
    );
    heads.values.flat().forEach((v, i) => expect(v).toBeCloseTo(directHeads.dataSync()[i]!, 4));
  });

  it("patching stops at the next patched run when its signal aborts", async () => {
    const req = validatePatch(model, {
      kind: "resid_pre",
      clean: IOI_CLEAN,
      corrupted: IOI_CORRUPTED,
      answer: " Mary",
      other: " John",
    });
    const c = new AbortController();
    let calls = 0;
    await expect(
      lab.patch(req, {
        signal: c.signal,
        onProgress: () => {
          if (++calls === 1) c.abort();
        },
      }),
    ).rejects.toMatchObject({ name: "AbortError" });
    expect(calls).toBe(1);
    // the model is left clean: a run afterwards gives the same logits
    const again = (await model.forward(model.toTokens(IOI_CLEAN))) as Tensor;
    expect(again.get(0, -1).sub(logits.get(0, -1)).abs().max().item()).toBe(0);
  });

  it("IOI pairs: prompts that stop before the answer, clean and corrupted of the same length, answers that are single tokens", () => {
    const r = lab.ioiPrompts(validateIoi({ n: 6, seed: 3 }));
    expect(r.pairs).toHaveLength(6);
    for (const p of r.pairs) {
      expect(p.clean.endsWith(p.answer)).toBe(false);
      const req = validatePatch(model, { kind: "head_out", ...p });
      expect(req.clean.ids.length).toBe(req.corrupted.ids.length);
      expect(p.clean).toContain(p.answer.trim());
      expect(p.clean).toContain(p.other.trim());
      expect(p.corrupted).not.toContain(p.answer.trim());
    }
    expect(lab.ioiPrompts(validateIoi({ n: 6, seed: 3 }))).toEqual(r); // seeded
    // the IOI pipeline's data (tlens ioi --n 6 --seed 3): the same prompts and corruption
    const data = makeIoiData(model, { n: 6, seed: 3 });
    expect(r.pairs).toEqual(ioiPromptPairs(data.dataset, data.flipped));
    expect(r.pairs.map((p) => `${p.clean}${p.answer}`)).toEqual(data.dataset.sentences);
  });
});
