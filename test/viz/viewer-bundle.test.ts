// The viewer script pages inline is the bundle of the typed modules in src/viz/viewer/ (scripts/build-viewer.mjs):
// deterministic, current with the sources, one self-contained IIFE (no imports, no network), ES2017.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bundleViewer, VIEWER_MODULE } from "../../scripts/build-viewer.mjs";
import { VIEWER_JS } from "../../src/viz/viewer-runtime.js";

describe("viewer bundle", () => {
  it("is built from src/viz/viewer/*.ts: the same bytes on every build, and the module viewer-runtime inlines holds it", () => {
    const a = bundleViewer();
    expect(bundleViewer()).toBe(a);
    expect(VIEWER_JS).toBe(a);
    expect(readFileSync(VIEWER_MODULE, "utf8")).toContain(JSON.stringify(a));
  });

  it("is one self-contained script for ES2017: no module syntax, no fetches, every viewer kind registered", () => {
    expect(VIEWER_JS).not.toMatch(/^\s*(import|export)\s/m);
    expect(VIEWER_JS).not.toMatch(/\bfetch\(|https?:\/\//);
    expect(VIEWER_JS).not.toMatch(/\?\.|\?\?|\*\*=/); // ES2020+ syntax lowered
    for (const kind of ["attention-heads", "attention-patterns", "colored-tokens", "topk-tokens"])
      expect(VIEWER_JS).toContain(`"${kind}"`);
    expect(() => new Function(VIEWER_JS)).not.toThrow(); // parses as a classic script
  });
});
