// The attribution tasks on toy-ioi: equal clean / corrupted shapes, the prompts as the papers build them, and each
// metric equal to the same quantity computed element by element from the logits.
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer } from "../../src/model/index.js";
import {
  AttributionError,
  Graph,
  greaterThanTask,
  greaterThanYears,
  inductionTask,
  ioiTask,
  pairsTask,
  type AttributionTask,
} from "../../src/analysis/attribution/index.js";
import { ioiMetric, makeIoiData } from "../../src/analysis/ioi/index.js";
import { Generator, randn, type Tensor } from "../../src/tensor/index.js";
import { gpt2Tokenizer } from "../../src/tokenizer/index.js";

let model: HookedTransformer;
beforeAll(async () => {
  model = await HookedTransformer.fromPretrained("toy-ioi");
});

/** Random logits [batch, pos, vocab] for a task, and a reader of one value. */
function randomLogits(
  t: AttributionTask,
  seed: number,
): { logits: Tensor; at: (b: number, p: number, v: number) => number } {
  const [B, P] = t.clean.shape as [number, number];
  const V = model.cfg.dVocab;
  const logits = randn([B, P, V], { generator: new Generator(seed) });
  const d = logits.dataSync() as Float32Array;
  return { logits, at: (b, p, v) => d[(b * P + p) * V + v]! };
}

function logSoftmaxAt(
  at: (b: number, p: number, v: number) => number,
  b: number,
  p: number,
  V: number,
): (v: number) => number {
  let m = -Infinity;
  for (let v = 0; v < V; v++) m = Math.max(m, at(b, p, v));
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(at(b, p, v) - m);
  const lse = m + Math.log(s);
  return (v) => at(b, p, v) - lse;
}

function expectTaskShape(t: AttributionTask): void {
  expect(t.clean.shape).toEqual(t.corrupted.shape);
  expect(t.clean.dtype).toBe("int32");
  expect(t.corrupted.dtype).toBe("int32");
  expect(t.positions.length).toBe(t.clean.shape[0]);
  expect(t.labels.length).toBe(t.clean.shape[0]);
}

describe("tasks", () => {
  it("ioi: the IOI data and its ABC twin; on the model's logits the metric is ioiMetric's logit difference", async () => {
    const t = ioiTask(model, { n: 12, seed: 1 });
    expectTaskShape(t);
    const { dataset } = makeIoiData(model, { n: 12, seed: 1 });
    expect(t.answers.dataSync()).toEqual(Int32Array.from(dataset.ioTokenIDs.slice(0, 12)));
    const clean = await model.forward(t.clean);
    const corrupted = await model.forward(t.corrupted);
    const m = t.metric(clean);
    expect(m.ndim).toBe(0);
    expect(m.item()).toBeCloseTo(ioiMetric(model, dataset)(clean), 4);
    expect(t.metric(corrupted).item()).toBeLessThan(m.item()); // toy-ioi solves IOI; the flipped names break it
  });

  it("greater-than: the paper's prompts, YY cycling 02 … 98, corrupted year 01, and the probability difference", () => {
    expect(greaterThanYears(gpt2Tokenizer(), 17)).toEqual(Array.from({ length: 97 }, (_, i) => i + 2));
    const t = greaterThanTask(model, { n: 100, seed: 3 });
    expectTaskShape(t);
    expect(t.labels[0]).toMatch(/^The \w+ lasted from the year 1702 to the year 17$/);
    expect(t.labels[96]).toMatch(/ 1798 to the year 17$/);
    expect(t.labels[97]).toMatch(/ 1702 to the year 17$/);
    const toks = model.toStrTokens(t.corrupted.get(5));
    expect(toks.slice(-6)).toEqual([" 17", "01", " to", " the", " year", " 17"]);
    const small = greaterThanTask(model, { n: 6, seed: 3 });
    const { logits, at } = randomLogits(small, 1);
    const V = model.cfg.dVocab;
    const last = small.clean.shape[1]! - 1;
    const ids = Array.from({ length: 100 }, (_, y) => model.toSingleToken(String(y).padStart(2, "0")));
    let want = 0;
    for (let b = 0; b < 6; b++) {
      const lp = logSoftmaxAt(at, b, last, V);
      const yy = b + 2;
      ids.forEach((id, y) => {
        want += ((y > yy ? 1 : -1) * Math.exp(lp(id))) / 6;
      });
    }
    expect(small.metric(logits).item()).toBeCloseTo(want, 6);
  });

  it("induction: the second half repeats the first in clean, is fresh in corrupted; metric = mean log p of the repeats", () => {
    const t = inductionTask(model, { seqLen: 6, batch: 3, seed: 2 });
    expectTaskShape(t);
    const c = t.clean.dataSync() as Int32Array;
    const r = t.corrupted.dataSync() as Int32Array;
    const P = 13;
    expect(t.clean.shape).toEqual([3, P]);
    for (let b = 0; b < 3; b++) {
      expect(c[b * P]).toBe(50256);
      for (let i = 1; i <= 6; i++) {
        expect(c[b * P + 6 + i]).toBe(c[b * P + i]);
        expect(r[b * P + i]).toBe(c[b * P + i]);
      }
      expect(Array.from(r.slice(b * P + 7, b * P + 13))).not.toEqual(Array.from(c.slice(b * P + 7, b * P + 13)));
    }
    const { logits, at } = randomLogits(t, 2);
    let want = 0;
    for (let b = 0; b < 3; b++)
      for (let q = 7; q < 12; q++) want += logSoftmaxAt(at, b, q, model.cfg.dVocab)(c[b * P + q + 1]!) / 15;
    expect(t.metric(logits).item()).toBeCloseTo(want, 5);
  });

  it("pairs: right-padded rows read at their own last token, logit difference or the answer's logit", () => {
    const pairs = [
      {
        clean: "When Mary and John went to the store, John gave a drink to",
        corrupted: "When Mary and John went to the store, Mary gave a drink to",
        answer: " Mary",
        wrong: " John",
      },
      { clean: "The capital of France is", corrupted: "The capital of Italy is", answer: " Paris", wrong: " Rome" },
    ];
    const t = pairsTask(model, pairs);
    expectTaskShape(t);
    expect(t.positions).toEqual([14, 5]); // BOS + 14 tokens, BOS + 5 tokens
    const { logits, at } = randomLogits(t, 3);
    const id = (s: string): number => model.toSingleToken(s);
    const want =
      (at(0, 14, id(" Mary")) - at(0, 14, id(" John")) + (at(1, 5, id(" Paris")) - at(1, 5, id(" Rome")))) / 2;
    expect(t.metric(logits).item()).toBeCloseTo(want, 5);
    const alone = pairsTask(
      model,
      pairs.map(({ wrong: _w, ...p }) => p),
    );
    expect(alone.metric(logits).item()).toBeCloseTo((at(0, 14, id(" Mary")) + at(1, 5, id(" Paris"))) / 2, 5);
  });

  it("the model's config builds its graph: toy-ioi (4 layers × 4 heads, MLPs) has 479 edges", () => {
    const g = Graph.fromConfig(model.cfg);
    expect(g.cfg).toEqual({ nLayers: 4, nHeads: 4, attnOnly: false, parallelAttnMlp: false });
    expect(g.edges.length).toBe(479);
  });

  it("refuses what does not fit, with AttributionError", () => {
    expect(() => pairsTask(model, [])).toThrow(/non-empty list/);
    expect(() => pairsTask(model, [{ clean: "a b c", corrupted: "a b", answer: " x" }])).toThrow(
      /clean prompt is 4 tokens, the corrupted one 3/,
    );
    expect(() => pairsTask(model, [{ clean: "a", corrupted: "b", answer: " Maryland Johnson" }])).toThrow(
      /pair 0: the answer/,
    );
    expect(() =>
      pairsTask(model, [
        { clean: "a", corrupted: "b", answer: " x", wrong: " y" },
        { clean: "a", corrupted: "b", answer: " x" },
      ]),
    ).toThrow(/pair 1 has no wrong answer/);
    expect(() => inductionTask(model, { seqLen: 1 })).toThrow(AttributionError);
    expect(() => inductionTask(model, { seqLen: 40 })).toThrow(/81 tokens but the model's context is 64/);
    const t = pairsTask(model, [{ clean: "a", corrupted: "b", answer: " x" }]);
    expect(() => t.metric(randn([2, 2, 5]))).toThrow(/expected logits \[batch=1, pos>1, d_vocab\]/);
  });
});
