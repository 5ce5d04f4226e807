// `npm run docs` builds the API reference from the doc comments with no warning (typedoc.json treats warnings as
// errors): a doc comment that typedoc misreads, or a broken {@link}, fails here rather than in a later docs build.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

it("typedoc builds the API reference with no warnings", () => {
  const out = mkdtempSync(join(tmpdir(), "tlens-api-"));
  try {
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules/typedoc/bin/typedoc"), "--out", out], { cwd: ROOT, encoding: "utf8" });
    expect(r.stdout + r.stderr).not.toMatch(/warning|error/i);
    expect(r.status).toBe(0);
    expect(existsSync(join(out, "classes/HookedTransformer.html"))).toBe(true);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);
