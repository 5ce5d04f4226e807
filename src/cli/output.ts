// Output files of the tlens commands: the output folder is checked before any work (so a bad --out fails in a
// second, not after the analysis), and a set of files is replaced as a whole — written beside the targets first,
// then renamed into place with the old files kept until every rename succeeded — so a failure never leaves a new
// index.html beside an old results.json.
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { OutputError } from "../errors.js";

/** "permission denied (EACCES)" for a Node system error, else its message. */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "read-only file system",
    ENOTDIR: "a part of the path is a file",
    ENOSPC: "no space left on the device",
    EEXIST: "a file is in the way",
    EISDIR: "it is a folder",
    EFBIG: "file too large",
    EDQUOT: "disk quota exceeded",
  };
  return err?.code ? `${words[err.code] ?? err.message} (${err.code})` : String((e as Error)?.message ?? e);
}

/**
 * Makes sure `dir` is a folder this process can write: creates it (and its parents) and writes then removes a probe
 * file. Returns the absolute path; throws an OutputError that names the flag and the fix.
 */
export async function checkOutputDir(dir: string, flag = "--out"): Promise<string> {
  const abs = resolve(dir);
  const info = await stat(abs).catch(() => null);
  if (info && !info.isDirectory())
    throw new OutputError(
      `${flag} ${dir}: ${abs} is a file, not a folder; give a folder path (it is created if missing)`,
    );
  try {
    await mkdir(abs, { recursive: true });
    const probe = join(abs, `.tlens-probe-${process.pid}-${randomBytes(4).toString("hex")}`);
    await writeFile(probe, "");
    await rm(probe, { force: true });
  } catch (e) {
    throw new OutputError(
      `${flag} ${dir}: cannot write there: ${reason(e)}; choose a folder you can write to (e.g. ${flag} ./report)`,
    );
  }
  return abs;
}

/** Writes `data` to `path` through a temp file in the same folder, flushed, then renamed over it. */
async function stage(path: string, data: string | Uint8Array): Promise<string> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  return tmp;
}

/**
 * Replaces the files `files` (name → contents) in `dir` as one set: every file is staged beside its target first
 * (a failure there leaves the old files untouched and removes the staged ones); then each old file is moved aside,
 * each new one renamed into place, and the old ones removed only when all are in place (a failed rename puts the old
 * ones back). Throws an OutputError naming the file and the reason.
 */
export async function writeFilesAtomic(
  dir: string,
  files: Readonly<Record<string, string | Uint8Array>>,
): Promise<void> {
  const names = Object.keys(files);
  const staged: string[] = [];
  try {
    for (const name of names) staged.push(await stage(join(dir, name), files[name]!));
  } catch (e) {
    await Promise.all(staged.map((t) => rm(t, { force: true })));
    throw new OutputError(
      `cannot write ${join(dir, names[staged.length]!)}: ${reason(e)}; the files already there are unchanged`,
    );
  }
  await swapIn(dir, names, staged);
}

/** Renames staged[i] to names[i] in `dir`, all or none (see writeFilesAtomic). */
async function swapIn(dir: string, names: readonly string[], staged: readonly string[]): Promise<void> {
  const suffix = `.old-${process.pid}-${randomBytes(4).toString("hex")}`;
  const moved: string[] = []; // targets whose old file is now at target + suffix
  const placed: string[] = [];
  try {
    for (let i = 0; i < names.length; i++) {
      const target = join(dir, names[i]!);
      if (
        await stat(target).then(
          () => true,
          () => false,
        )
      ) {
        await rename(target, target + suffix);
        moved.push(target);
      }
      await rename(staged[i]!, target);
      placed.push(target);
    }
  } catch (e) {
    for (const t of placed) await rm(t, { force: true }).catch(() => {});
    for (const t of moved) await rename(t + suffix, t).catch(() => {});
    await Promise.all(staged.map((t) => rm(t, { force: true })));
    throw new OutputError(`cannot replace the files in ${dir}: ${reason(e)}; the files already there are unchanged`);
  }
  await Promise.all(moved.map((t) => rm(t + suffix, { force: true, recursive: true })));
}
