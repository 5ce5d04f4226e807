// Run isolation: hooks, caches and position state added by one call apply to that call only. Overlapping calls
// (async hooks yield, so runs interleave) must give exactly the numbers of the same calls made one at a time.
import { beforeAll, describe, expect, it } from "vitest";
import { Generator, HookedTransformer, patching, randn, type Tensor } from "../../src/index.js";
import { generateWithSteering, runWithSteering } from "../../src/analysis/steering.js";
import type { HookFn } from "../../src/model/hook-point.js";
import { GOLDEN_DIR as G, goldenCommon as common, goldenInputs, maxAbsDiff } from "../golden.js";

let model: HookedTransformer;
let tokens: Tensor;
let clean: Tensor;
let corrupted: Tensor;

beforeAll(async () => {
  model = await HookedTransformer.fromPretrained(G);
  const inputs = await goldenInputs;
  tokens = inputs.get("tokens")!;
  clean = inputs.get("clean_tokens")!;
  corrupted = inputs.get("corrupted_tokens")!;
});

/** Yields to the event loop, so that other runs proceed while this hook waits. */
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
/** An async hook that zeroes the activation after yielding. */
const ablate: HookFn = async (act) => {
  await tick();
  act.mul_(0);
};
/** An async reader: yields on every hook point, so overlapping runs interleave layer by layer. */
const slow: HookFn = async () => {
  await tick();
};

/** max |a - b|; equal entries (the -inf of masked scores included) count 0. */
const maxDiff = maxAbsDiff;

/** One row of `tokens` as a batch of 1: prompts that differ between runs. */
const row = (t: Tensor, i: number): Tensor => t.narrow(0, i, 1);

describe("overlapping runs equal sequential ones", () => {
  it("forward overlapping an ablating runWithHooks", async () => {
    const fwdHooks: [string, HookFn][] = [
      ["blocks.0.hook_attn_out", ablate],
      ["blocks.1.hook_mlp_out", ablate],
    ];
    const plainSeq = await model.forward(tokens);
    const ablatedSeq = await model.runWithHooks(tokens, { fwdHooks });
    const [ablated, plain] = await Promise.all([
      model.runWithHooks(tokens, { fwdHooks }),
      model.runWithHooks(tokens, { fwdHooks: [["blocks.0.hook_resid_pre", slow]] }).then(() => model.forward(tokens)),
    ]);
    const [plain2] = await Promise.all([model.forward(tokens), model.runWithHooks(tokens, { fwdHooks })]);
    expect(maxDiff(ablated, ablatedSeq)).toBe(0);
    expect(maxDiff(plain, plainSeq)).toBe(0);
    expect(maxDiff(plain2, plainSeq)).toBe(0);
  });

  it("Promise.all of runWithCache on different prompts", async () => {
    const prompts = [row(tokens, 0), row(tokens, 1), row(clean, 0), row(corrupted, 0)];
    const seq: [Tensor, Map<string, Tensor>][] = [];
    for (const p of prompts) {
      const [logits, cache] = await model.runWithCache(p);
      seq.push([logits, new Map([...cache.keys()].map((k) => [k, cache.get(k)]))]);
    }
    // a slow permanent-free hook on every block makes the runs interleave
    const together = await Promise.all(
      prompts.map((p) => model.withHooks([[(n) => n.endsWith("hook_resid_pre"), slow]], () => model.runWithCache(p))),
    );
    together.forEach(([logits, cache], i) => {
      expect(maxDiff(logits, seq[i]![0])).toBe(0);
      expect([...cache.keys()]).toEqual([...seq[i]![1].keys()]);
      for (const [k, v] of seq[i]![1]) expect(maxDiff(cache.get(k), v), k).toBe(0);
    });
  });

  it("runWithHooks calls with different hooks overlapping", async () => {
    const names = [
      "blocks.0.hook_attn_out",
      "blocks.1.hook_resid_mid",
      "blocks.2.attn.hook_pattern",
      "blocks.0.mlp.hook_post",
    ];
    const seq: Tensor[] = [];
    for (const n of names) seq.push(await model.runWithHooks(tokens, { fwdHooks: [[n, ablate]] }));
    const together = await Promise.all(names.map((n) => model.runWithHooks(tokens, { fwdHooks: [[n, ablate]] })));
    together.forEach((t, i) => expect(maxDiff(t, seq[i]!), names[i]).toBe(0));
  });

  it("generate (KV cache: position state) overlapping an ablating runWithHooks and another generate", async () => {
    const prompt = row(tokens, 0).narrow(1, 0, 5);
    const other = row(tokens, 1).narrow(1, 0, 3);
    const opts = { maxNewTokens: 6, doSample: false };
    const genSeq = (await model.generate(prompt, opts)) as Tensor;
    const otherSeq = (await model.generate(other, opts)) as Tensor;
    // an ablating run whose hooks read the position offset of their own run
    const offsets: number[] = [];
    const recordOffset: HookFn = async (_act, hook) => {
      offsets.push(hook.positionOffset);
      await tick();
    };
    const fwdHooks: [string, HookFn][] = [
      ["blocks.0.hook_attn_out", ablate],
      ["blocks.1.hook_resid_pre", recordOffset],
    ];
    const ablatedSeq = await model.runWithHooks(tokens, { fwdHooks });
    offsets.length = 0;
    const [gen, ablated, gen2] = await Promise.all([
      model.generate(prompt, opts) as Promise<Tensor>,
      model.runWithHooks(tokens, { fwdHooks }),
      model.generate(other, opts) as Promise<Tensor>,
    ]);
    expect(maxDiff(gen, genSeq)).toBe(0);
    expect(maxDiff(gen2, otherSeq)).toBe(0);
    expect(maxDiff(ablated, ablatedSeq)).toBe(0);
    expect(offsets).toEqual([0]);
  });

  it("patching sweeps overlapping each other and an ablating run", async () => {
    const metric = (logits: Tensor): number => {
      let s = 0;
      common.answer_tokens.forEach((a, b) => {
        s += logits.get(b, -1, a).item() - logits.get(b, -1, common.wrong_tokens[b]!).item();
      });
      return s / common.answer_tokens.length;
    };
    const [, cleanCache] = await model.runWithCache(clean);
    const residSeq = await patching.getActPatchResidPre(model, corrupted, cleanCache, metric);
    const zSeq = await patching.getActPatchAttnHeadOutByPos(model, corrupted, cleanCache, metric, {
      metricPositions: "last",
    });
    const naiveSeq = await patching.getActPatchAttnOut(model, corrupted, cleanCache, metric, { fast: false });
    const fwdHooks: [string, HookFn][] = [
      ["blocks.1.hook_attn_out", ablate],
      ["blocks.2.hook_resid_pre", ablate],
    ];
    const ablatedSeq = await model.runWithHooks(tokens, { fwdHooks });
    const asyncMetric = async (logits: Tensor): Promise<number> => {
      await tick();
      return metric(logits);
    };
    const [resid, z, naive, ablated] = await Promise.all([
      patching.getActPatchResidPre(model, corrupted, cleanCache, asyncMetric),
      patching.getActPatchAttnHeadOutByPos(model, corrupted, cleanCache, asyncMetric, { metricPositions: "last" }),
      patching.getActPatchAttnOut(model, corrupted, cleanCache, asyncMetric, { fast: false }),
      model.runWithHooks(tokens, { fwdHooks }),
    ]);
    expect(maxDiff(resid, residSeq)).toBe(0);
    expect(maxDiff(z, zSeq)).toBe(0);
    expect(maxDiff(naive, naiveSeq)).toBe(0);
    expect(maxDiff(ablated, ablatedSeq)).toBe(0);
  });

  it("steered runs and generations (their hooks belong to the call) overlapping plain ones", async () => {
    const prompt = row(tokens, 0).narrow(1, 0, 5);
    const opts = { maxNewTokens: 5, doSample: false };
    const vector = randn([64], { generator: new Generator(1) }).mul(8);
    const spec = { hook: "blocks.1.hook_resid_pre", vector, coeff: 1, positions: [1, 2] };
    const plainSeq = (await model.generate(prompt, opts)) as Tensor;
    const steeredSeq = (await generateWithSteering(model, prompt, spec, opts)) as Tensor;
    const logitsSeq = await runWithSteering(model, tokens, spec);
    const forwardSeq = await model.forward(tokens);
    expect(maxDiff(logitsSeq, forwardSeq)).toBeGreaterThan(0);
    const [plain, steered, logits, fwd] = await Promise.all([
      model.generate(prompt, { ...opts, fwdHooks: [["blocks.0.hook_resid_pre", slow]] }) as Promise<Tensor>,
      generateWithSteering(model, prompt, spec, opts) as Promise<Tensor>,
      runWithSteering(model, tokens, spec),
      model.forward(tokens),
    ]);
    expect(maxDiff(plain, plainSeq)).toBe(0);
    expect(maxDiff(steered, steeredSeq)).toBe(0);
    expect(maxDiff(logits, logitsSeq)).toBe(0);
    expect(maxDiff(fwd, forwardSeq)).toBe(0);
  });

  it("model.addHook hooks stay shared: every run sees them", async () => {
    const seen: number[] = [];
    const counter: HookFn = (act) => {
      seen.push(act.shape[0]!);
    };
    model.addHook("blocks.0.hook_resid_pre", counter);
    try {
      await Promise.all([model.forward(row(tokens, 0)), model.runWithCache(tokens)]);
    } finally {
      model.resetHooks();
    }
    expect(seen.sort()).toEqual([1, 2]);
  });
});
