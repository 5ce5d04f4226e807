// "run in browser" on a fresh clone: `npm install` / `npm ci` build the browser bundle (package.json "prepare" runs
// scripts/prepare-browser.mjs), and that step builds the JS bundle and succeeds even where clang is missing.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "tlens-prepare-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the browser bundle at install", () => {
  it("package.json's prepare builds it", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepare).toMatch(/node scripts\/prepare-browser\.mjs/);
  });

  it("without clang on PATH the step succeeds and the lab worker is built", () => {
    // a PATH with node and nothing else: no clang, no wasm-ld
    const bin = join(dir, "bin");
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, "node"));
    const out = join(dir, "bundle");
    const r = spawnSync(join(bin, "node"), ["scripts/prepare-browser.mjs", out], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, PATH: bin },
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    for (const f of ["tlens.js", "tlens-worker.js", "tlens-kernels.js", "tlens-lab-worker.js"])
      expect(existsSync(join(out, f)), f).toBe(true);
  }, 120_000);
});
