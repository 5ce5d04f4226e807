// `npm run build:browser`: the browser build in dist/browser — tlens.js (the API, ESM), tlens-worker.js (the model's
// Web Worker), tlens-kernels.js (a helper thread of the threaded kernels), tlens-lab-worker.js (the web lab's in-page
// model, src/lab/worker.ts), tlens.wasm and tlens-mt.wasm (the wasm kernels, one thread and threaded, compiled from
// the C sources by scripts/build-wasm.mjs; without the toolchain, those of an earlier build in build/wasm/, else none:
// pages then run on the JS backend).
//
// esbuild bundles for platform "browser" with no externals, so any Node built-in reachable from the entries fails
// the build. The few Node-only modules the shared code reaches are swapped for browser stand-ins (the "browser" field
// mechanism, kept explicit here); each stand-in is typed against the module it replaces.
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { buildViewer } from "./build-viewer.mjs";
import { buildWasm, WASM_OUT, WASM_VARIANTS, wasmToolchain } from "./build-wasm.mjs";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Node-only module → its browser stand-in (paths from the repository root). */
export const BROWSER_SUBSTITUTES = {
  "src/backend/native.ts": "src/browser/shims/native.ts",
  "src/model/pretrained.ts": "src/browser/pretrained.ts",
  "src/loading/safetensors-file.ts": "src/browser/shims/safetensors-file.ts",
  "src/viz/plotly-source.ts": "src/browser/shims/plotly-source.ts",
  "src/viz/png.ts": "src/browser/shims/png.ts",
};

const substitutes = new Map(
  Object.entries(BROWSER_SUBSTITUTES).map(([from, to]) => [path.join(root, from), path.join(root, to)]),
);

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
export async function buildBrowser({
  outdir = path.join(root, "dist/browser"),
  minify = false,
  extraEntries = {},
} = {}) {
  mkdirSync(outdir, { recursive: true });
  buildViewer(); // src/viz/viewer/bundle.js, which the viz code the entries reach imports
  const extra = Object.fromEntries(Object.entries(extraEntries).map(([name, src]) => [name, path.join(root, src)]));
  await esbuild.build({
    entryPoints: {
      tlens: path.join(root, "src/browser/index.ts"),
      "tlens-worker": path.join(root, "src/browser/worker.ts"),
      "tlens-kernels": path.join(root, "src/browser/kernel-worker.ts"),
      "tlens-lab-worker": path.join(root, "src/lab/worker.ts"),
      ...extra,
    },
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
  const wasm = Object.keys(WASM_VARIANTS);
  if (wasmToolchain()) buildWasm(outdir);
  else if (wasm.every((f) => existsSync(path.join(WASM_OUT, f))))
    for (const f of wasm) copyFileSync(path.join(WASM_OUT, f), path.join(outdir, f));
  else {
    console.warn(
      "tlens: no wasm toolchain and no earlier build in build/wasm: the bundle has no wasm kernels (pages use the JS " +
        "backend); node scripts/build-wasm.mjs --install sets it up",
    );
    wasm.length = 0;
  }
  return ["tlens.js", "tlens-worker.js", "tlens-kernels.js", "tlens-lab-worker.js", ...wasm].map((f) =>
    path.join(outdir, f),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = await buildBrowser({ minify: process.argv.includes("--minify") });
  console.log(`tlens browser build: ${files.map((f) => path.relative(root, f)).join(", ")}`);
}
