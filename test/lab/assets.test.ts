// The in-browser mode's files on the server: GET /api/browser says whether the page can run the model and where its
// files are; the lab worker, kernel helper and wasm kernels of the bundle and the model's config.json +
// model.safetensors are served under fixed routes (nothing else from those folders, no traversal in any spelling),
// with the isolation headers; without the bundle, or for a model folder the page cannot load, the mode is unavailable
// with a reason.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserModelDir } from "../../src/lab/assets.js";
import type { BrowserModeInfo } from "../../src/lab/protocol.js";
import type { LabServer } from "../../src/lab/server.js";
import { fixedRoutes } from "../../src/lab/static.js";
import { TOY_IOI_DIR } from "../browser/harness.js";
import { rawGet, startToyLab } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "tlens-lab-assets-"));
const bundle = join(dir, "bundle");
const model = join(dir, "model");

/** A stand-in bundle (the real one is built by browser.test.ts) and a model folder whose weights are a symlink, as in
 *  a Hugging Face cache; beside them files that must never be served. */
function makeFolders(): void {
  mkdirSync(bundle);
  for (const f of ["tlens-lab-worker.js", "tlens-kernels.js", "tlens.js", "tlens-worker.js", "tlens-lab-worker.js.map"])
    writeFileSync(join(bundle, f), `// ${f}`);
  writeFileSync(join(bundle, "tlens.wasm"), new Uint8Array([0, 97, 115, 109]));
  writeFileSync(join(dir, "secret.txt"), "secret");
  mkdirSync(model);
  writeFileSync(join(model, "config.json"), readFileSync(join(TOY_IOI_DIR, "config.json")));
  symlinkSync(join(TOY_IOI_DIR, "model.safetensors"), join(model, "model.safetensors"));
  writeFileSync(join(model, "notes.json"), "{}");
}

const ISOLATION = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

let lab: LabServer;
beforeAll(async () => {
  makeFolders();
  lab = await startToyLab({ browser: { bundleDir: bundle, model: { dir: model } } });
});
afterAll(async () => {
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function browserInfo(server: LabServer): Promise<BrowserModeInfo> {
  return (await fetch(`${server.url}/api/browser`)).json() as Promise<BrowserModeInfo>;
}

describe("the in-browser mode's files", () => {
  it("GET /api/browser: the worker and the model folder", async () => {
    expect(await browserInfo(lab)).toEqual({
      available: true,
      worker: "/browser/tlens-lab-worker.js",
      model: "/model/",
    });
  });

  it("serves the bundle's files and the model's (the symlinked weights too) with their types and the isolation headers", async () => {
    const worker = await rawGet(lab.port, "/browser/tlens-lab-worker.js");
    expect(worker).toMatchObject({
      status: 200,
      body: "// tlens-lab-worker.js",
      headers: { "content-type": "text/javascript; charset=utf-8", ...ISOLATION },
    });
    expect((await rawGet(lab.port, "/browser/tlens-kernels.js")).status).toBe(200);
    expect((await rawGet(lab.port, "/browser/tlens.wasm")).headers["content-type"]).toBe("application/wasm");
    const config = await rawGet(lab.port, "/model/config.json");
    expect(config).toMatchObject({
      status: 200,
      headers: { "content-type": "application/json; charset=utf-8", ...ISOLATION },
    });
    expect(JSON.parse(config.body).n_layer).toBe(4);
    const weights = await fetch(`${lab.url}/model/model.safetensors`);
    expect(weights.headers.get("content-length")).toBe(
      String(readFileSync(join(TOY_IOI_DIR, "model.safetensors")).length),
    );
    expect(Buffer.from(await weights.arrayBuffer()).equals(readFileSync(join(TOY_IOI_DIR, "model.safetensors")))).toBe(
      true,
    );
    // the page and the API are isolated too
    expect((await rawGet(lab.port, "/")).headers).toMatchObject(ISOLATION);
    expect((await rawGet(lab.port, "/api/info")).headers).toMatchObject(ISOLATION);
  });

  it("nothing else: other bundle files, other model files, and every traversal spelling get 404", async () => {
    const paths = [
      "/browser/tlens.js",
      "/browser/tlens-worker.js",
      "/browser/tlens-lab-worker.js.map",
      "/browser/tlens-mt.wasm",
      "/browser/",
      "/browser",
      "/model/",
      "/model/notes.json",
      "/model/../secret.txt",
      "/browser/../secret.txt",
      "/browser/..%2fsecret.txt",
      "/browser/%2e%2e/secret.txt",
      "/browser/%2E%2E%2Fsecret.txt",
      "/model/%2e%2e%2f%2e%2e%2fpackage.json",
      "/model/..%5csecret.txt",
      "/model/..\\secret.txt",
      "/browser/%252e%252e/secret.txt",
      "/browser//tlens-lab-worker.js",
      "/browser/./tlens-lab-worker.js",
      "/browser/tlens-lab-worker%2ejs",
      "/browser/%74lens-lab-worker.js",
      "/browser/tlens-lab-worker.js%00",
      "/browser/tlens-lab-worker.js/",
      "/model/config.json/..",
      "/model/config.json?x=1",
      "/model/CONFIG.JSON",
      "/model/%c0%ae%c0%ae/secret.txt",
      "/browser/../../../../etc/passwd",
      "/model//etc/passwd",
    ];
    for (const p of paths) {
      const r = await rawGet(lab.port, p);
      expect(r.status, p).toBe(404);
      expect(r.body, p).not.toMatch(/secret|n_layer|tlens\.js|\/\/ tlens/);
    }
    expect((await fetch(`${lab.url}/browser/tlens-lab-worker.js`, { method: "POST" })).status).toBe(404);
  });

  it("fixedRoutes takes plain file names only, and only files that are there", () => {
    expect([...fixedRoutes("/m/", model, ["config.json", "missing.json"]).keys()]).toEqual(["/m/config.json"]);
    expect(() => fixedRoutes("/m/", model, ["../secret.txt"])).toThrow(/not a plain file name/);
  });

  it("unavailable, with the reason, without the bundle or for a model folder the page cannot load", async () => {
    const cases: [Parameters<typeof startToyLab>[0], RegExp][] = [
      [{}, /started without the in-browser mode/],
      [
        { browser: { bundleDir: join(dir, "nothing"), model: { dir: model } } },
        /the browser bundle is not built \(no .*tlens-lab-worker\.js\): run npm run build:browser/,
      ],
      [
        { browser: { bundleDir: bundle, model: await browserModelDir(dir) } },
        /loads a model from config\.json \+ model\.safetensors; .* has no config\.json or model\.safetensors/,
      ],
    ];
    for (const [opts, reason] of cases) {
      const other = await startToyLab(opts);
      try {
        const info = await browserInfo(other);
        expect(info.available).toBe(false);
        expect(info.available ? "" : info.reason).toMatch(reason);
        expect((await rawGet(other.port, "/browser/tlens-lab-worker.js")).status).toBe(404);
        expect((await rawGet(other.port, "/model/config.json")).status).toBe(404);
      } finally {
        await other.close();
      }
    }
    expect(await browserModelDir("toy-ioi")).toEqual({ dir: expect.stringMatching(/models\/toy-ioi$/) });
  });
});
