// `npm run docs` builds the API reference from the doc comments with no warning (typedoc.json treats warnings as
// errors): a doc comment that typedoc misreads, or a broken {@link}, fails here rather than in a later docs build.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

it("typedoc builds the API reference with no warnings", () => {
  const out = mkdtempSync(join(tmpdir(), "tlens-api-"));
  try {
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules/typedoc/bin/typedoc"), "--out", out], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(r.stdout + r.stderr).not.toMatch(/warning|error/i);
    expect(r.status).toBe(0);
    // two entry points (tlens, tlens/browser); the classes are documented once, under the Node entry
    expect(existsSync(join(out, "modules/tlens_browser.html"))).toBe(true);
    expect(existsSync(join(out, "classes/tlens.HookedTransformer.html"))).toBe(true);
    // every namespace of the root has its page, with the doc comment of its export
    const namespaces = [
      "patching",
      "pathPatching",
      "attribution",
      "detectors",
      "circuits",
      "logitLens",
      "steering",
      "ioi",
      "copySuppression",
      "datasets",
      "viz",
      "loading",
      "tokenizer",
      "backend",
      "utils",
      "sae",
      "jobs",
    ];
    for (const ns of namespaces) expect(existsSync(join(out, `modules/tlens.${ns}.html`)), ns).toBe(true);
    expect(readFileSync(join(out, "modules/tlens.patching.html"), "utf8")).toContain("camelCased, same argument order");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);
