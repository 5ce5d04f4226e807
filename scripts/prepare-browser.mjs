// Part of `npm install` / `npm ci` (package.json "prepare"): builds the browser bundle into dist/browser (or the
// folder given as the first argument), so the lab's "run in browser" works on a fresh clone. Never fails the
// install: without the wasm toolchain the bundle runs on the JS backend, and if the build itself fails the lab says
// "run in browser: unavailable" with the fix (npm run build:browser) until it is built.
import path from "node:path";
import { buildBrowser } from "./build-browser.mjs";

const outdir = process.argv[2] ? path.resolve(process.argv[2]) : undefined;
try {
  const files = await buildBrowser(outdir ? { outdir } : {});
  console.log(`tlens: browser bundle built (${files.map((f) => path.basename(f)).join(", ")})`);
} catch (e) {
  console.warn(
    `tlens: the browser bundle was not fully built (${e instanceof Error ? e.message.split("\n")[0] : String(e)}); ` +
      "the lab's run in browser may be unavailable until `npm run build:browser` succeeds",
  );
}
