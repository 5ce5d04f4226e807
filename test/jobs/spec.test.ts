// Job specs (validation with typed errors), shard plans, the tasks, and the exact merge — all in this process.
import { describe, expect, it } from "vitest";
import { HookedTransformer, patching } from "../../src/index.js";
import {
  InProcessExecutor,
  mergeResults,
  planShards,
  ShardResults,
  SpecError,
  validateSpec,
  validateShard,
  getTask,
  loadTaskModules,
  type SweepSpec,
} from "../../src/jobs/index.js";
import { TINY } from "./tiny-model.js";

describe("job specs", () => {
  const good = {
    model: { name: "toy-ioi" },
    task: { name: "ioi", pairs: 4, seed: 1 },
    sweep: ["resid_pre", "head_out"],
  };

  it("accepts a good spec and keeps its fields", () => {
    expect(validateSpec({ ...good, shard: { pairsPerShard: 2 }, maxRows: 512 })).toEqual({
      ...good,
      shard: { pairsPerShard: 2 },
      maxRows: 512,
    });
  });

  it.each([
    [{ ...good, sweep: ["resid_pree"] }, /sweep: unknown grid "resid_pree" \(known: resid_pre,/],
    [{ ...good, sweep: [] }, /sweep: expected a non-empty list/],
    [{ ...good, sweep: ["head_out", "head_out"] }, /"head_out" is listed twice/],
    [{ ...good, task: { name: "ioi", pairs: 0 } }, /task.pairs: expected an integer from 1/],
    [{ ...good, task: { name: "ioi", pairs: 2.5 } }, /task.pairs: expected an integer/],
    [{ ...good, task: { name: "ioi" } }, /task.pairs: expected an integer/],
    [{ ...good, model: { name: "" } }, /model.name: expected a non-empty string/],
    [
      { ...good, model: { name: "toy-ioi", processing: { foldLn: "yes" } } },
      /model.processing.foldLn: expected true or false/,
    ],
    [{ ...good, model: { name: "toy-ioi", processing: { fold: true } } }, /model.processing: unknown field "fold"/],
    [{ ...good, shard: { pairsPerShard: -1 } }, /shard.pairsPerShard: expected an integer from 1/],
    [{ ...good, extra: 1 }, /spec: unknown field "extra"/],
    [{ ...good, model: { random: { seed: 1 } } }, /model.random.config: expected a JSON object/],
    ["toy-ioi", /spec: expected an object, got the string/],
    [null, /spec: expected an object, got null/],
  ])("refuses %j", (spec, message) => {
    expect(() => validateSpec(spec)).toThrow(SpecError);
    expect(() => validateSpec(spec)).toThrow(message);
  });

  it("plans shards by grid, then by pair range, the last range shorter", () => {
    const spec = validateSpec({ ...good, task: { name: "ioi", pairs: 5 }, shard: { pairsPerShard: 2 } });
    expect(planShards(spec).map((s) => s.id)).toEqual([
      "resid_pre.0-2",
      "resid_pre.2-4",
      "resid_pre.4-5",
      "head_out.0-2",
      "head_out.2-4",
      "head_out.4-5",
    ]);
  });

  it("refuses shards outside the task's pairs", () => {
    expect(validateShard({ kind: "head_out", start: 2, end: 4 }, 4)).toEqual({
      id: "head_out.2-4",
      kind: "head_out",
      start: 2,
      end: 4,
    });
    expect(() => validateShard({ kind: "head_out", start: 2, end: 5 }, 4)).toThrow(
      /shard.end: expected an integer from 3 to 4/,
    );
    expect(() => validateShard({ kind: "heads", start: 0, end: 1 }, 4)).toThrow(/shard.kind: unknown grid "heads"/);
  });

  it("refuses unknown tasks and task options with SpecError", async () => {
    const ex = new InProcessExecutor();
    await expect(ex.run(validateSpec({ ...good, task: { name: "ioi2", pairs: 2 } }))).rejects.toThrow(
      /unknown task "ioi2" \(registered: ioi, induction/,
    );
    await expect(
      ex.run(
        validateSpec({
          model: TINY,
          task: { name: "induction", pairs: 2, options: { seqLen: 1 } },
          sweep: ["head_out"],
        }),
      ),
    ).rejects.toThrow(/task.options.seqLen: expected an integer from 2/);
    await expect(
      ex.run(
        validateSpec({ model: TINY, task: { name: "induction", pairs: 2, options: { len: 4 } }, sweep: ["head_out"] }),
      ),
    ).rejects.toThrow(/"induction" has no option "len"/);
    await expect(
      ex.run(validateSpec({ model: TINY, task: { name: "ioi", pairs: 2 }, sweep: ["head_out"] })),
    ).rejects.toThrow(/needs a model with the GPT-2 vocabulary/);
  });
});

describe("merge", () => {
  const spec = validateSpec({
    model: TINY,
    task: { name: "induction", pairs: 3 },
    sweep: ["head_out"],
    shard: { pairsPerShard: 2 },
  });
  const plan = planShards(spec);
  const r = (id: string, start: number, end: number, values: number[]) => ({
    id,
    kind: "head_out" as const,
    start,
    end,
    shape: [2, 2],
    values,
  });

  it("is the pair-weighted mean in shard order, whatever order results arrive in, keeping a shard's first result", () => {
    const a = new ShardResults();
    expect(a.add(r("head_out.2-3", 2, 3, [3, 0.1, 1, 7]))).toBe(true);
    expect(a.add(r("head_out.0-2", 0, 2, [0, 0.2, 1, 1]))).toBe(true);
    expect(a.add(r("head_out.0-2", 0, 2, [9, 9, 9, 9]))).toBe(false); // a late duplicate
    const merged = mergeResults(spec, plan, a).grids.head_out!;
    expect(merged.shape).toEqual([2, 2]);
    expect(merged.values).toEqual([(2 * 0 + 3) / 3, (2 * 0.2 + 0.1) / 3, (2 * 1 + 1) / 3, (2 * 1 + 7) / 3]);
  });

  it("refuses to merge with a shard missing", () => {
    const a = new ShardResults();
    a.add(r("head_out.0-2", 0, 2, [0, 0, 0, 0]));
    expect(() => mergeResults(spec, plan, a)).toThrow(/shard head_out.2-3 has no result/);
  });
});

describe("in-process sweeps", () => {
  it("one shard of every pair equals the patching functions called directly on the IOI pairs", async () => {
    const spec: SweepSpec = validateSpec({
      model: { name: "toy-ioi" },
      task: { name: "ioi", pairs: 4, seed: 1 },
      sweep: ["resid_pre", "head_out"],
      shard: { pairsPerShard: 4 },
    });
    const result = await new InProcessExecutor().run(spec);
    const model = await HookedTransformer.fromPretrained("toy-ioi");
    const block = getTask("ioi").build(model, 4, {}, 1).block(0, 4);
    const [, cache] = await model.runWithCache(block.clean);
    const opts = { metricPositions: block.metricPositions, progressBar: false };
    const resid = await patching.getActPatchResidPre(model, block.corrupted, cache, block.metric, opts);
    const heads = await patching.getActPatchAttnHeadOutAllPos(model, block.corrupted, cache, block.metric, opts);
    expect(result.grids.resid_pre!.shape).toEqual(resid.shape);
    expect(result.grids.resid_pre!.values).toEqual(Array.from(resid.dataSync()));
    expect(result.grids.head_out!.values).toEqual(Array.from(heads.dataSync()));
    // patches change the metric by different amounts: the grid is not constant
    expect(new Set(result.grids.head_out!.values).size).toBeGreaterThan(1);
  });

  it("runs a task registered by a user module, and reports progress with an ETA", async () => {
    await loadTaskModules(["test/jobs/fixtures/tasks.ts"]);
    const spec = validateSpec({
      model: TINY,
      task: { name: "induction-ends", pairs: 4, seed: 2, options: { seqLen: 4 } },
      sweep: ["head_out"],
      shard: { pairsPerShard: 2 },
    });
    const seen: [number, number, boolean][] = [];
    const r = await new InProcessExecutor().run(spec, {
      onProgress: (p) => seen.push([p.done, p.total, p.etaMs !== null]),
    });
    expect(seen).toEqual([
      [1, 2, true],
      [2, 2, true],
    ]);
    expect(r.grids.head_out!.shape).toEqual([2, 2]);
    expect(r.grids.head_out!.values.every(Number.isFinite)).toBe(true);
  });
});
