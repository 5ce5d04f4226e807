// `tlens sae` as a subprocess on toy-ioi with the shipped SAE (models/toy-ioi-sae): dashboard.json against the
// library called directly, and the dashboard in headless Chromium (every figure drawn, no console errors, no requests);
// on stories260K without --sae: an SAE trained on a --text file, saved, and its dashboard over the text's rows.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { withOfflineReport } from "./report-page.js";
import { HookedTransformer } from "../../src/index.js";
import { IOIDataset } from "../../src/datasets/ioi.js";
import type { SaeDashboardData } from "../../src/sae/features/dashboard-data.js";
import { featureDensities } from "../../src/sae/features/distribution.js";
import { featureActivations } from "../../src/sae/features/top-activations.js";
import { loadSaeFromDisk } from "../../src/sae/formats/saelens.js";
import { textTokenRows } from "../../src/sae/train/text-rows.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const STORIES = fileURLToPath(new URL("../../../shared/models/stories260K", import.meta.url));
const tlens = (args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "sae", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
  });

describe("tlens sae --model toy-ioi (shipped SAE)", () => {
  const out = join(mkdtempSync(join(tmpdir(), "tlens-sae-cli-")), "dash");
  let run: ReturnType<typeof spawnSync>;
  let json: SaeDashboardData & { sae: string };
  beforeAll(() => {
    run = tlens([
      "--model",
      "toy-ioi",
      "--hook",
      "blocks.2.hook_resid_pre",
      "--features",
      "25,115",
      "--n",
      "60",
      "--seed",
      "2",
      "--out",
      out,
    ]);
    if (run.status === 0)
      json = JSON.parse(readFileSync(join(out, "dashboard.json"), "utf8")) as SaeDashboardData & { sae: string };
  }, 150_000);

  it("writes dashboard.json with the library's activations and densities on the same prompts", async () => {
    expect(run.status, String(run.stderr)).toBe(0);
    const model = await HookedTransformer.fromPretrained("toy-ioi");
    const { sae } = await loadSaeFromDisk(join(ROOT, "models/toy-ioi-sae"));
    const tokens = new IOIDataset({
      promptType: "mixed",
      N: 60,
      seed: 2,
      prependBos: true,
      tokenizer: model.tokenizer!,
    }).toks;
    expect([json.rows, json.ctx]).toEqual(tokens.shape);
    expect(json.hookName).toBe("blocks.2.hook_resid_pre");
    expect(json.dSae).toBe(512);
    expect(json.features.map((f) => f.feature)).toEqual([25, 115]);
    const dens = await featureDensities(model, sae, tokens);
    expect(json.dead).toBe(dens.dead);
    for (const f of json.features) {
      const fa = await featureActivations(model, sae, tokens, f.feature);
      const max = Math.max(...fa.acts);
      expect(f.maxActivation).toBeCloseTo(max, 5);
      expect(f.density).toBeCloseTo(fa.density, 9);
      expect(json.log10Density[f.feature]).toBeCloseTo(Math.log10(fa.density), 9);
      if (max > 0) {
        expect(f.top[0]!.activation).toBeCloseTo(max, 5);
        expect(f.top[0]!.text).toEqual(f.top[0]!.tokens.map((t) => model.tokenizer!.idToString(t)));
        expect(f.quantiles.reduce((n, g) => n + g.count, 0)).toBe(fa.acts.filter((v) => v > 0).length);
      }
      expect(f.logits!.top.length).toBe(10);
    }
  }, 120_000);

  it("the dashboard renders offline in Chromium with no console errors", async () => {
    expect(run.status).toBe(0);
    await withOfflineReport(out, async ({ page, url, errors, requests, states }) => {
      expect(states.length).toBe(3); // the density histogram and one activation histogram per feature
      expect(states.every((s) => s === "1")).toBe(true);
      const top = json.features[0]!.top;
      expect(await page.$$eval('[data-testid="top-25"] .sae-example', (els) => els.length)).toBe(top.length);
      expect(await page.$$eval('[data-testid="top-25"] .sae-focus', (els) => els.length)).toBe(top.length);
      expect(await page.locator("#feature-115").count()).toBe(1);
      expect(errors).toEqual([]);
      expect(requests.filter((u) => u !== url)).toEqual([]);
    });
  }, 120_000);

  it("refuses bad features, a hook the SAE does not read, and an unreadable --text", () => {
    const a = tlens(["--features", "3,x"]);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--features: comma-separated feature indices/);
    const b = tlens(["--hook", "blocks.1.hook_resid_pre", "--n", "4", "--out", join(out, "b")]);
    expect(b.status).toBe(1);
    expect(b.stderr).toMatch(/--hook blocks\.1\.hook_resid_pre, but the SAE reads "blocks\.2\.hook_resid_pre"/);
    const c = tlens(["--text", join(out, "no-such-file.txt"), "--out", join(out, "c")]);
    expect(c.status).toBe(1);
    expect(c.stderr).toMatch(/cannot read --text .*no-such-file\.txt: ENOENT/);
  }, 120_000);
});

describe("tlens sae on stories260K without --sae: trains one on a --text file", () => {
  const dir = mkdtempSync(join(tmpdir(), "tlens-sae-train-"));
  const out = join(dir, "dash");
  const text = join(dir, "stories.txt");
  const STORY =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. One day, she saw a big red ball in the park. ";
  let run: ReturnType<typeof spawnSync>;
  beforeAll(() => {
    writeFileSync(text, STORY.repeat(40) + "Tom had a small dog. The dog liked to run and jump. ".repeat(40));
    run = tlens([
      "--model",
      STORIES,
      "--text",
      text,
      "--ctx",
      "64",
      "--n",
      "200",
      "--train-tokens",
      "30000",
      "--features",
      "0,5",
      "--out",
      out,
    ]);
  }, 150_000);

  it("saves the trained SAE (a SAELens folder) and the dashboard of it over the text's rows", async () => {
    expect(run.status, String(run.stderr)).toBe(0);
    expect(run.stderr).toMatch(/training a TopK SAE \(k 8, 4× d_model\) at blocks\.2\.hook_resid_pre/);
    const json = JSON.parse(readFileSync(join(out, "dashboard.json"), "utf8")) as SaeDashboardData & {
      sae: string;
      training: { varianceExplained: number; l0: number; deadFraction: number };
    };
    const { sae, sparsity } = await loadSaeFromDisk(join(out, "sae"));
    expect(sae.cfg).toMatchObject({
      architecture: "topk",
      k: 8,
      dIn: 64,
      dSae: 256,
      hookName: "blocks.2.hook_resid_pre",
    });
    expect(sparsity!.shape).toEqual([256]);
    expect(json.sae).toBe("trained: sae/");
    // a real reconstruction at TopK's L0
    expect(json.training.varianceExplained).toBeGreaterThan(0.5);
    expect(json.training.l0).toBeLessThanOrEqual(8);
    // the dashboard is the saved SAE's over the text cut into rows of 64 tokens
    const model = await HookedTransformer.fromPretrained(STORIES);
    const tokens = textTokenRows(model, readFileSync(text, "utf8"), 64);
    expect([json.rows, json.ctx]).toEqual(tokens.shape);
    expect(json.features.map((f) => f.feature)).toEqual([0, 5]);
    const dens = await featureDensities(model, sae, tokens);
    expect(json.dead).toBe(dens.dead);
    for (const f of json.features) {
      const fa = await featureActivations(model, sae, tokens, f.feature);
      expect(f.maxActivation).toBeCloseTo(Math.max(...fa.acts), 4);
      expect(f.density).toBeCloseTo(fa.density, 9);
    }
  }, 120_000);
});
