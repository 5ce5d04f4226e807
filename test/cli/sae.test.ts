// `tlens sae` as a subprocess on toy-ioi with the shipped SAE (models/toy-ioi-sae): dashboard.json against the
// library called directly, and the dashboard in headless Chromium (every figure drawn, no console errors, no requests).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
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

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const tlens = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "sae", ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });

describe("tlens sae --model toy-ioi (shipped SAE)", () => {
  const out = join(mkdtempSync(join(tmpdir(), "tlens-sae-cli-")), "dash");
  let run: ReturnType<typeof spawnSync>;
  let json: SaeDashboardData & { sae: string };
  beforeAll(() => {
    run = tlens(["--model", "toy-ioi", "--hook", "blocks.2.hook_resid_pre", "--features", "25,115", "--n", "60", "--seed", "2", "--out", out]);
    if (run.status === 0) json = JSON.parse(readFileSync(join(out, "dashboard.json"), "utf8")) as SaeDashboardData & { sae: string };
  }, 150_000);

  it("writes dashboard.json with the library's activations and densities on the same prompts", async () => {
    expect(run.status, String(run.stderr)).toBe(0);
    const model = await HookedTransformer.fromPretrained("toy-ioi");
    const { sae } = await loadSaeFromDisk(join(ROOT, "models/toy-ioi-sae"));
    const tokens = new IOIDataset({ promptType: "mixed", N: 60, seed: 2, prependBos: true, tokenizer: model.tokenizer! }).toks;
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
        expect(f.top[0].activation).toBeCloseTo(max, 5);
        expect(f.top[0].text).toEqual(f.top[0].tokens.map((t) => model.tokenizer!.idToString(t)));
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
      const top = json.features[0].top;
      expect(await page.$$eval('[data-testid="top-25"] .sae-example', (els) => els.length)).toBe(top.length);
      expect(await page.$$eval('[data-testid="top-25"] .sae-focus', (els) => els.length)).toBe(top.length);
      expect(await page.locator("#feature-115").count()).toBe(1);
      expect(errors).toEqual([]);
      expect(requests.filter((u) => u !== url)).toEqual([]);
    });
  }, 120_000);

  it("refuses bad features, a hook the SAE does not read, and another model without --sae", () => {
    const a = tlens(["--features", "3,x"]);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--features: comma-separated feature indices/);
    const b = tlens(["--hook", "blocks.1.hook_resid_pre", "--n", "4", "--out", join(out, "b")]);
    expect(b.status).toBe(1);
    expect(b.stderr).toMatch(/--hook blocks\.1\.hook_resid_pre, but the SAE reads "blocks\.2\.hook_resid_pre"/);
    const c = tlens(["--model", "gpt2-small", "--out", join(out, "c")]);
    expect(c.status).toBe(1);
    expect(c.stderr).toMatch(/pass --sae/);
  }, 120_000);
});
