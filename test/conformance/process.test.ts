// Conformance checks that need a fresh process: the GEMM instruction set, blocking and thread count are fixed
// when the addon loads (TLENS_GEMM_ISA / TLENS_GEMM_KC / TLENS_GEMM_CW / TLENS_NUM_THREADS), so each
// configuration runs matmul cases native vs js in a child; and ops that could hang run under a time limit.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { NATIVE_AVAILABLE, requireNative } from "./util.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");

function runNode(
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], {
      cwd: repo,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

const CONFIGS: Record<string, string>[] = [
  { TLENS_GEMM_ISA: "c" },
  { TLENS_GEMM_ISA: "c", TLENS_GEMM_KC: "5", TLENS_GEMM_CW: "9" },
  { TLENS_GEMM_ISA: "avx2" },
  { TLENS_GEMM_ISA: "avx2", TLENS_GEMM_KC: "3", TLENS_NUM_THREADS: "1" },
  { TLENS_GEMM_ISA: "avx512", TLENS_GEMM_KC: "7", TLENS_GEMM_CW: "40", TLENS_NUM_THREADS: "3" },
];

describe("GEMM configurations (child processes): native vs js", () => {
  it("every instruction set and blocking configuration", async () => {
    if (!requireNative()) return;
    const results = await Promise.all(CONFIGS.map((env) => runNode([path.join(here, "gemm-child.ts")], env, 40_000)));
    const problems: string[] = [];
    results.forEach((r, i) => {
      const label = JSON.stringify(CONFIGS[i]);
      if (r.timedOut) {
        problems.push(`${label}: timed out`);
        return;
      }
      const line = r.stdout.trim().split("\n").pop() ?? "";
      let parsed: { ok: boolean; cases: number; failures: string[] } | null = null;
      try {
        parsed = JSON.parse(line);
      } catch {
        /* reported below */
      }
      if (!parsed) problems.push(`${label}: exit ${r.code}, no result\n${r.stderr.slice(-2000)}`);
      else if (!parsed.ok) problems.push(`${label}: ${parsed.failures.join("\n")}`);
      else expect(parsed.cases).toBeGreaterThan(0);
    });
    if (problems.length) throw new Error(problems.join("\n\n"));
  }, 60_000);
});

describe("ops terminate on empty views over non-empty storage", () => {
  it("softmax / sort / topk / sum / logsumexp / cumsum of empty views (run in a child with a time limit)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tlens-conf-"));
    const script = path.join(dir, "empty-views.ts");
    const src = (p: string): string => JSON.stringify(path.join(repo, p));
    writeFileSync(
      script,
      `
      import { tensor } from ${src("src/tensor/index.ts")};
      import { withBackend } from ${src("src/backend/index.ts")};
      const backends = ${JSON.stringify(NATIVE_AVAILABLE ? ["js", "native"] : ["js"])};
      const base = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      const views = { "rows 2:2": base.get("2:"), "cols 1:1": base.get(":", "1:1"), "1-D 3:3": tensor([1, 2, 3, 4]).get("3:3") };
      const ops = {
        softmax: (t) => t.softmax(-1), logSoftmax: (t) => t.logSoftmax(0), sort: (t) => t.sort(-1).values,
        topk: (t) => t.topk(0, -1).values, sum: (t) => t.sum(-1), clone: (t) => t.clone(), logsumexp: (t) => t.logsumexp(-1),
        cumsum: (t) => t.cumsum(-1), cumsum0: (t) => t.cumsum(0),
      };
      // op-major order, the ops most likely to hang last, so a hang still lets the others run first
      for (const [on, f] of Object.entries(ops)) for (const be of backends) for (const [vn, v] of Object.entries(views)) {
        process.stdout.write(be + " " + on + "(" + vn + ") ");
        try { withBackend(be, () => f(v)); process.stdout.write("ok\\n"); }
        catch (e) { process.stdout.write("threw " + e.name + ": " + e.message + "\\n"); } // only hangs matter here
      }
      console.log("DONE", JSON.stringify(Array.from(base.dataSync())));
    `,
    );
    const r = await runNode([script], {}, 5_000);
    const out = r.stdout.trim();
    const last = out.split("\n").pop();
    if (r.timedOut) throw new Error(`hung at: ${last}`);
    expect(r.stderr.trim(), out).toBe("");
    expect(last).toBe("DONE [1,2,3,4,5,6]");
  }, 30_000);
});
