// The lint rules `npm test` runs (eslint.config.js, layers.json) catch what they are for: an import that goes up a
// layer, an import cycle, an explicit `any`, a built-in Error in src/. Each case lints real code on disk with the
// project's own config.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const eslint = new ESLint({ cwd: ROOT });
const ruleIds = async (code: string, filePath: string): Promise<string[]> =>
  (await eslint.lintText(code, { filePath: join(ROOT, filePath) }))[0]!.messages
    .filter((m) => m.severity === 2)
    .map((m) => m.ruleId ?? "");

describe("lint rules", () => {
  it("refuses an import that goes up a layer (tensor importing model), and allows one that goes down", async () => {
    const up = `import { HookedTransformer } from "../model/hooked-transformer.js";\nexport const x = HookedTransformer;\n`;
    expect(await ruleIds(up, "src/tensor/probe.ts")).toEqual(["import-x/no-restricted-paths"]);
    const down = `import { Tensor } from "../tensor/index.js";\nexport const x = Tensor;\n`;
    expect(await ruleIds(down, "src/model/probe.ts")).toEqual([]);
  });

  it("refuses an explicit any in library code", async () => {
    expect(await ruleIds("export const f = (x: any): number => x;\n", "src/model/probe.ts")).toEqual([
      "@typescript-eslint/no-explicit-any",
    ]);
  });

  it("refuses built-in errors in src/ (new Error, Error(), TypeError, RangeError, a class on Error); a TlensError subclass passes", async () => {
    const restricted = ["no-restricted-syntax"];
    expect(await ruleIds(`export const f = (): never => { throw new Error("x"); };\n`, "src/model/probe.ts")).toEqual(
      restricted,
    );
    expect(await ruleIds(`export const f = (): never => { throw Error("x"); };\n`, "src/backend/probe.ts")).toEqual(
      restricted,
    );
    expect(await ruleIds(`export const e = [new TypeError("x"), new RangeError("y")];\n`, "src/viz/probe.ts")).toEqual([
      ...restricted,
      ...restricted,
    ]);
    expect(await ruleIds(`export class MyError extends Error {}\n`, "src/loading/probe.ts")).toEqual(restricted);
    const typed = `import { ShapeError } from "../errors.js";\nexport const f = (): never => { throw new ShapeError("x"); };\n`;
    expect(await ruleIds(typed, "src/tensor/probe.ts")).toEqual([]);
    // the lab page cannot import src/errors.ts: its own classes on Error pass there, built-in errors still do not
    expect(await ruleIds(`export class PageError extends Error {}\n`, "src/lab/app/probe.ts")).toEqual([]);
    expect(await ruleIds(`export const e = new Error("x");\n`, "src/lab/app/probe.ts")).toEqual(restricted);
    // tests throw what they like
    expect(await ruleIds(`export const e = new Error("x");\n`, "test/probe.test.ts")).toEqual([]);
  });

  const dir = mkdtempSync(join(tmpdir(), "tlens-lint-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it("refuses an import cycle (a runtime one; type-only imports do not count)", async () => {
    writeFileSync(join(dir, "a.ts"), `import { b } from "./b.js";\nexport const a = (): number => b() + 1;\n`);
    writeFileSync(join(dir, "b.ts"), `import { a } from "./a.js";\nexport const b = (): number => a() * 2;\n`);
    writeFileSync(join(dir, "c.ts"), `import type { d } from "./d.js";\nexport const c: typeof d = 1;\n`);
    writeFileSync(join(dir, "d.ts"), `import { c } from "./c.js";\nexport const d = c;\n`);
    const lint = new ESLint({ cwd: dir, overrideConfigFile: join(ROOT, "eslint.config.js") });
    const byFile = new Map(
      (await lint.lintFiles(["a.ts", "b.ts", "c.ts", "d.ts"])).map((r) => [
        r.filePath.slice(dir.length + 1),
        r.messages.map((m) => m.ruleId),
      ]),
    );
    expect(byFile.get("a.ts")).toContain("import-x/no-cycle");
    expect(byFile.get("b.ts")).toContain("import-x/no-cycle");
    expect(byFile.get("c.ts")).toEqual([]);
    expect(byFile.get("d.ts")).toEqual([]);
  });
});
