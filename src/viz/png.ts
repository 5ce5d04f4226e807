// PNG export through headless Chromium (playwright-core drives the system's Chromium; nothing is downloaded).
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { toHtml } from "./html.js";
import { isFigure, isViewer, type Figure, type Item } from "./types.js";
import { VizError } from "./data.js";

const CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
  "/snap/bin/chromium",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
];

/** The Chromium to use: `opts.path`, `$TLENS_CHROMIUM`, or the usual install locations; null when none exists. */
export function findChromium(path?: string): string | null {
  const explicit = path ?? process.env.TLENS_CHROMIUM;
  if (explicit) return existsSync(explicit) ? explicit : null;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-dev-shm-usage",
];

/** A headless Chromium browser from playwright-core (the caller closes it). Clear errors when something is missing. */
export async function launchChromium(opts: { chromiumPath?: string } = {}): Promise<import("playwright-core").Browser> {
  const exe = findChromium(opts.chromiumPath);
  if (!exe) {
    throw new VizError(
      `PNG export needs Chromium, and none was found${(opts.chromiumPath ?? process.env.TLENS_CHROMIUM) ? ` at ${opts.chromiumPath ?? process.env.TLENS_CHROMIUM}` : ""}: ` +
        "install it (Debian/Ubuntu: apt-get install chromium) or set TLENS_CHROMIUM=/path/to/chromium",
    );
  }
  let pw: typeof import("playwright-core");
  try {
    pw = await import("playwright-core");
  } catch {
    throw new VizError("PNG export needs the package playwright-core (npm install playwright-core)");
  }
  return pw.chromium.launch({ executablePath: exe, headless: true, args: CHROMIUM_ARGS });
}

export interface PngOptions {
  /** Size in CSS pixels (default: the figure's layout width/height, else 900×500; viewers: their rendered size). */
  width?: number;
  height?: number;
  /** Device pixel ratio (default 1). */
  scale?: number;
  chromiumPath?: string;
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
}

/** Renders one figure or viewer to PNG bytes in headless Chromium. */
export async function renderPng(item: Figure | Item, opts: PngOptions = {}): Promise<Buffer> {
  if (!isFigure(item) && !isViewer(item))
    throw new VizError("savePng: pass a figure (viz.imshow, ...) or a viewer (viz.attentionHeads, ...)");
  const browser = await launchChromium(opts);
  try {
    const timeout = opts.timeoutMs ?? 60_000;
    const width = opts.width ?? (isFigure(item) && typeof item.layout.width === "number" ? item.layout.width : 900);
    const height = opts.height ?? (isFigure(item) && typeof item.layout.height === "number" ? item.layout.height : 500);
    const page = await browser.newPage({
      viewport: { width: Math.ceil(width) + 40, height: Math.ceil(height) + 40 },
      deviceScaleFactor: opts.scale ?? 1,
    });
    page.setDefaultTimeout(timeout);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    // nothing may leave the page
    await page.route("**/*", (route) => (route.request().url().startsWith("data:") ? route.continue() : route.abort()));
    const sized = isFigure(item) ? { ...item, layout: { ...item.layout, width, height } } : item;
    await page.setContent(
      toHtml([sized as Item], {
        css: "body{margin:0;padding:0;max-width:none}.tlens-figure{margin:0}.tlv{margin:0;display:inline-block}",
      }),
      { waitUntil: "load" },
    );
    await page.waitForSelector("[data-rendered]", { timeout });
    const state = await page.getAttribute("[data-rendered]", "data-rendered");
    if (state === "error" || errors.length)
      throw new VizError(`savePng: the page could not draw the item: ${errors.join("; ") || "render error"}`);
    if (isFigure(item)) {
      const url = await page.evaluate(
        async ({ w, h, s }) => {
          const node = document.querySelector(".tlens-figure") as HTMLElement;
          const P = (window as unknown as { Plotly: { toImage(el: HTMLElement, o: object): Promise<string> } }).Plotly;
          return P.toImage(node, { format: "png", width: w, height: h, scale: s });
        },
        { w: width, h: height, s: opts.scale ?? 1 },
      );
      const comma = url.indexOf(",");
      return Buffer.from(url.slice(comma + 1), "base64");
    }
    const el = await page.$(".tlv");
    if (!el) throw new VizError("savePng: the viewer did not render");
    return await el.screenshot({ type: "png" });
  } finally {
    await browser.close();
  }
}

/** Writes a figure (or viewer) as a PNG file, through headless Chromium. */
export async function savePng(item: Figure | Item, path: string, opts: PngOptions = {}): Promise<void> {
  const png = await renderPng(item, opts);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, png);
}
