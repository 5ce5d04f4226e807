// The browser build: esbuild (platform browser, no externals) must find no Node built-in on the way from the
// entries — the build itself fails otherwise — and the bundles must not mention one; the wasm kernels build
// deterministically from the C sources (where the toolchain is: locally optional, in CI .ci/run installs it).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BROWSER_SUBSTITUTES, buildBrowser } from "../../scripts/build-browser.mjs";
import { buildWasm, WASM_VARIANTS } from "../../scripts/build-wasm.mjs";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const out = mkdtempSync(path.join(tmpdir(), "tlens-build-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("browser build", () => {
  it("bundles the API and the worker with no Node built-in in them", async () => {
    const files = await buildBrowser({ outdir: path.join(out, "bundle") });
    expect(files.map((f) => path.basename(f)).slice(0, 3)).toEqual(["tlens.js", "tlens-worker.js", "tlens-kernels.js"]);
    for (const f of files.slice(0, 3)) {
      const src = readFileSync(f, "utf8");
      expect(src.match(/["'`]node:[a-z_/]+/g) ?? [], path.basename(f)).toEqual([]);
      expect(src).not.toMatch(/\brequire\(/);
    }
  });

  it("swaps exactly the Node-only modules, each for an existing stand-in", () => {
    for (const [from, to] of Object.entries(BROWSER_SUBSTITUTES)) {
      expect(readFileSync(path.join(ROOT, from), "utf8"), from).toMatch(/node:/);
      expect(readFileSync(path.join(ROOT, to), "utf8"), to).not.toMatch(/from "node:|import\("node:/);
    }
  });
});

describe("wasm kernels", () => {
  it("build deterministically: twice from the C sources, the same bytes; the threaded one imports a shared memory", async () => {
    const a = buildWasm(path.join(out, "a"));
    const b = buildWasm(path.join(out, "b"));
    expect(Object.keys(a).sort()).toEqual(Object.keys(WASM_VARIANTS).sort());
    expect(b).toEqual(a);
    const mt = await WebAssembly.compile(readFileSync(path.join(out, "a", "tlens-mt.wasm")));
    expect(WebAssembly.Module.imports(mt).find((i) => i.kind === "memory")).toEqual({
      module: "env",
      name: "memory",
      kind: "memory",
    });
    const one = await WebAssembly.compile(readFileSync(path.join(out, "a", "tlens.wasm")));
    expect(WebAssembly.Module.exports(one).map((e) => e.name)).toContain("tl_sgemm");
  });
});
