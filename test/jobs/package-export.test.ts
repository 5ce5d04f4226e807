// The package exports src/jobs as the namespace `jobs`: a sweep run through it is the sweep of the module itself.
import { describe, expect, it } from "vitest";
import { jobs, TlensError } from "../../src/index.js";
import { InProcessExecutor, SpecError } from "../../src/jobs/index.js";
import { TINY } from "./tiny-model.js";

describe("the jobs namespace", () => {
  it("runs a sweep spec in process, equal to the module's own executor", async () => {
    const spec: jobs.SweepSpec = jobs.validateSpec({
      model: TINY,
      task: { name: "induction", pairs: 2, options: { seqLen: 4 } },
      sweep: ["head_out"],
      shard: { pairsPerShard: 1 },
    });
    expect(jobs.planShards(spec).map((s) => s.id)).toEqual(["head_out.0-1", "head_out.1-2"]);
    const viaPackage = await new jobs.InProcessExecutor().run(spec);
    expect(viaPackage.grids.head_out?.shape).toEqual([2, 2]); // [layer, head]
    expect(JSON.stringify(viaPackage)).toBe(JSON.stringify(await new InProcessExecutor().run(spec)));
  });

  it("refuses a malformed spec with its SpecError, a TlensError", () => {
    expect(jobs.SpecError).toBe(SpecError);
    expect(() =>
      jobs.validateSpec({ model: TINY, task: { name: "induction", pairs: 0 }, sweep: ["head_out"] }),
    ).toThrow(TlensError);
    expect(() => jobs.parseSpec("{")).toThrow(jobs.SpecError);
  });
});
