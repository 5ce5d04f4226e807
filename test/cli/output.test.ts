// cli/output.ts: the output-folder check and the all-or-nothing replacement of a set of files, including a rename
// that fails half-way through the swap (one rename made to fail here by a wrapped fs.rename).
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { OutputError } from "../../src/errors.js";

const failRename = { after: Infinity, calls: 0 };
vi.mock("node:fs/promises", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...fs,
    rename: async (from: string, to: string) => {
      if (++failRename.calls === failRename.after + 1)
        throw Object.assign(new Error(`EIO: i/o error, rename '${from}'`), { code: "EIO" });
      return fs.rename(from, to);
    },
  };
});
const { checkOutputDir, writeFilesAtomic } = await import("../../src/cli/output.js");

const tmp = (): string => mkdtempSync(join(tmpdir(), "tlens-output-"));

describe("checkOutputDir", () => {
  it("creates a missing folder and its parents, and leaves nothing in it", async () => {
    const dir = join(tmp(), "a", "b");
    expect(await checkOutputDir(dir)).toBe(dir);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a file, or a path below a file, is an OutputError that says the fix", async () => {
    const file = join(tmp(), "f");
    writeFileSync(file, "x");
    await expect(checkOutputDir(file)).rejects.toThrow(
      new OutputError(`--out ${file}: ${file} is a file, not a folder; give a folder path (it is created if missing)`),
    );
    await expect(checkOutputDir(join(file, "sub"), "--dir")).rejects.toThrow(
      /^--dir .*: cannot write there: a part of the path is a file \(ENOTDIR\); choose a folder you can write to \(e\.g\. --dir \.\/report\)$/,
    );
  });
});

describe("writeFilesAtomic", () => {
  const read = (dir: string): Record<string, string> =>
    Object.fromEntries(
      readdirSync(dir)
        .sort()
        .map((f) => [f, readFileSync(join(dir, f), "utf8")]),
    );

  it("replaces the set; a new file joins it", async () => {
    const dir = tmp();
    await writeFilesAtomic(dir, { "a.txt": "old a", "b.json": "old b" });
    await writeFilesAtomic(dir, { "a.txt": "new a", "b.json": "new b", "c.html": "new c" });
    expect(read(dir)).toEqual({ "a.txt": "new a", "b.json": "new b", "c.html": "new c" });
  });

  it.each([1, 2, 3, 4])(
    "a rename that fails after %i successful ones puts the old set back and leaves nothing else",
    async (after) => {
      const dir = tmp();
      await writeFilesAtomic(dir, { "index.html": "old html", "results.json": "old json" });
      writeFileSync(join(dir, "notes.txt"), "the user's");
      failRename.calls = 0;
      failRename.after = after;
      try {
        await expect(
          writeFilesAtomic(dir, { "index.html": "new html", "results.json": "new json", "report.html": "new report" }),
        ).rejects.toThrow(
          /^cannot replace the files in .*: EIO: i\/o error.* \(EIO\); the files already there are unchanged$/,
        );
      } finally {
        failRename.after = Infinity;
      }
      expect(read(dir)).toEqual({ "index.html": "old html", "notes.txt": "the user's", "results.json": "old json" });
    },
  );
});
