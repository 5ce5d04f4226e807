// The lab's SAE panel (`tlens lab --sae`) on toy-ioi with the shipped SAE (models/toy-ioi-sae): the API against the
// SAE encoding the prompt's cached activations directly, its errors, and the panel in headless Chromium (tokens
// highlighted by the feature's activation, the most active features to pick from, the logit effects).
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as viz from "../../src/viz/index.js";
import { LabModel } from "../../src/lab/compute.js";
import type { SaeFeaturesResponse, SaeModeInfo } from "../../src/lab/protocol.js";
import { startLab, type LabServer } from "../../src/lab/server.js";
import { loadSaeFromDisk } from "../../src/sae/formats/saelens.js";
import { logitEffects } from "../../src/sae/features/logit-effects.js";
import type { SAE } from "../../src/sae/sae.js";
import { postJson, startToyLab, toyLab } from "./helpers.js";

const SAE_DIR = fileURLToPath(new URL("../../models/toy-ioi-sae", import.meta.url));
const PROMPT = "When Mary and John went to the store, John gave a drink to";

describe("the lab's SAE panel", () => {
  let sae: SAE;
  let lab: LabServer;
  let bare: LabServer;
  /** the SAE's activations on PROMPT [pos, d_sae], encoded here from a fresh run */
  let acts: number[][];
  beforeAll(async () => {
    const model = (await toyLab()).model;
    sae = (await loadSaeFromDisk(SAE_DIR)).sae;
    lab = await startLab(new LabModel(model, "toy-ioi", sae));
    bare = await startToyLab();
    const [, cache] = await model.runWithCache(model.toTokens(PROMPT), { namesFilter: [sae.cfg.hookName] });
    acts = (await sae.encode(cache.get(sae.cfg.hookName))).get(0).toArray() as number[][];
  });
  afterAll(async () => {
    await lab?.close();
    await bare?.close();
  });

  it("GET /api/sae names the SAE, or says why there is none", async () => {
    const info = (await (await fetch(`${lab.url}/api/sae`)).json()) as SaeModeInfo;
    expect(info).toEqual({ available: true, hookName: "blocks.2.hook_resid_pre", dSae: 512, architecture: "topk" });
    const none = (await (await fetch(`${bare.url}/api/sae`)).json()) as SaeModeInfo;
    expect(none.available).toBe(false);
    const r = await postJson(`${bare.url}/api/sae-features`, { prompt: PROMPT });
    expect(r.status).toBe(404);
    expect(r.json.error).toMatch(/started without an SAE \(tlens lab --sae/);
  });

  it("POST /api/sae-features: the feature's activation at every token, the most active features, logit effects", async () => {
    const { status, json } = await postJson(`${lab.url}/api/sae-features`, { prompt: PROMPT, topK: 5 });
    expect(status).toBe(200);
    const r = json as unknown as SaeFeaturesResponse;
    const nPos = acts.length;
    expect(r.tokens).toHaveLength(nPos);
    // the most active features by their largest activation on the prompt, and where
    const max = acts[0]!.map((_, j) => Math.max(...acts.map((row) => row[j]!)));
    const order = max
      .map((m, j) => [m, j])
      .filter(([m]) => m! > 0)
      .sort((a, b) => b[0]! - a[0]! || a[1]! - b[1]!);
    expect(r.top.map((t) => t.feature)).toEqual(order.slice(0, 5).map(([, j]) => j));
    expect(r.firing).toBe(order.length);
    for (const t of r.top) {
      expect(t.max).toBeCloseTo(max[t.feature]!, 5);
      expect(acts[t.position]![t.feature]).toBeCloseTo(t.max, 5);
    }
    // without `feature`, the most active one
    expect(r.feature).toBe(order[0]![1]);
    r.acts.forEach((a, p) => expect(a).toBeCloseTo(acts[p]![r.feature]!, 5));
    // TopK k 8: at most 8 features fire at any position
    for (const row of acts) expect(row.filter((v) => v > 0).length).toBeLessThanOrEqual(8);
    const fx = logitEffects((await toyLab()).model, sae, r.feature, 10);
    expect(r.logits!.top.map((e) => e.token)).toEqual(fx.top.map((e) => e.token));
    expect(r.logits!.bottom[0]!.effect).toBeCloseTo(fx.bottom[0]!.effect, 5);
    // a chosen feature
    const f = order[3]![1]!;
    const chosen = (await postJson(`${lab.url}/api/sae-features`, { prompt: PROMPT, feature: f }))
      .json as unknown as SaeFeaturesResponse;
    expect(chosen.feature).toBe(f);
    expect(chosen.maxActivation).toBeCloseTo(max[f]!, 5);
  });

  it("refuses a feature out of range and unknown fields", async () => {
    const a = await postJson(`${lab.url}/api/sae-features`, { prompt: PROMPT, feature: 512 });
    expect(a.status).toBe(400);
    expect(a.json.error).toBe("feature must be an integer from 0 to 511, got 512");
    const b = await postJson(`${lab.url}/api/sae-features`, { prompt: PROMPT, layer: 1 });
    expect(b.status).toBe(400);
    expect(b.json.error).toMatch(/unknown field "layer"/);
  });

  describe("in headless Chromium", () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await viz.launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it("runs with the prompt, highlights where the feature fires, and switches feature on a click", async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.setDefaultTimeout(20_000);
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${lab.url}/`);
      await page.waitForSelector("body[data-ready='1']");
      await page.waitForSelector("[data-testid=sae-panel][data-rendered='1']");
      expect(await page.isVisible("[data-testid=sae-panel]")).toBe(true);
      expect(await page.textContent("#sae-hook")).toBe("blocks.2.hook_resid_pre (topk, 512 features)");
      const first = Number(await page.getAttribute("[data-testid=sae-panel]", "data-feature"));
      const shown = await page.$$eval("#sae-tokens .sae-tok", (els) =>
        els.map((e) => Number((e as HTMLElement).dataset.act)),
      );
      expect(shown).toHaveLength(acts.length);
      shown.forEach((a, p) => expect(a).toBeCloseTo(acts[p]![first]!, 5));
      // the token where it fires most is the most highlighted
      const alphas = await page.$$eval("#sae-tokens .sae-tok", (els) =>
        els.map((e) => {
          // Chromium writes an opaque colour as rgb(...): alpha 1
          const parts = /rgba?\(([^)]*)\)/.exec((e as HTMLElement).style.background)?.[1]!.split(",") ?? [];
          return parts.length === 4 ? Number(parts[3]) : parts.length === 3 ? 1 : 0;
        }),
      );
      expect(alphas.indexOf(Math.max(...alphas))).toBe(shown.indexOf(Math.max(...shown)));
      expect(Math.max(...alphas)).toBe(1);
      expect(await page.$$eval("[data-testid=sae-logits] tbody tr", (e) => e.length)).toBe(10);
      // another of the most active features, clicked
      const buttons = await page.$$eval("#sae-top button", (els) =>
        els.map((e) => Number((e as HTMLElement).dataset.feature)),
      );
      expect(buttons[0]).toBe(first);
      await page.click(`#sae-top button[data-feature="${buttons[2]}"]`);
      await page.waitForSelector(`[data-testid=sae-panel][data-feature="${buttons[2]}"][data-rendered='1']`);
      const again = await page.$$eval("#sae-tokens .sae-tok", (els) =>
        els.map((e) => Number((e as HTMLElement).dataset.act)),
      );
      again.forEach((a, p) => expect(a).toBeCloseTo(acts[p]![buttons[2]!]!, 5));
      expect(await page.textContent("[data-testid=error]")).toBe("");
      expect(errors).toEqual([]);
      await page.close();
    }, 60_000);

    it("stays hidden when the lab has no SAE", async () => {
      const page = await browser.newPage();
      await page.goto(`${bare.url}/`);
      await page.waitForSelector("body[data-ready='1']");
      expect(await page.isHidden("[data-testid=sae-panel]")).toBe(true);
      await page.close();
    }, 60_000);
  });
});
