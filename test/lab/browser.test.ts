// The lab page driven in headless Chromium (playwright-core, the system's Chromium), in both modes — the server
// computes, or the model runs in the page ("run in browser": the lab worker of the browser bundle) — through the same
// flows: type a prompt and run it, see the tokens, predictions, attention pattern, logit lens and DLA; run a patching
// sweep and see progress then a heatmap; attribution patching and its circuit; IOI prompts; errors shown in the page;
// cancel. No console errors, no request leaves the lab. In browser mode the server's model API gets no request at all, the page is cross-origin isolated and
// its predictions equal the server's.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBrowser } from "../../scripts/build-browser.mjs";
import * as viz from "../../src/viz/index.js";
import type { LabServer } from "../../src/lab/server.js";
import { validateAttribution, validateRun } from "../../src/lab/validate.js";
import { TOY_IOI_DIR } from "../browser/harness.js";
import { LONG_PATCH, startToyLab, toyLab } from "./helpers.js";

const PROMPT = "When John and Mary went to the park, Mary gave a ball to";

// locally without Chromium these are skipped; in CI (.ci/run installs it) they always run
const MODES = ["server", "browser"] as const;
type Mode = (typeof MODES)[number];

/** The bundle has wasm kernels where the toolchain builds them (CI installs it); else the page runs on JS. */

describe("the lab in headless Chromium", () => {
  let lab: LabServer;
  let browser: Browser;
  const bundle = mkdtempSync(path.join(tmpdir(), "tlens-lab-bundle-"));
  /** Requests to the model API (every POST /api/...) the server has received. */
  let modelRequests = 0;
  beforeAll(async () => {
    // the browser bundle, built as test/browser builds it (a fresh clone has none)
    [, browser] = await Promise.all([buildBrowser({ outdir: bundle }), viz.launchChromium()]);
    lab = await startToyLab({ browser: { bundleDir: bundle, model: { dir: TOY_IOI_DIR } } });
    lab.server.on("request", (req: { method?: string; url?: string }) => {
      if (req.method === "POST" && req.url?.startsWith("/api/")) modelRequests++;
    });
  });
  afterAll(async () => {
    await browser?.close();
    await lab?.close();
    rmSync(bundle, { recursive: true, force: true });
  });

  /** The page in `mode`, loaded and ready; `errors` collects console errors and page errors, `foreign` requests elsewhere. */
  async function open(mode: Mode = "server"): Promise<{ page: Page; errors: string[]; foreign: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => {
      if (!r.url().startsWith(`${lab.url}/`)) foreign.push(r.url());
    });
    await page.goto(`${lab.url}/${mode === "browser" ? "?mode=browser" : ""}`);
    await page.waitForSelector("body[data-ready='1']");
    expect(await page.textContent("[data-testid=compute-mode]")).toMatch(
      mode === "server" ? /^server$/ : /^browser \(wasm, \d threads?\)$/,
    );
    expect(await page.isChecked("[data-testid=run-in-browser]")).toBe(mode === "browser");
    return { page, errors, foreign };
  }

  const rendered = (testid: string): string => `[data-testid=${testid}][data-rendered='1']`;

  describe.each(MODES)("%s mode", (mode) => {
    /** Runs `flow`; in browser mode the server's model API must get no request meanwhile (the page computed). */
    async function computedHere<T>(flow: () => Promise<T>): Promise<T> {
      const before = modelRequests;
      const r = await flow();
      if (mode === "browser") expect(modelRequests - before, "requests to the server's model API").toBe(0);
      else expect(modelRequests).toBeGreaterThan(before);
      return r;
    }

    it("type a prompt, run: tokens with ids, top predictions, the attention pattern, logit lens and DLA", () =>
      computedHere(async () => {
        const { page, errors, foreign } = await open(mode);
        expect(await page.textContent("#model-info")).toContain("toy-ioi: 4 layers × 4 heads");
        await page.fill("[data-testid=prompt-input]", PROMPT);
        await page.click("[data-testid=run-button]");
        await page.waitForSelector(rendered("attention-pattern"));
        const expected = await (await toyLab()).run(validateRun((await toyLab()).model, { prompt: PROMPT }));
        const tokens = await page.$$eval("[data-testid=token]", (els) =>
          els.map((e) => [e.childNodes[0]!.textContent, (e as HTMLElement).dataset.id]),
        );
        expect(tokens).toEqual(expected.tokens.map((t) => [t.text, String(t.id)]));
        const rows = await page.$$eval("[data-testid=top-predictions] tbody tr", (trs) =>
          trs.map((tr) => Array.from(tr.querySelectorAll("td"), (td) => td.textContent)),
        );
        expect(rows).toHaveLength(10);
        expect(rows[0]!.slice(1, 4)).toEqual([
          expected.predictions[0]!.text,
          String(expected.predictions[0]!.id),
          expected.predictions[0]!.prob.toFixed(4),
        ]);
        // the probabilities as computed (unrounded) equal the server's LabModel's
        const probs = await page.$$eval("[data-testid=top-predictions] tbody tr", (trs) =>
          trs.map((tr) => Number((tr as HTMLElement).dataset.prob)),
        );
        expect(rows.map((r) => r[2])).toEqual(expected.predictions.map((p) => String(p.id)));
        probs.forEach((p, i) =>
          expect(Math.abs(p - expected.predictions[i]!.prob), `prediction ${i}`).toBeLessThanOrEqual(1e-4),
        );
        // the attention viewer: one thumbnail per head, a drawn (non-blank) pattern
        expect(await page.$$eval("[data-testid=attention-pattern] .tlv-thumb", (e) => e.length)).toBe(4);
        const inked = await page.$eval("[data-testid=attention-pattern] .tlv-big canvas", (c) => {
          const canvas = c as HTMLCanvasElement;
          const d = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i] !== 255 || d[i + 1] !== 255 || d[i + 2] !== 255) n++;
          return n;
        });
        expect(inked).toBeGreaterThan(100);
        // logit lens and DLA for the top prediction, drawn by plotly
        await page.waitForSelector(rendered("logit-lens"));
        await page.waitForSelector(rendered("dla-heads"));
        expect(await page.$$eval("[data-testid=logit-lens] .scatterlayer .trace", (e) => e.length)).toBe(1);
        expect(await page.$$eval("[data-testid=dla-heads] .heatmaplayer .hm", (e) => e.length)).toBe(1);
        expect(await page.textContent("[data-testid=dla-heads] .gtitle")).toContain(expected.predictions[0]!.text);
        // another layer and one head
        await page.selectOption("#att-layer", "2");
        await page.selectOption("#att-head", "1");
        await page.waitForFunction(
          () => document.querySelector("[data-testid=attention-pattern] h4")?.textContent === "Head L2H1",
        );
        expect(await page.$$eval("[data-testid=attention-pattern] .tlv-thumb", (e) => e.length)).toBe(1);
        // a prediction clicked becomes the logit lens token
        await page.click("[data-testid=top-predictions] tbody tr:nth-child(2)");
        await page.waitForFunction(
          (t) => (document.querySelector("[data-testid=logit-lens] .gtitle")?.textContent ?? "").includes(t),
          JSON.stringify(expected.predictions[1]!.text),
        );
        expect(await page.textContent("[data-testid=error]")).toBe("");
        expect(errors).toEqual([]);
        expect(foreign).toEqual([]);
        await page.close();
      }));

    it("shows request errors in the page", () =>
      computedHere(async () => {
        const { page, errors } = await open(mode);
        await page.fill("[data-testid=prompt-input]", "   ");
        await page.click("[data-testid=run-button]");
        await page.waitForFunction(() => document.querySelector("[data-testid=error]")?.textContent !== "");
        expect(await page.textContent("[data-testid=error]")).toBe("prompt is empty: type some text");
        await page.fill("[data-testid=prompt-input]", PROMPT);
        await page.click("[data-testid=run-button]");
        await page.waitForSelector(rendered("dla-heads"));
        expect(await page.textContent("[data-testid=error]")).toBe("");
        await page.fill("#lens-token", " Mary Jane");
        await page.click("#lens-run");
        await page.waitForFunction(() => document.querySelector("[data-testid=error]")?.textContent !== "");
        expect(await page.textContent("[data-testid=error]")).toMatch(/token " Mary Jane" is not a single token/);
        await page.fill("#patch-corrupted", "Too short");
        await page.click("#patch-run");
        await page.waitForFunction(() =>
          (document.querySelector("[data-testid=error]")?.textContent ?? "").includes("same number of tokens"),
        );
        expect(await page.textContent("#patch-status")).toBe("failed");
        // the browser logs a failed request (4xx) as a console error; nothing else may appear
        expect(errors.filter((e) => (mode === "server" && /status of 400/.test(e) ? false : true))).toEqual([]);
        await page.close();
      }));

    it("a patching sweep shows its progress, then the heatmap; the IOI prompts feed it", () =>
      computedHere(async () => {
        const { page, errors, foreign } = await open(mode);
        await page.click("#patch-run");
        await page.waitForSelector(rendered("patching-result"));
        const progress = await page.$eval("[data-testid=patching-progress]", (p) => {
          const el = p as HTMLProgressElement;
          return { value: el.value, max: el.max, events: Number(el.dataset.events) };
        });
        expect(progress.max).toBe(4 * 15); // resid_pre: layers × positions
        expect(progress.value).toBe(progress.max);
        expect(progress.events).toBeGreaterThan(0);
        expect(await page.textContent("#patch-status")).toMatch(/^done: metric clean [\d.]+, corrupted -?[\d.]+$/);
        expect(await page.$$eval("[data-testid=patching-result] .heatmaplayer .hm", (e) => e.length)).toBe(1);
        expect(await page.$$eval("[data-testid=patching-result] .xtick", (e) => e.length)).toBeGreaterThan(5);

        await page.click("#ioi-run");
        await page.waitForSelector("[data-testid=ioi-prompts] li");
        expect(await page.$$eval("[data-testid=ioi-prompts] li", (e) => e.length)).toBe(8);
        await page.click("[data-testid=ioi-prompts] li:first-child button");
        await page.waitForSelector(rendered("dla-heads"));
        const clean = await page.inputValue("#patch-clean");
        expect(await page.inputValue("[data-testid=prompt-input]")).toBe(clean);
        await page.selectOption("#patch-kind", "head_out");
        await page.click("#patch-run");
        await page.waitForFunction(() =>
          (document.querySelector("[data-testid=patching-result] .gtitle")?.textContent ?? "").includes("Head outputs"),
        );
        expect(await page.$eval("[data-testid=patching-progress]", (p) => (p as HTMLProgressElement).max)).toBe(16);
        expect(errors).toEqual([]);
        expect(foreign).toEqual([]);
        await page.close();
      }));

    it("attribution patching of the prompt pair: two heatmaps and the EAP-IG circuit, equal to the lab's numbers", () =>
      computedHere(async () => {
        const { page, errors, foreign } = await open(mode);
        await page.fill("#attr-top", "30");
        await page.click("#attr-run");
        await page.waitForSelector(rendered("attribution-circuit"));
        await page.waitForSelector(rendered("attribution-heads"));
        const body = {
          clean: await page.inputValue("#patch-clean"),
          corrupted: await page.inputValue("#patch-corrupted"),
          answer: await page.inputValue("#patch-answer"),
          other: await page.inputValue("#patch-other"),
          circuit: "eap-ig",
          topN: 30,
        };
        const want = await (await toyLab()).attribution(validateAttribution((await toyLab()).model, body));
        expect(await page.textContent("#attr-status")).toBe(
          `done: metric clean ${want.clean.toFixed(3)}, corrupted ${want.corrupted.toFixed(3)}; ` +
            `479 edges scored, ${want.circuitEdges} in the circuit`,
        );
        for (const id of ["attribution-resid", "attribution-heads"])
          expect(await page.$$eval(`[data-testid=${id}] .heatmaplayer .hm`, (e) => e.length), id).toBe(1);
        expect(await page.textContent("[data-testid=attribution-heads] .gtitle")).toContain("head outputs");
        expect(await page.$$eval("[data-testid=attribution-circuit] [data-node]", (e) => e.length)).toBeGreaterThan(10);
        expect(await page.$$eval("[data-testid=attribution-circuit] [data-edge]", (e) => e.length)).toBeGreaterThan(
          want.circuitEdges,
        );
        // without a circuit the viewer is cleared
        await page.selectOption("#attr-circuit", "none");
        await page.click("#attr-run");
        await page.waitForFunction(() =>
          /^done: metric clean [-\d.]+, corrupted [-\d.]+$/.test(
            document.querySelector("#attr-status")?.textContent ?? "",
          ),
        );
        expect(await page.$$eval("[data-testid=attribution-circuit] [data-edge]", (e) => e.length)).toBe(0);
        expect(await page.textContent("[data-testid=error]")).toBe("");
        expect(errors).toEqual([]);
        expect(foreign).toEqual([]);
        await page.close();
      }));
  });

  it("server mode, cancel: a sweep waiting for the model is dropped and never runs", async () => {
    const { page, errors } = await open();
    const before = lab.queue.stats;
    let release!: () => void;
    const holding = lab.queue.submit(
      () =>
        new Promise<void>((r) => {
          release = r;
        }),
    );
    await page.click("#patch-run");
    await page.waitForFunction(() => document.querySelector("#patch-status")?.textContent === "waiting for the model…");
    await expect.poll(() => lab.queue.stats.queued).toBe(1);
    expect(await page.isEnabled("#patch-cancel")).toBe(true);
    await page.click("#patch-cancel");
    await page.waitForFunction(() => document.querySelector("#patch-status")?.textContent === "cancelled");
    await expect.poll(() => lab.queue.stats.queued).toBe(0);
    release();
    await holding;
    expect(lab.queue.stats.cancelled).toBe(before.cancelled + 1);
    expect(lab.queue.stats.completed).toBe(before.completed + 1); // only the holding job
    expect(await page.isEnabled("#patch-run")).toBe(true);
    expect(await page.getAttribute("[data-testid=patching-result]", "data-rendered")).toBeNull();
    expect(errors).toEqual([]);
    await page.close();
  });

  it("browser mode: the page is cross-origin isolated (threaded wasm) and cancels a running sweep in its worker", async () => {
    const { page, errors, foreign } = await open("browser");
    const before = modelRequests;
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const threads = await page.evaluate(() => Math.min(8, navigator.hardwareConcurrency));
    expect(await page.textContent("[data-testid=compute-mode]")).toBe(
      `browser (wasm, ${threads} thread${threads > 1 ? "s" : ""})`,
    );
    // a long sweep (61 tokens): cancelled after its first progress; the page's worker then answers the next request
    await page.fill("#patch-clean", LONG_PATCH.clean);
    await page.fill("#patch-corrupted", LONG_PATCH.corrupted);
    await page.click("#patch-run");
    await page.waitForSelector("[data-testid=patching-progress][data-events]");
    await page.click("#patch-cancel");
    await page.waitForFunction(() => document.querySelector("#patch-status")?.textContent === "cancelled");
    await page.click("[data-testid=run-button]");
    await page.waitForSelector(rendered("dla-heads"));
    expect(await page.getAttribute("[data-testid=patching-result]", "data-rendered")).toBeNull();
    expect(await page.textContent("[data-testid=error]")).toBe("");
    expect(modelRequests).toBe(before);
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
    // the bundle the page ran: no Node built-in in the lab worker
    expect(readFileSync(path.join(bundle, "tlens-lab-worker.js"), "utf8").match(/["'`]node:[a-z_/]+/g) ?? []).toEqual(
      [],
    );
  });

  it("the switch: loads the model into the page with progress, then sends requests there; unchecked, to the server", async () => {
    const { page, errors } = await open("server");
    const loading: number[] = [];
    await page.exposeFunction("sawLoading", (v: number) => loading.push(v));
    await page.evaluate(() => {
      const bar = document.querySelector<HTMLProgressElement>("[data-testid=browser-loading]")!;
      new MutationObserver(() => {
        if (!bar.hidden) (window as unknown as { sawLoading(v: number): void }).sawLoading(bar.value / bar.max);
      }).observe(bar, { attributes: true });
    });
    await page.check("[data-testid=run-in-browser]");
    await page.waitForFunction(() =>
      document.querySelector("[data-testid=compute-mode]")?.textContent?.startsWith("browser"),
    );
    expect(loading.length).toBeGreaterThan(0); // the download's progress was shown
    expect(await page.isHidden("[data-testid=browser-loading]")).toBe(true);
    let before = modelRequests;
    await page.click("[data-testid=run-button]");
    await page.waitForSelector(rendered("dla-heads"));
    expect(modelRequests).toBe(before);
    await page.uncheck("[data-testid=run-in-browser]");
    expect(await page.textContent("[data-testid=compute-mode]")).toBe("server");
    before = modelRequests;
    await page.click("[data-testid=run-button]");
    await expect.poll(() => modelRequests - before).toBeGreaterThanOrEqual(4); // run, attention, logit lens, DLA
    await page.waitForSelector(rendered("dla-heads"));
    expect(errors).toEqual([]);
    await page.close();
  });

  it("without the wasm kernels the page's worker falls back to the JS backend, with the same numbers", async () => {
    const jsOnly = path.join(bundle, "js-only");
    mkdirSync(jsOnly);
    for (const f of ["tlens-lab-worker.js", "tlens-kernels.js"])
      copyFileSync(path.join(bundle, f), path.join(jsOnly, f));
    const other = await startToyLab({ browser: { bundleDir: jsOnly, model: { dir: TOY_IOI_DIR } } });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      await page.goto(`${other.url}/?mode=browser`);
      await page.waitForSelector("body[data-ready='1']");
      expect(await page.textContent("[data-testid=compute-mode]")).toBe("browser (js)");
      await page.click("[data-testid=run-button]");
      await page.waitForSelector(rendered("dla-heads"));
      const prompt = await page.inputValue("[data-testid=prompt-input]");
      const expected = await (await toyLab()).run(validateRun((await toyLab()).model, { prompt }));
      const probs = await page.$$eval("[data-testid=top-predictions] tbody tr", (trs) =>
        trs.map((tr) => Number((tr as HTMLElement).dataset.prob)),
      );
      probs.forEach((p, i) =>
        expect(Math.abs(p - expected.predictions[i]!.prob), `prediction ${i}`).toBeLessThanOrEqual(1e-4),
      );
      // the only errors: the wasm file the worker asked for is not there (404)
      expect(errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
      await page.close();
    } finally {
      await other.close();
    }
  });

  it("runs the default prompt on load: no empty panels before Run is pressed", async () => {
    const { page, errors } = await open("server");
    // ready is set once the first run is drawn, so the panels are already there
    for (const panel of ["attention-pattern", "logit-lens", "dla-heads"])
      expect(await page.$(rendered(panel)), panel).not.toBeNull();
    const prompt = await page.inputValue("[data-testid=prompt-input]");
    const expected = await (await toyLab()).run(validateRun((await toyLab()).model, { prompt }));
    expect(await page.$$eval("[data-testid=token]", (els) => els.length)).toBe(expected.tokens.length);
    expect(await page.$$eval("[data-testid=top-predictions] tbody tr", (trs) => trs.length)).toBe(
      expected.predictions.length,
    );
    expect(errors).toEqual([]);
    await page.close();
  });

  it("without the bundle the switch is disabled and the page says why", async () => {
    const other = await startToyLab({
      browser: { bundleDir: path.join(bundle, "missing"), model: { dir: TOY_IOI_DIR } },
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${other.url}/?mode=browser`);
      await page.waitForSelector("body[data-ready='1']");
      expect(await page.textContent("[data-testid=error]")).toMatch(
        /^cannot run in the browser: the browser bundle is not built .* run npm run build:browser$/,
      );
      expect(await page.isDisabled("[data-testid=run-in-browser]")).toBe(true);
      expect(await page.isChecked("[data-testid=run-in-browser]")).toBe(false);
      expect(await page.textContent("#browser-note")).toMatch(
        /^run in browser is unavailable: the browser bundle is not built/,
      );
      expect(await page.textContent("[data-testid=compute-mode]")).toBe("server");
      await page.close();
    } finally {
      await other.close();
    }
  });
});
