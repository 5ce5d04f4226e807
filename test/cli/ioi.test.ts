// `tlens ioi` as a subprocess on toy-ioi: the report and results.json, their numbers against the library functions
// called directly, and the report in headless Chromium (offline, no errors, every item drawn).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { withOfflineReport } from "./report-page.js";
import { HookedTransformer, detectHead } from "../../src/index.js";
import { ovCopyingScore } from "../../src/analysis/circuits.js";
import { ioiHeadDla } from "../../src/analysis/ioi-circuit.js";
import { makeIoiData } from "../../src/analysis/ioi/index.js";

/** results.json as tlens ioi writes it (ioiResultsJson). */
interface ResultsJson {
  model: { name: string; nLayers: number; nHeads: number };
  dataset: { N: number; seed: number; promptType: string; flip: string; sentences: string[] };
  logit_diff: { clean: number; flipped: number; clean_per_prompt: number[]; clean_accuracy: number };
  logit_lens: { logit_diff: number[] };
  dla_heads: number[][];
  patching: { positions: string[]; resid_pre: number[][]; head_out: number[][] };
  path_patching?: { to_logits: number[][] };
  head_detectors: { previous_token: number[][]; prompts: number };
  copy_scores: { ov_copying: number[][] };
  circuit: { heads: Record<string, string[]>; faithfulness: number; minimality: unknown[] };
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const N = 20;

function tlens(
  args: string[],
  opts: { env?: Record<string, string>; fileSizeLimitKb?: number } = {},
): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env, ...opts.env };
  // a file-size limit (ulimit -f) makes a write fail with EFBIG part-way, as a full disk would
  const r =
    opts.fileSizeLimitKb === undefined
      ? spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
          cwd: ROOT,
          encoding: "utf8",
          timeout: 120_000,
          env,
        })
      : spawnSync(
          "bash",
          [
            "-c",
            `ulimit -f ${opts.fileSizeLimitKb} && exec "$0" --import tsx src/cli/main.ts "$@"`,
            process.execPath,
            ...args,
          ],
          { cwd: ROOT, encoding: "utf8", timeout: 120_000, env },
        );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** stderr of a failed command: exactly one line, no stack trace. */
function expectOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

const close = (a: unknown, b: unknown, tol: number): void => {
  if (Array.isArray(a)) {
    expect(Array.isArray(b) && b.length === a.length, `shape ${JSON.stringify(b)?.slice(0, 60)}`).toBe(true);
    a.forEach((x, i) => close(x, (b as unknown[])[i], tol));
  } else {
    expect(Math.abs((a as number) - (b as number)), `${a} vs ${b}`).toBeLessThanOrEqual(tol);
  }
};

describe("tlens ioi on toy-ioi", () => {
  const out = join(mkdtempSync(join(tmpdir(), "tlens-ioi-")), "report");
  let run: ReturnType<typeof tlens>;
  let results: ResultsJson;
  beforeAll(() => {
    run = tlens(["ioi", "--model", "toy-ioi", "--out", out, "--n", String(N), "--seed", "1"]);
    if (run.status === 0) results = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ResultsJson;
  }, 120_000);

  it("writes index.html and results.json with sane numbers", () => {
    expect(run.stderr).toContain("[1/10]");
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(join(out, "index.html"))).toBe(true);
    const r = results;
    expect(r.model).toMatchObject({ name: "toy-ioi", nLayers: 4, nHeads: 4 });
    expect(r.dataset).toMatchObject({ N, seed: 1, promptType: "mixed", flip: "ABB->XYZ, BAB->XYZ" });
    expect(r.logit_diff.clean).toBeGreaterThan(3); // toy-ioi solves IOI (8.1 on 100 prompts)
    expect(r.logit_diff.clean_accuracy).toBe(1);
    expect(r.logit_diff.clean - r.logit_diff.flipped).toBeGreaterThan(3);
    expect(r.logit_diff.clean_per_prompt).toHaveLength(N);
    expect(r.dla_heads).toHaveLength(4);
    expect((r.dla_heads as number[][]).every((row) => row.length === 4)).toBe(true);
    expect(r.patching.positions).toEqual(["IO", "IO+1", "S1", "S1+1", "punct", "S2", "end"]);
    const resid = r.patching.resid_pre as number[][];
    expect(resid).toHaveLength(4);
    expect(resid.every((row) => row.length === 7)).toBe(true);
    // the whole clean stream at `end` entering the last layer restores nearly everything; at `punct` nothing
    expect(resid[3]![6]).toBeGreaterThan(0.8);
    expect(Math.abs(resid[3]![4]!)).toBeLessThan(0.05);
    expect(r.patching.head_out).toHaveLength(4);
    expect(r.logit_lens.logit_diff.at(-1)).toBeCloseTo(r.logit_diff.clean, 3); // the lens ends with the model's logits
    expect(r.path_patching?.to_logits).toHaveLength(4);
    expect(r.circuit.faithfulness).toBeGreaterThan(0.5); // the found heads carry most of the behaviour
    expect(Object.values(r.circuit.heads).flat().length).toBe(r.circuit.minimality.length);
    for (const v of JSON.stringify(r).match(/-?\d+(\.\d+)?(e-?\d+)?/g) ?? [])
      expect(Number.isFinite(Number(v))).toBe(true);
  });

  it("results.json = the library functions on the same inputs (the patching sweeps: test/analysis/ioi-pipeline.test.ts)", async () => {
    const model = await HookedTransformer.fromPretrained("toy-ioi");
    const data = makeIoiData(model, { n: N, seed: 1 });
    const [logits, cache] = await model.runWithCache(data.cleanTokens);
    const ds = data.dataset;
    const direct = ds.ioTokenIDs.map(
      (io, b) =>
        logits.get(b, ds.wordIdx.end![b]!, io).item() - logits.get(b, ds.wordIdx.end![b]!, ds.sTokenIDs[b]!).item(),
    );
    expect(results.dataset.sentences).toEqual(ds.sentences);
    close(results.logit_diff.clean_per_prompt, direct, 1e-4);
    close(results.dla_heads, ioiHeadDla(model, cache, ds).perHead.toArray(), 1e-5);
    close(results.copy_scores.ov_copying, ovCopyingScore(model).toArray(), 1e-5);
    const prev = await detectHead(model, ds.sentences.slice(0, results.head_detectors.prompts), "previous_token_head");
    close(results.head_detectors.previous_token, prev.toArray(), 1e-5);
  });

  it("the report opens offline in Chromium: every item drawn, no errors, no requests", async () => {
    expect(run.status).toBe(0);
    await withOfflineReport(out, async ({ page, url, errors, requests, states }) => {
      expect(states.length).toBeGreaterThan(15);
      expect(states.every((s) => s === "1")).toBe(true);
      expect(await page.$$eval(".tlv-thumb", (e) => e.length)).toBeGreaterThan(16);
      expect(errors).toEqual([]);
      expect(requests.filter((u) => u !== url)).toEqual([]);
    });
  });
});

describe("tlens command line", () => {
  it("--help documents every command; ioi --help its options; bad options fail", () => {
    const help = tlens(["--help"]);
    expect(help.status).toBe(0);
    for (const cmd of ["ioi", "download", "info"]) expect(help.stderr + help.stdout).toContain(cmd);
    const ioiHelp = tlens(["ioi", "--help"]);
    expect(ioiHelp.status).toBe(0);
    for (const opt of ["--model", "--out", "--n", "--seed", "--device"]) expect(ioiHelp.stdout).toContain(opt);
    const bad = tlens(["ioi", "--n", "zero"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--n needs an integer");
    const missing = tlens(["ioi", "--model", "/nonexistent/model", "--out", join(tmpdir(), "never")]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/tlens ioi: .*nonexistent/);
  });

  it("an unusable --out fails before any work: one line with the fix, exit code 1, no stack trace (unless --verbose / TLENS_DEBUG=1)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tlens-out-"));
    const file = join(dir, "a-file");
    writeFileSync(file, "not a folder");
    const args = ["ioi", "--n", "4", "--no-path-patching"];
    const onFile = tlens([...args, "--out", file]);
    expect(onFile.status).toBe(1);
    expectOneLineError(onFile.stderr, /^tlens ioi: --out .*a-file is a file, not a folder; give a folder path/);
    const below = tlens([...args, "--out", join(file, "report")]);
    expect(below.status).toBe(1);
    expectOneLineError(
      below.stderr,
      /^tlens ioi: --out .*: cannot write there: .*ENOTDIR.*; choose a folder you can write to/,
    );
    expect(readFileSync(file, "utf8")).toBe("not a folder");
    const traced = [
      tlens([...args, "--out", file, "--verbose"]),
      tlens(["--verbose", ...args, "--out", file]),
      tlens([...args, "--out", file], { env: { TLENS_DEBUG: "1" } }),
    ];
    for (const r of traced) {
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^tlens ioi: --out .*is a file/);
      expect(r.stderr).toMatch(/\n\s+at /);
    }
  });

  it("the output files are replaced as one set: a write that fails part-way leaves the old set as it was", () => {
    const out = join(mkdtempSync(join(tmpdir(), "tlens-atomic-")), "report");
    const files = ["index.html", "report.html", "results.json"];
    const first = tlens(["ioi", "--n", "4", "--seed", "1", "--no-path-patching", "--out", out]);
    expect(first.status, first.stderr).toBe(0);
    const old = files.map((f) => readFileSync(join(out, f)));
    // index.html is ~5 MB: with a 2 MB file-size limit its write fails after the first 2 MB
    const failed = tlens(["ioi", "--n", "6", "--seed", "2", "--no-path-patching", "--out", out], {
      fileSizeLimitKb: 2048,
    });
    expect(failed.status).toBe(1);
    files.forEach((f, i) => expect(readFileSync(join(out, f)).equals(old[i]!), `${f} unchanged`).toBe(true));
    expect(readdirSync(out).sort()).toEqual([...files].sort()); // no staged file left behind
    expect(failed.stderr).toMatch(
      /\ntlens ioi: cannot write .*index\.html: .*EFBIG.*; the files already there are unchanged\n$/,
    );
    expect(failed.stderr).not.toMatch(/\n\s+at /);
    const second = tlens(["ioi", "--n", "6", "--seed", "2", "--no-path-patching", "--out", out]);
    expect(second.status, second.stderr).toBe(0);
    expect((JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ResultsJson).dataset).toMatchObject({
      N: 6,
      seed: 2,
    });
    expect(readdirSync(out).sort()).toEqual([...files].sort());
  }, 120_000);
});
