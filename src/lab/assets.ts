// What the server serves for the in-browser mode: the browser bundle's lab worker, its kernel helper and the wasm
// kernels (dist/browser/, `npm run build:browser`), and the loaded model's config.json + model.safetensors (what the
// fetch loader reads), each under a fixed route (static.ts fixedRoutes). Without the bundle, or for a model the page
// cannot load, the mode is unavailable and /api/browser says why.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EMBEDDED_MODELS } from "../model/pretrained.js";
import { resolvePretrainedDir } from "../loading/index.js";
import type { BrowserModeInfo } from "./protocol.js";
import { fixedRoutes } from "./static.js";

/** dist/browser of this package (src/lab/ and dist/lab/ are both two levels below its root). */
export const BUNDLE_DIR = fileURLToPath(new URL("../../dist/browser/", import.meta.url));

export const BUNDLE_ROUTE = "/browser/";
export const MODEL_ROUTE = "/model/";
const LAB_WORKER = "tlens-lab-worker.js";
/** The files the lab worker needs (the wasm kernels are optional: without them it runs on JS). */
const BUNDLE_FILES = [LAB_WORKER, "tlens-kernels.js", "tlens.wasm", "tlens-mt.wasm"];
const MODEL_FILES = ["config.json", "model.safetensors"];

/** A model's folder with config.json + model.safetensors, or null and why the page cannot load the model. */
export type ModelFolder = { dir: string } | { dir: null; note: string };

export interface BrowserAssets {
  /** The browser bundle (dist/browser): the lab worker, the kernel helper, the wasm kernels. */
  bundleDir: string;
  model: ModelFolder;
}

/** The folder of a model as `tlens lab --model` names it (an embedded model, a hub name in the cache, or a path),
 *  when it holds config.json + model.safetensors; otherwise null and why. */
export async function browserModelDir(nameOrPath: string): Promise<ModelFolder> {
  const looksLikePath = /[\\/]/.test(nameOrPath) || nameOrPath.startsWith(".");
  const dir = looksLikePath
    ? nameOrPath
    : ((await resolvePretrainedDir(nameOrPath)) ??
      (EMBEDDED_MODELS.includes(nameOrPath)
        ? fileURLToPath(new URL(`../../models/${nameOrPath}`, import.meta.url))
        : nameOrPath));
  const missing = MODEL_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length === 0) return { dir };
  return {
    dir: null,
    note: `the page loads a model from config.json + model.safetensors; ${nameOrPath} has no ${missing.join(" or ")}`,
  };
}

/** The routes to serve and what /api/browser answers. */
export function browserRoutes(assets: BrowserAssets | undefined): {
  routes: Map<string, string>;
  info: BrowserModeInfo;
} {
  if (!assets)
    return {
      routes: new Map(),
      info: { available: false, reason: "this server was started without the in-browser mode" },
    };
  const bundle = fixedRoutes(BUNDLE_ROUTE, assets.bundleDir, BUNDLE_FILES);
  if (!bundle.has(BUNDLE_ROUTE + LAB_WORKER)) {
    return {
      routes: new Map(),
      info: {
        available: false,
        reason: `the browser bundle is not built (no ${join(assets.bundleDir, LAB_WORKER)}): run npm run build:browser`,
      },
    };
  }
  if (assets.model.dir === null) return { routes: new Map(), info: { available: false, reason: assets.model.note } };
  const model = fixedRoutes(MODEL_ROUTE, assets.model.dir, MODEL_FILES);
  if (model.size !== MODEL_FILES.length) {
    return {
      routes: new Map(),
      info: { available: false, reason: `${assets.model.dir} has no ${MODEL_FILES.join(" + ")}` },
    };
  }
  return {
    routes: new Map([...bundle, ...model]),
    info: { available: true, worker: BUNDLE_ROUTE + LAB_WORKER, model: MODEL_ROUTE },
  };
}
