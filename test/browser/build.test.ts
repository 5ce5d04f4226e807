// The browser build: esbuild (platform browser, no externals) must find no Node built-in on the way from the
// entries — the build itself fails otherwise — and the bundles must not mention one; the committed wasm kernels
// must be what scripts/build-wasm.mjs makes from the C sources today (when the recorded toolchain is here; CI
// installs it in .ci/run).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BROWSER_SUBSTITUTES, buildBrowser } from "../../scripts/build-browser.mjs";
import { buildWasm, wasmToolchain } from "../../scripts/build-wasm.mjs";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const out = mkdtempSync(path.join(tmpdir(), "tlens-build-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("browser build", () => {
  it("bundles the API and the worker with no Node built-in in them", async () => {
    const files = await buildBrowser({ outdir: path.join(out, "bundle") });
    expect(files.map((f) => path.basename(f))).toEqual(["tlens.js", "tlens-worker.js", "tlens.wasm"]);
    for (const f of files.slice(0, 2)) {
      const src = readFileSync(f, "utf8");
      expect(src.match(/["'`]node:[a-z_/]+/g) ?? [], path.basename(f)).toEqual([]);
      expect(src).not.toMatch(/\brequire\(/);
    }
    expect(readFileSync(files[2]).equals(readFileSync(path.join(ROOT, "native/wasm/tlens.wasm")))).toBe(true);
  });

  it("swaps exactly the Node-only modules, each for an existing stand-in", () => {
    for (const [from, to] of Object.entries(BROWSER_SUBSTITUTES)) {
      expect(readFileSync(path.join(ROOT, from), "utf8"), from).toMatch(/node:/);
      expect(readFileSync(path.join(ROOT, to), "utf8"), to).not.toMatch(/from "node:|import\("node:/);
    }
  });
});

const manifest = JSON.parse(readFileSync(path.join(ROOT, "native/wasm/tlens.wasm.json"), "utf8")) as { compiler: string; sha256: string };
const toolchain = wasmToolchain();

describe.skipIf(toolchain !== manifest.compiler && !process.env.CI)("wasm kernels", () => {
  it("rebuild byte for byte from the C sources (else: node scripts/build-wasm.mjs and commit the result)", () => {
    expect(toolchain, "the wasm toolchain recorded in native/wasm/tlens.wasm.json").toBe(manifest.compiler);
    const rebuilt = path.join(out, "tlens.wasm");
    const sha = buildWasm(rebuilt);
    expect(readFileSync(rebuilt).equals(readFileSync(path.join(ROOT, "native/wasm/tlens.wasm")))).toBe(true);
    expect(sha).toBe(manifest.sha256);
  });
});
