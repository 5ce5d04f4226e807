// Opens a command's offline report (dir/index.html) in headless Chromium and waits until every figure has drawn,
// recording console errors and network requests; the CLI tests then assert on the page.
import { join } from "node:path";
import type { Page } from "playwright-core";
import { viz } from "../../src/index.js";

export interface OfflineReport {
  page: Page;
  /** The file:// address of the report. */
  url: string;
  /** Console errors and uncaught page errors. */
  errors: string[];
  /** Every URL the page requested (the report itself included). */
  requests: string[];
  /** data-rendered of each [data-tlens-item], in document order. */
  states: (string | null)[];
}

/** Runs `check` on dir/index.html once every figure has drawn; the browser is closed afterwards, whatever happens. */
export async function withOfflineReport(dir: string, check: (report: OfflineReport) => Promise<void>): Promise<void> {
  const browser = await viz.launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => requests.push(r.url()));
    const url = `file://${join(dir, "index.html")}`;
    await page.goto(url);
    await page.waitForFunction(
      () => Array.from(document.querySelectorAll("[data-tlens-item]")).every((e) => e.hasAttribute("data-rendered")),
      undefined,
      { timeout: 60_000 },
    );
    const states = await page.$$eval("[data-tlens-item]", (els) => els.map((e) => e.getAttribute("data-rendered")));
    await check({ page, url, errors, requests, states });
  } finally {
    await browser.close();
  }
}
