// The local hub cache in huggingface_hub's layout (shared with Python), under $HF_HUB_CACHE:
//   models--{org}--{name}/blobs/{etag}                 the files' bytes, named by their ETag (LFS: the sha256)
//   models--{org}--{name}/blobs/{etag}.incomplete      a download in progress (resumed with Range, never loaded)
//   models--{org}--{name}/snapshots/{commit}/{file}    a relative symlink to ../../blobs/{etag}
//   models--{org}--{name}/refs/{revision}              the commit hash the revision pointed to
//   .locks/models--{org}--{name}/{etag}.lock           held while one process downloads that blob (hub-lock.ts)
import { LoadError } from "../errors.js";
import { describeUrl } from "./hub-http.js";
import { hubCacheDir } from "./hub-env.js";
import { HUB_MODEL_FILES } from "./hub-registry.js";
import { blobIsValid } from "./hub-verify.js";

const REPO_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\/[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)?$/;
const ID_RE = /^[A-Za-z0-9._-]{1,256}$/;
const COMMIT_RE = /^[0-9a-f]{40}$/;

/** A hub repo id ("name" or "org/name"), as the hub allows them. */
export function isHubRepoId(repo: string): boolean {
  return repo.length <= 96 && REPO_RE.test(repo) && !repo.includes("--") && !repo.includes("..");
}

export function checkRepo(repo: string): void {
  if (!isHubRepoId(repo))
    throw new LoadError(`invalid hub repo id ${JSON.stringify(repo)}: expected "name" or "org/name"`);
}

export function checkRevision(revision: string): void {
  const parts = revision.split("/");
  if (
    revision === "" ||
    revision.length > 256 ||
    /[\\\0]/.test(revision) ||
    parts.some((p) => p === "" || p === "." || p === "..")
  ) {
    throw new LoadError(`invalid hub revision ${JSON.stringify(revision)}: expected a branch, tag or commit hash`);
  }
}

export function checkFile(file: string): void {
  const parts = file.split("/");
  if (file === "" || /[\\\0]/.test(file) || parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new LoadError(`invalid file name ${JSON.stringify(file)}: expected a relative path inside the repo`);
  }
}

/** An id the server gave us that becomes a file name (ETag, commit): plain characters only. */
export function checkId(id: string, what: string, url: URL): void {
  if (!ID_RE.test(id) || id === "." || id === "..") {
    throw new LoadError(`${describeUrl(url)}: the ${what} ${JSON.stringify(id)} cannot name a cache file`);
  }
}

/** A cache write that failed → a LoadError with the fix. */
export function cacheWriteError(target: string, e: unknown): LoadError {
  const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return new LoadError(
    `cannot write to the hub cache (${target}: ${code}); make the folder writable or point HF_HUB_CACHE (or HF_HOME) at a writable folder`,
  );
}

/** The repo's folder in the cache: `models--{org}--{name}`. */
export async function hubRepoCacheDir(repo: string, cacheDir?: string): Promise<string> {
  const path = await import("node:path");
  return path.join(cacheDir ?? (await hubCacheDir()), `models--${repo.split("/").join("--")}`);
}

/** The lock file of one blob: `{cache}/.locks/models--{org}--{name}/{etag}.lock`. */
export async function blobLockPath(repoDir: string, etag: string): Promise<string> {
  const path = await import("node:path");
  return path.join(path.dirname(repoDir), ".locks", path.basename(repoDir), `${etag}.lock`);
}

export async function isFile(p: string): Promise<boolean> {
  const { stat } = await import("node:fs/promises");
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

export async function fileSize(p: string): Promise<number> {
  const { stat } = await import("node:fs/promises");
  try {
    return (await stat(p)).size;
  } catch {
    return 0;
  }
}

/** The commit a revision points to in the cache (refs/{revision}; a commit hash stands for itself), or null. */
export async function cachedCommit(repoDir: string, revision: string): Promise<string | null> {
  const path = await import("node:path");
  const { readFile, stat } = await import("node:fs/promises");
  try {
    const commit = (await readFile(path.join(repoDir, "refs", revision), "utf8")).trim();
    if (ID_RE.test(commit) && commit !== "." && commit !== "..") return commit;
  } catch {
    // no ref: fall through
  }
  if (COMMIT_RE.test(revision)) {
    try {
      if ((await stat(path.join(repoDir, "snapshots", revision))).isDirectory()) return revision;
    } catch {
      // not cached
    }
  }
  return null;
}

export interface CacheOptions {
  /** The hub cache folder (default `hubCacheDir()`: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub). */
  cacheDir?: string;
}

/** What the cache holds of a revision: its snapshot folder (null: no ref), the files absent, the files corrupt. */
export interface SnapshotState {
  snapshot: string | null;
  missing: string[];
  corrupt: string[];
}

/** Checks each file of the revision's snapshot: present, and (for a link into blobs/) its blob's bytes match its name. */
export async function snapshotState(
  repoDir: string,
  revision: string,
  files: readonly string[],
): Promise<SnapshotState> {
  const path = await import("node:path");
  const { realpath } = await import("node:fs/promises");
  const commit = await cachedCommit(repoDir, revision);
  if (commit === null) return { snapshot: null, missing: [...files], corrupt: [] };
  const snapshot = path.join(repoDir, "snapshots", commit);
  const blobs = path.join(await realpath(repoDir).catch(() => repoDir), "blobs");
  const state: SnapshotState = { snapshot, missing: [], corrupt: [] };
  for (const f of files) {
    const entry = path.join(snapshot, f);
    if (!(await isFile(entry))) {
      state.missing.push(f);
      continue;
    }
    const target = await realpath(entry);
    // a plain copy (no symlink rights) carries no name to check against
    if (path.dirname(target) === blobs && !(await blobIsValid(target, path.basename(target)))) state.corrupt.push(f);
  }
  return state;
}

/**
 * The snapshot folder of `repo` at `revision` in the cache when every one of `files` is there and intact (each a
 * symlink to a blob whose bytes match its name, or a plain file); null otherwise. Reads the disk only.
 */
export async function findCachedSnapshot(
  repo: string,
  revision = "main",
  files: readonly string[] = HUB_MODEL_FILES,
  opts: CacheOptions = {},
): Promise<string | null> {
  checkRepo(repo);
  checkRevision(revision);
  files.forEach(checkFile);
  const state = await snapshotState(await hubRepoCacheDir(repo, opts.cacheDir), revision, files);
  return state.missing.length === 0 && state.corrupt.length === 0 ? state.snapshot : null;
}

/** `snapshots/{commit}/{file}` → a relative symlink to the blob (a copy where symlinks are not allowed). */
export async function linkSnapshot(repoDir: string, commit: string, file: string, blob: string): Promise<void> {
  const path = await import("node:path");
  const { copyFile, mkdir, readlink, rename, rm, symlink } = await import("node:fs/promises");
  const target = path.join(repoDir, "snapshots", commit, ...file.split("/"));
  await mkdir(path.dirname(target), { recursive: true });
  const rel = path.relative(path.dirname(target), blob);
  try {
    if ((await readlink(target)) === rel) return;
  } catch {
    // absent, or not a link: (re)create
  }
  const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await symlink(rel, tmp);
  } catch {
    await copyFile(blob, tmp); // Windows without symlink rights, as huggingface_hub does
  }
  try {
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new LoadError(`cannot create ${target}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** `refs/{revision}` ← commit, atomically. */
export async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  const path = await import("node:path");
  const { mkdir, rename, writeFile } = await import("node:fs/promises");
  const ref = path.join(repoDir, "refs", ...revision.split("/"));
  await mkdir(path.dirname(ref), { recursive: true });
  const tmp = `${ref}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, commit);
  await rename(tmp, ref);
}
