// `tlens ioi` as a subprocess on toy-ioi: the report and results.json, their numbers against the library functions
// called directly, and the report in headless Chromium (offline, no errors, every item drawn).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  HookedTransformer, detectHead, ovCopyingScore, patching, viz, type ActivationCache, type Tensor,
} from "../../src/index.js";
import { ioiHeadDla, ioiMetric } from "../../src/analysis/ioi-circuit.js";
import { getPathPatchHeadToFinalResidPost } from "../../src/analysis/path-patching.js";
import { getCopyingScores } from "../../src/analysis/copy-scores.js";
import { getCircuitScores } from "../../src/analysis/mean-ablation.js";
import { makeIoiData, restoredFraction, type IoiData, type IoiResults } from "../../src/cli/ioi.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const N = 20;

function tlens(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
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
  let results: IoiResults;
  beforeAll(() => {
    run = tlens(["ioi", "--model", "toy-ioi", "--out", out, "--n", String(N), "--seed", "1"]);
    if (run.status === 0) results = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as IoiResults;
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
    expect(resid[3][6]).toBeGreaterThan(0.8);
    expect(Math.abs(resid[3][4])).toBeLessThan(0.05);
    expect(r.patching.head_out).toHaveLength(4);
    expect(r.logit_lens.logit_diff.at(-1)).toBeCloseTo(r.logit_diff.clean, 3); // the lens ends with the model's logits
    expect(r.path_patching?.to_logits).toHaveLength(4);
    expect(r.circuit.faithfulness).toBeGreaterThan(0.5); // the found heads carry most of the behaviour
    expect(Object.values(r.circuit.heads).flat().length).toBe(r.circuit.minimality.length);
    for (const v of JSON.stringify(r).match(/-?\d+(\.\d+)?(e-?\d+)?/g) ?? []) expect(Number.isFinite(Number(v))).toBe(true);
  });

  describe("results.json = the library functions on the same inputs", () => {
    let model: HookedTransformer;
    let data: IoiData;
    let cache: ActivationCache;
    let clean: number;
    let flipped: number;
    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained("toy-ioi");
      data = makeIoiData(model, { n: N, seed: 1 });
      const [logits, c] = await model.runWithCache(data.cleanTokens);
      cache = c;
      const metric = ioiMetric(model, data.dataset);
      clean = await metric(logits);
      flipped = await metric(await model.forward(data.flippedTokens) as Tensor);
    });

    it("logit differences, DLA per head, copy scores, head detectors", async () => {
      expect(results.dataset.sentences).toEqual(data.dataset.sentences);
      close(results.logit_diff.clean, clean, 1e-5);
      close(results.logit_diff.flipped, flipped, 1e-5);
      close(results.dla_heads, ioiHeadDla(model, cache, data.dataset).perHead.toArray(), 1e-5);
      close(results.copy_scores.ov_copying, ovCopyingScore(model).toArray(), 1e-5);
      const prev = await detectHead(model, data.dataset.sentences.slice(0, results.head_detectors.prompts), "previous_token_head");
      close(results.head_detectors.previous_token, prev.toArray(), 1e-5);
    });

    it("head patching = getActPatchAttnHeadAllPosEvery over all prompts", async () => {
      const every = await patching.getActPatchAttnHeadAllPosEvery(model, data.flippedTokens, cache, restoredFraction(data, clean, flipped),
        { metricPositions: data.endPositions });
      const [z, q, , v, p] = every.unbind(0).map((t) => t.toArray());
      close(results.patching.head_out, z, 2e-4);
      close(results.patching.head_q, q, 2e-4);
      close(results.patching.head_v, v, 2e-4);
      close(results.patching.head_pattern, p, 2e-4);
    });

    it("resid_pre at word positions = a plain hooked run per patch", async () => {
      const labels = results.patching.positions;
      const metric = restoredFraction(data, clean, flipped);
      for (const [layer, word] of [[0, "IO"], [1, "S1+1"], [2, "end"], [3, "S2"]] as const) {
        const pos = data.dataset.wordIdx[word];
        const src = cache.get(`blocks.${layer}.hook_resid_pre`);
        const logits = await model.runWithHooks(data.flippedTokens, {
          fwdHooks: [[`blocks.${layer}.hook_resid_pre`, (x) => { for (let b = 0; b < N; b++) x.set([b, pos[b]], src.get(b, pos[b])); }]],
        });
        close((results.patching.resid_pre as number[][])[layer][labels.indexOf(word)], metric(logits), 2e-4);
      }
    });

    it("copying scores and circuit scores = getCopyingScores / getCircuitScores", async () => {
      const cs = await getCopyingScores(model, { k: 5 });
      close(results.copy_scores.positive, cs.positive.toArray(), 1e-6);
      close(results.copy_scores.negative, cs.negative.toArray(), 1e-6);
      const parse = (n: string): [number, number] => { const m = /^L(\d+)H(\d+)$/.exec(n)!; return [Number(m[1]), Number(m[2])]; };
      const circuit = Object.fromEntries(Object.entries(results.circuit.heads).map(([c, hs]) => [c, hs.map(parse)]));
      const seqPosToKeep = Object.fromEntries(Object.keys(circuit).map((c) => [c, "all"]));
      const [score] = await getCircuitScores(model, [[]], { dataset: data.dataset, meansDataset: data.flipped, circuit, seqPosToKeep });
      close(results.circuit.circuit_score, score, 1e-4);
      close(results.circuit.full_model_score, clean, 1e-4);
    });

    it("path patching to the logits = getPathPatchHeadToFinalResidPost", async () => {
      const r = await getPathPatchHeadToFinalResidPost(model, ioiMetric(model, data.dataset, { clean, corrupted: flipped }),
        { origDataset: data.dataset, newDataset: data.flipped });
      close(results.path_patching!.to_logits, r.scores.toArray(), 1e-4);
    });
  });

  it.skipIf(!viz.findChromium() && !process.env.CI)("the report opens offline in Chromium: every item drawn, no errors, no requests", async () => {
    expect(run.status).toBe(0);
    const browser = await viz.launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("request", (r) => requests.push(r.url()));
      const url = `file://${join(out, "index.html")}`;
      await page.goto(url);
      await page.waitForFunction(() => Array.from(document.querySelectorAll("[data-tlens-item]")).every((e) => e.hasAttribute("data-rendered")), undefined, { timeout: 60_000 });
      const states = await page.$$eval("[data-tlens-item]", (els) => els.map((e) => e.getAttribute("data-rendered")));
      expect(states.length).toBeGreaterThan(15);
      expect(states.every((s) => s === "1")).toBe(true);
      expect(await page.$$eval(".tlv-thumb", (e) => e.length)).toBeGreaterThan(16);
      expect(errors).toEqual([]);
      expect(requests.filter((u) => u !== url)).toEqual([]);
    } finally {
      await browser.close();
    }
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
});
