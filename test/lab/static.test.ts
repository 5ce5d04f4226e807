// Static files: only the app's own modules, from its root. Path traversal in every spelling (raw `..`, percent-encoded
// dots and slashes, backslashes, NUL, double encoding, overlong UTF-8, symlinks out of the root) gets 404 — checked on
// resolveAppPath / readAppModule directly and against the running server over a raw socket.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_ROOT, readAppModule, resolveAppPath } from "../../src/lab/static.js";
import type { LabServer } from "../../src/lab/server.js";
import { rawGet, startToyLab } from "./helpers.js";

const TRAVERSALS = [
  "../server.ts",
  "../../package.json",
  "../../../../../../etc/passwd",
  "%2e%2e/server.js",
  "%2E%2E/static.js",
  ".%2e/static.js",
  "..%2fserver.js",
  "%2e%2e%2fstatic.js",
  "..%5cstatic.js",
  "..\\static.js",
  "%252e%252e/static.js",
  "main.js%00.ts",
  "main.js\0",
  "./main.js",
  ".//main.js",
  "/etc/passwd",
  "%2fetc%2fpasswd",
  "%c0%ae%c0%ae/static.js",
  "%e0%80%ae%e0%80%ae/static.js",
  "%",
  "..",
  "main.ts",
  "main.d.js",
  "",
];

describe("resolveAppPath / readAppModule", () => {
  it("accepts plain module names under the root", () => {
    expect(resolveAppPath("/srv/app", "main.js")).toBe("/srv/app/main.js");
    expect(resolveAppPath("/srv/app/", "lib/http-client.js")).toBe("/srv/app/lib/http-client.js");
  });

  it("refuses every traversal spelling, encoded or not, and anything but a .js module", () => {
    for (const p of TRAVERSALS.filter((x) => x !== "main.d.js"))
      expect(resolveAppPath("/srv/app", p), JSON.stringify(p)).toBeNull();
  });

  it("serves the page's modules (transpiled from TypeScript when run from source), not its sources", async () => {
    const js = await readAppModule(APP_ROOT, "main.js");
    expect(js).toContain("HttpLabClient");
    expect(js).not.toMatch(/:\s*HTMLElement\b/); // types are gone
    expect(await readAppModule(APP_ROOT, "main.ts")).toBeNull();
    expect(await readAppModule(APP_ROOT, "main.d.js")).toBeNull(); // no declaration files either
    expect(await readAppModule(APP_ROOT, "missing.js")).toBeNull();
  });

  it("does not follow a symlink out of the root", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tlens-lab-static-"));
    const root = join(dir, "app");
    mkdirSync(root);
    writeFileSync(join(root, "ok.js"), "export const ok = 1;");
    writeFileSync(join(dir, "secret.js"), "secret");
    symlinkSync(join(dir, "secret.js"), join(root, "link.js"));
    expect(await readAppModule(root, "ok.js")).toBe("export const ok = 1;");
    expect(await readAppModule(root, "link.js")).toBeNull();
  });
});

describe("the server over a raw socket", () => {
  let lab: LabServer;
  beforeAll(async () => {
    lab = await startToyLab();
  });
  afterAll(async () => {
    await lab?.close();
  });

  it("serves /, the app modules, plotly.js and the viewer runtime", async () => {
    const page = await rawGet(lab.port, "/");
    expect(page.status).toBe(200);
    expect(page.body).toContain('data-testid="prompt-input"');
    expect((await rawGet(lab.port, "/app/main.js")).status).toBe(200);
    expect((await rawGet(lab.port, "/app/http-client.js")).body).toContain("class HttpLabClient");
    expect((await rawGet(lab.port, "/vendor/tlens-viewer.js")).body).toContain("tlensViz");
  });

  it("answers every traversal attempt with 404", async () => {
    const paths = [
      ...TRAVERSALS.filter((p) => !p.includes("\0")).map((p) => `/app/${p}`),
      "/../package.json",
      "/app/../../package.json",
      "/%2e%2e/%2e%2e/package.json",
      "/vendor/../app/main.js",
      "/vendor/..%2f..%2fpackage.json",
      "/app/%2e%2e/%2e%2e/%2e%2e/package.json",
      "/app/..%252f..%252fpackage.json",
      "//etc/passwd",
      "/app/main.js%00",
    ];
    for (const p of paths) {
      const r = await rawGet(lab.port, p);
      expect(r.status, p).toBe(404);
      expect(r.body, p).not.toContain("tlens"); // no file content leaked (package.json, sources)
    }
  });
});
