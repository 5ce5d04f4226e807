// `npm run build:browser`: the browser build — dist/browser/tlens.js (the API, ESM), dist/browser/tlens-worker.js
// (the Web Worker, ESM) and dist/browser/tlens.wasm (the wasm kernels, native/wasm/tlens.wasm).
//
// esbuild bundles for platform "browser" with no externals, so any Node built-in reachable from the entries fails
// the build. The few Node-only modules the shared code reaches are swapped for browser stand-ins (the "browser" field
// mechanism, kept explicit here); each stand-in is typed against the module it replaces.
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Node-only module → its browser stand-in (paths from the repository root). */
export const BROWSER_SUBSTITUTES = {
  "src/backend/native.ts": "src/browser/shims/native.ts",
  "src/model/pretrained.ts": "src/browser/pretrained.ts",
  "src/loading/safetensors-file.ts": "src/browser/shims/safetensors-file.ts",
  "src/viz/plotly-source.ts": "src/browser/shims/plotly-source.ts",
  "src/viz/png.ts": "src/browser/shims/png.ts",
};

const substitutes = new Map(Object.entries(BROWSER_SUBSTITUTES).map(([from, to]) => [path.join(root, from), path.join(root, to)]));

const substitutePlugin = {
  name: "tlens-browser-substitutes",
  setup(build) {
    // sources import "./x.js" for ./x.ts (NodeNext); resolve relative imports, then swap
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (!args.importer.startsWith(root)) return undefined;
      const target = path.resolve(args.resolveDir, args.path).replace(/\.js$/, ".ts");
      const swapped = substitutes.get(target);
      return swapped ? { path: swapped } : undefined;
    });
  },
};

/** Builds the browser bundle into `outdir` (default dist/browser); `extraEntries` (output name → source, from the
 *  repository root) adds pages of the same build, e.g. the browser bench's. Returns the files written. */
export async function buildBrowser({ outdir = path.join(root, "dist/browser"), minify = false, extraEntries = {} } = {}) {
  mkdirSync(outdir, { recursive: true });
  const extra = Object.fromEntries(Object.entries(extraEntries).map(([name, src]) => [name, path.join(root, src)]));
  await esbuild.build({
    entryPoints: { tlens: path.join(root, "src/browser/index.ts"), "tlens-worker": path.join(root, "src/browser/worker.ts"), ...extra },
    outdir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify,
    sourcemap: true,
    logLevel: "warning",
    plugins: [substitutePlugin],
  });
  copyFileSync(path.join(root, "native/wasm/tlens.wasm"), path.join(outdir, "tlens.wasm"));
  return ["tlens.js", "tlens-worker.js", "tlens.wasm"].map((f) => path.join(outdir, f));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = await buildBrowser({ minify: process.argv.includes("--minify") });
  console.log(`tlens browser build: ${files.map((f) => path.relative(root, f)).join(", ")}`);
}
