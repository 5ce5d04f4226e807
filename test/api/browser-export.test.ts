// `tlens/browser`: package.json's "./browser" subpath export names the browser build's bundle (dist/browser/tlens.js,
// scripts/build-browser.mjs) and the declarations tsc emits for its entry (src/browser/index.ts); from a project
// that depends on tlens, Node resolves the subpath to the bundle and TypeScript (bundler resolution, no Node types)
// types it. The files are the build's (npm ci's prepare makes them).
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "tlens-browser-export-"));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  exports: Record<string, Record<string, string>>;
};

beforeAll(() => {
  for (const f of ["dist/browser/tlens.js", "dist/browser/index.d.ts"])
    expect(existsSync(join(ROOT, f)), `${f}: run npm run build && npm run build:browser`).toBe(true);
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT, join(dir, "node_modules", "tlens"), "dir");
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "page-project", private: true, type: "module", dependencies: { tlens: "*" } }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the ./browser subpath export", () => {
  it("names the bundle and the entry's declarations", () => {
    expect(pkg.exports["./browser"]).toEqual({
      types: "./dist/browser/index.d.ts",
      import: "./dist/browser/tlens.js",
      default: "./dist/browser/tlens.js",
    });
  });

  it("resolves in Node to the browser bundle, and the root still to the Node entry", () => {
    const resolve = (spec: string): string =>
      execFileSync(
        process.execPath,
        ["--input-type=module", "-e", `console.log(import.meta.resolve(${JSON.stringify(spec)}))`],
        { cwd: dir, encoding: "utf8" },
      ).trim();
    // Node follows the symlink: the package's own files
    expect(resolve("tlens/browser")).toBe(pathToFileURL(join(realpathSync(ROOT), "dist/browser/tlens.js")).href);
    expect(resolve("tlens")).toBe(pathToFileURL(join(realpathSync(ROOT), "dist/index.js")).href);
  });

  it("types a page's code without Node's types", () => {
    writeFileSync(
      join(dir, "page.ts"),
      [
        `import { fromPretrained, patching, utils, type HookedTransformer } from "tlens/browser";`,
        `const model: Promise<HookedTransformer> = fromPretrained("/models/toy-ioi/");`,
        `const name: string = utils.getActName("pattern", 0);`,
        `void model; void name; void patching.getActPatchResidPre;`,
        // a Node-only namespace is not there
        `// @ts-expect-error jobs is Node's`,
        `import { jobs } from "tlens/browser";`,
        `void jobs;`,
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "esnext",
          moduleResolution: "bundler",
          target: "es2022",
          lib: ["es2022", "dom"],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ["page.ts"],
      }),
    );
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", dir], {
      encoding: "utf8",
    });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  }, 60_000);
});
