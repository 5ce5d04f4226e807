// What the browser tests and `npm run bench -- browser` share: the bundle built into a temporary folder, a static
// HTTP server on 127.0.0.1 serving it with a model folder, and a Chromium page opened on it.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../../src/viz/png.js";
import { buildBrowser } from "../../scripts/build-browser.mjs";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
export const TOY_IOI_DIR = path.join(ROOT, "models/toy-ioi");

const TYPES: Record<string, string> = {
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".html": "text/html",
  ".map": "application/json",
};

/** The browser bundle's API, as the page sees it (window.tlens). */
export type TlensModule = typeof import("../../src/browser/index.js");

/** Serves `routes` (URL prefix → folder, longest prefix first) and `/` as `index` (HTML); GET only. */
export async function serveStatic(
  routes: Record<string, string>,
  opts: { isolated?: boolean; index?: string } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const headers: Record<string, string> = opts.isolated
      ? { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" }
      : {};
    if (url.pathname === "/") {
      res.writeHead(200, { ...headers, "Content-Type": "text/html" }).end(opts.index ?? "");
      return;
    }
    const prefix = prefixes.find((p) => url.pathname.startsWith(p));
    const rel = prefix === undefined ? null : decodeURIComponent(url.pathname.slice(prefix.length));
    const file =
      prefix === undefined || rel === null || rel.split("/").includes("..") ? null : path.join(routes[prefix]!, rel);
    if (!file || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404, headers).end("not found");
      return;
    }
    const data = readFileSync(file);
    res
      .writeHead(200, {
        ...headers,
        "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream",
        "Content-Length": data.length,
      })
      .end(data);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface BrowserSession {
  browser: Browser;
  page: Page;
  /** Origin of the static server: /tlens.js, /tlens-worker.js, /tlens.wasm, /models/toy-ioi/... */
  url: string;
  /** Page errors and console errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Builds the bundle (plus `extraEntries`, output name → source, for bench pages), serves it with models/toy-ioi and
 * opens a page that imports each entry as a module onto window (window.tlens, window[name] for the extra ones).
 * `isolated`: served with COOP/COEP, so the page is cross-origin isolated (SharedArrayBuffer: threaded wasm).
 * `models`: more folders to serve (URL prefix → folder).
 */
export async function openBrowserSession(
  opts: { extraEntries?: Record<string, string>; isolated?: boolean; models?: Record<string, string> } = {},
): Promise<BrowserSession> {
  const outdir = mkdtempSync(path.join(tmpdir(), "tlens-browser-"));
  await buildBrowser({ outdir, extraEntries: opts.extraEntries });
  const globals = ["tlens", ...Object.keys(opts.extraEntries ?? {})];
  const imports = globals.map(
    (g) =>
      `import * as ${g.replace(/\W/g, "_")} from "/${g}.js"; window[${JSON.stringify(g)}] = ${g.replace(/\W/g, "_")};`,
  );
  const index = `<!doctype html><meta charset=utf-8><link rel=icon href="data:,"><title>tlens</title><script type=module>${imports.join("\n")}</script>`;
  const server = await serveStatic(
    { "/models/toy-ioi/": TOY_IOI_DIR, ...opts.models, "/": outdir },
    { index, isolated: opts.isolated },
  );
  const browser = await launchChromium();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(`${server.url}/`);
  await page.waitForFunction((names) => names.every((n) => n in window), globals);
  return {
    browser,
    page,
    url: server.url,
    errors,
    close: async () => {
      await browser.close();
      await server.close();
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}
