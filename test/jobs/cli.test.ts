// `tlens sweep` and `tlens worker` as subprocesses: the same result file in-process, on a pool and on the queue,
// the figures page, and clear errors for bad specs and flags.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisServer, ROOT, startWorker, stopProcess } from "./helpers.js";

const DIR = mkdtempSync(join(tmpdir(), "tlens-sweep-cli-"));
const SPEC = {
  model: {
    random: {
      seed: 1,
      config: {
        nLayers: 2,
        dModel: 16,
        nHeads: 2,
        dHead: 8,
        dMlp: 32,
        dVocab: 64,
        nCtx: 32,
        actFn: "gelu_new",
        normalizationType: "LNPre",
      },
    },
  },
  task: { name: "induction", pairs: 6, seed: 2, options: { seqLen: 6 } },
  sweep: ["resid_pre", "head_out", "head_out_by_pos"],
  shard: { pairsPerShard: 2 },
};
const SPEC_FILE = join(DIR, "spec.json");
writeFileSync(SPEC_FILE, JSON.stringify(SPEC));

/** Runs tlens asynchronously (a worker subprocess must keep running meanwhile). */
function tlens(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("exit", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("tlens sweep", () => {
  let redis: RedisServer;
  let worker: ChildProcess;
  beforeAll(async () => {
    redis = await RedisServer.start();
    worker = await startWorker(redis.url, "cli", ["--spec", SPEC_FILE]);
  }, 60_000);
  afterAll(async () => {
    await stopProcess(worker);
    await redis?.stop();
  });

  it("writes the same result in-process, with --workers 2 and with --queue, and the figures page", async () => {
    const outs = ["inproc", "pool", "queue"].map((n) => join(DIR, `${n}.json`));
    const html = join(DIR, "figures.html");
    const runs = [
      await tlens(["sweep", SPEC_FILE, "--out", outs[0]!, "--html", html]),
      await tlens(["sweep", SPEC_FILE, "--workers", "2", "--out", outs[1]!]),
      await tlens(["sweep", SPEC_FILE, "--queue", redis.url, "--queue-name", "cli", "--out", outs[2]!]),
    ];
    for (const r of runs) expect(r.status, r.stderr).toBe(0);
    expect(runs[1]!.stderr).toMatch(/shards 9\/9 \(/);
    const texts = outs.map((f) => readFileSync(f, "utf8"));
    expect(texts[1]).toBe(texts[0]);
    expect(texts[2]).toBe(texts[0]);
    const result = JSON.parse(texts[0]!) as {
      nPairs: number;
      grids: Record<string, { axes: string[]; shape: number[]; values: number[] }>;
    };
    expect(result.nPairs).toBe(6);
    expect(result.grids.resid_pre!.shape).toEqual([2, 12]);
    expect(result.grids.head_out!.shape).toEqual([2, 2]);
    expect(result.grids.head_out_by_pos!.axes).toEqual(["layer", "pos", "head"]);
    const page = readFileSync(html, "utf8");
    for (const kind of ["resid_pre", "head_out", "head_out_by_pos"])
      expect(page).toContain(`${kind} patching: induction metric over 6 pairs`);
  }, 180_000);

  it("refuses a bad spec with the field named, and bad flags with the usage", () => {
    const bad = join(DIR, "bad.json");
    writeFileSync(bad, JSON.stringify({ ...SPEC, sweep: ["resid"] }));
    const run = (args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: ROOT, encoding: "utf8" });
    const r = run(["sweep", bad, "--out", join(DIR, "x.json")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^tlens sweep: sweep: unknown grid "resid" \(known: resid_pre/);
    const both = run(["sweep", SPEC_FILE, "--out", "x.json", "--workers", "2", "--queue", "redis://127.0.0.1:1"]);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/give --workers or --queue, not both/);
    const noQueue = run(["worker", "--model", "toy-ioi"]);
    expect(noQueue.status).toBe(2);
    expect(noQueue.stderr).toMatch(/tlens worker: --queue is required/);
  }, 60_000);
});
