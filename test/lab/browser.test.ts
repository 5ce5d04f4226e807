// The lab page driven in headless Chromium (playwright-core, the system's Chromium): type a prompt and run it, see the
// tokens, predictions, attention pattern, logit lens and DLA; run a patching sweep and see progress then a heatmap;
// cancel a sweep; IOI prompts; errors shown in the page. No console errors, no request leaves the lab.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as viz from "../../src/viz/index.js";
import type { LabServer } from "../../src/lab/server.js";
import { validateRun } from "../../src/lab/validate.js";
import { startToyLab, toyLab } from "./helpers.js";

const PROMPT = "When John and Mary went to the park, Mary gave a ball to";

// locally without Chromium these are skipped; in CI (.ci/run installs it) they always run
describe.skipIf(!viz.findChromium() && !process.env.CI)("the lab in headless Chromium", () => {
  let lab: LabServer;
  let browser: Browser;
  beforeAll(async () => {
    [lab, browser] = await Promise.all([startToyLab(), viz.launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await lab?.close();
  });

  /** The page, loaded and ready; `errors` collects console errors and page errors, `foreign` requests elsewhere. */
  async function open(): Promise<{ page: Page; errors: string[]; foreign: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => { if (!r.url().startsWith(`${lab.url}/`)) foreign.push(r.url()); });
    await page.goto(`${lab.url}/`);
    await page.waitForSelector("body[data-ready='1']");
    return { page, errors, foreign };
  }

  const rendered = (testid: string): string => `[data-testid=${testid}][data-rendered='1']`;

  it("type a prompt, run: tokens with ids, top predictions, the attention pattern, logit lens and DLA", async () => {
    const { page, errors, foreign } = await open();
    expect(await page.textContent("#model-info")).toContain("toy-ioi: 4 layers × 4 heads");
    await page.fill("[data-testid=prompt-input]", PROMPT);
    await page.click("[data-testid=run-button]");
    await page.waitForSelector(rendered("attention-pattern"));
    const expected = await (await toyLab()).run(validateRun((await toyLab()).model, { prompt: PROMPT }));
    const tokens = await page.$$eval("[data-testid=token]", (els) => els.map((e) => [e.childNodes[0].textContent, (e as HTMLElement).dataset.id]));
    expect(tokens).toEqual(expected.tokens.map((t) => [t.text, String(t.id)]));
    const rows = await page.$$eval("[data-testid=top-predictions] tbody tr", (trs) => trs.map((tr) => Array.from(tr.querySelectorAll("td"), (td) => td.textContent)));
    expect(rows).toHaveLength(10);
    expect(rows[0].slice(1, 4)).toEqual([expected.predictions[0].text, String(expected.predictions[0].id), expected.predictions[0].prob.toFixed(4)]);
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
    expect(await page.textContent("[data-testid=dla-heads] .gtitle")).toContain(expected.predictions[0].text);
    // another layer and one head
    await page.selectOption("#att-layer", "2");
    await page.selectOption("#att-head", "1");
    await page.waitForFunction(() => document.querySelector("[data-testid=attention-pattern] h4")?.textContent === "Head L2H1");
    expect(await page.$$eval("[data-testid=attention-pattern] .tlv-thumb", (e) => e.length)).toBe(1);
    // a prediction clicked becomes the logit lens token
    await page.click("[data-testid=top-predictions] tbody tr:nth-child(2)");
    await page.waitForFunction((t) => (document.querySelector("[data-testid=logit-lens] .gtitle")?.textContent ?? "").includes(t), JSON.stringify(expected.predictions[1].text));
    expect(await page.textContent("[data-testid=error]")).toBe("");
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it("shows request errors in the page", async () => {
    const { page, errors } = await open();
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
    await page.waitForFunction(() => (document.querySelector("[data-testid=error]")?.textContent ?? "").includes("same number of tokens"));
    expect(await page.textContent("#patch-status")).toBe("failed");
    // the browser logs a failed request (4xx) as a console error; nothing else may appear
    expect(errors.filter((e) => !/status of 400/.test(e))).toEqual([]);
    await page.close();
  });

  it("a patching sweep shows its progress, then the heatmap; the IOI prompts feed it", async () => {
    const { page, errors, foreign } = await open();
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
    await page.waitForFunction(() => (document.querySelector("[data-testid=patching-result] .gtitle")?.textContent ?? "").includes("Head outputs"));
    expect(await page.$eval("[data-testid=patching-progress]", (p) => (p as HTMLProgressElement).max)).toBe(16);
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it("cancel: a sweep waiting for the model is dropped and never runs", async () => {
    const { page, errors } = await open();
    const before = lab.queue.stats;
    let release!: () => void;
    const holding = lab.queue.submit(() => new Promise<void>((r) => { release = r; }));
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
});
