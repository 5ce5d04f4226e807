// The Hugging Face hub: the model registry (TransformerLens names → hub repos), the local cache in the hub's own
// layout (shared with Python's huggingface_hub), and the downloader (DESIGN §3 "Hub protocol").
//
// Cache layout, under $HF_HUB_CACHE (default $HF_HOME/hub, default ~/.cache/huggingface/hub):
//   models--{org}--{name}/blobs/{etag}                 the files' bytes, named by their ETag (LFS: the sha256)
//   models--{org}--{name}/blobs/{etag}.incomplete      a download in progress (resumed with Range, never loaded)
//   models--{org}--{name}/snapshots/{commit}/{file}    a relative symlink to ../../blobs/{etag}
//   models--{org}--{name}/refs/{revision}              the commit hash the revision pointed to
//
// Protocol: GET {HF_ENDPOINT}/{repo}/resolve/{revision}/{file}, redirects followed (the hub answers LFS files with
// a 302 to its CDN, carrying X-Repo-Commit, X-Linked-Etag and X-Linked-Size; small files with a 200 carrying
// X-Repo-Commit and ETag). Node modules are imported dynamically so this folder stays importable in a browser.
import type { IncomingMessage } from "node:http";
import { LoadError } from "../errors.js";
import { describeUrl, header, HostNotFoundError, httpGet, NetworkError, normalizeEtag, parseContentRange, sizeHeader, sleep } from "./hub-http.js";
import { ProgressBar } from "./hub-progress.js";

/** Where a model lives on the hub. */
export interface HubModel {
  /** Hub repo id ("gpt2", "org/name"). */
  repo: string;
  revision: string;
  /** The files a model needs, as paths inside the repo. */
  files: readonly string[];
}

/** The files of a Hugging Face GPT-2-style model. */
export const HUB_MODEL_FILES: readonly string[] = ["config.json", "model.safetensors"];

// TransformerLens's official names (used as the hub repo ids, as TL does; the hub redirects "gpt2" to
// "openai-community/gpt2") and their aliases (TL's MODEL_ALIASES).
const OFFICIAL: Readonly<Record<string, readonly string[]>> = {
  gpt2: ["gpt2-small"],
  "gpt2-medium": [],
  "gpt2-large": [],
  "gpt2-xl": [],
  distilgpt2: ["distillgpt2", "distill-gpt2", "distil-gpt2", "gpt2-xs"],
};

/** Model names `fromPretrained` and `tlens download` fetch from the hub (official names; aliases also work). */
export const HUB_MODELS: readonly string[] = ["gpt2-small", "gpt2-medium", "gpt2-large", "gpt2-xl", "distilgpt2"];

const ALIAS_TO_REPO = new Map<string, string>();
for (const [repo, aliases] of Object.entries(OFFICIAL)) {
  ALIAS_TO_REPO.set(repo, repo);
  for (const a of aliases) ALIAS_TO_REPO.set(a, repo);
}

/** A registry name (case-insensitive: "gpt2-small", "gpt2", "gpt2-xl", "distilgpt2", ...) → its hub repo; else null. */
export function resolveHubModel(name: string): HubModel | null {
  const repo = ALIAS_TO_REPO.get(name.trim().toLowerCase());
  return repo === undefined ? null : { repo, revision: "main", files: HUB_MODEL_FILES };
}

// ---------------------------------------------------------------------------------------------------------------
// Environment

function env(name: string): string | undefined {
  const v = typeof process !== "undefined" ? process.env?.[name] : undefined;
  return v === undefined || v.trim() === "" ? undefined : v;
}

const isTrue = (v: string | undefined): boolean => v !== undefined && ["1", "on", "yes", "true"].includes(v.trim().toLowerCase());

/** Offline mode: `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) set to 1/true/yes/on, as huggingface_hub reads it. */
export function hubOffline(): boolean {
  return isTrue(env("HF_HUB_OFFLINE")) || isTrue(env("TRANSFORMERS_OFFLINE"));
}

/** The hub's base URL: `HF_ENDPOINT`, default https://huggingface.co (no trailing slash). */
export function hubEndpoint(): string {
  return (env("HF_ENDPOINT") ?? "https://huggingface.co").trim().replace(/\/+$/, "");
}

/** The cache folder: `HF_HUB_CACHE` (or the older `HUGGINGFACE_HUB_CACHE`), else `$HF_HOME/hub`, where HF_HOME
 *  defaults to `$XDG_CACHE_HOME/huggingface` and that to `~/.cache/huggingface` — as huggingface_hub decides it. */
export async function hubCacheDir(): Promise<string> {
  const path = await import("node:path");
  const os = await import("node:os");
  const expand = (p: string): string => (p === "~" || p.startsWith("~/") || p.startsWith("~\\") ? path.join(os.homedir(), p.slice(1)) : p);
  const hubCache = env("HF_HUB_CACHE") ?? env("HUGGINGFACE_HUB_CACHE");
  if (hubCache !== undefined) return path.resolve(expand(hubCache));
  const home = env("HF_HOME") ?? path.join(env("XDG_CACHE_HOME") ?? path.join(os.homedir(), ".cache"), "huggingface");
  return path.resolve(expand(home), "hub");
}

// ---------------------------------------------------------------------------------------------------------------
// Names and paths

const REPO_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\/[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)?$/;

/** A hub repo id ("name" or "org/name"), as the hub allows them. */
export function isHubRepoId(repo: string): boolean {
  return repo.length <= 96 && REPO_RE.test(repo) && !repo.includes("--") && !repo.includes("..");
}

function checkRevision(revision: string): void {
  const parts = revision.split("/");
  if (revision === "" || revision.length > 256 || /[\\\0]/.test(revision) || parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new LoadError(`invalid hub revision ${JSON.stringify(revision)}: expected a branch, tag or commit hash`);
  }
}

function checkFile(file: string): void {
  const parts = file.split("/");
  if (file === "" || /[\\\0]/.test(file) || parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new LoadError(`invalid file name ${JSON.stringify(file)}: expected a relative path inside the repo`);
  }
}

/** An id the server gave us that becomes a file name (ETag, commit): plain characters only. */
function checkId(id: string, what: string, url: URL): void {
  if (!/^[A-Za-z0-9._-]{1,256}$/.test(id) || id === "." || id === "..") {
    throw new LoadError(`${describeUrl(url)}: the ${what} ${JSON.stringify(id)} cannot name a cache file`);
  }
}

/** The repo's folder in the cache: `models--{org}--{name}`. */
export async function hubRepoCacheDir(repo: string, cacheDir?: string): Promise<string> {
  const path = await import("node:path");
  return path.join(cacheDir ?? (await hubCacheDir()), `models--${repo.split("/").join("--")}`);
}

async function isFile(p: string): Promise<boolean> {
  const { stat } = await import("node:fs/promises");
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function fileSize(p: string): Promise<number> {
  const { stat } = await import("node:fs/promises");
  try {
    return (await stat(p)).size;
  } catch {
    return 0;
  }
}

const COMMIT_RE = /^[0-9a-f]{40}$/;

/** The commit a revision points to in the cache (refs/{revision}; a commit hash stands for itself), or null. */
async function cachedCommit(repoDir: string, revision: string): Promise<string | null> {
  const path = await import("node:path");
  const { readFile, stat } = await import("node:fs/promises");
  try {
    const commit = (await readFile(path.join(repoDir, "refs", revision), "utf8")).trim();
    if (/^[A-Za-z0-9._-]{1,256}$/.test(commit) && commit !== "." && commit !== "..") return commit;
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

/**
 * The snapshot folder of `repo` at `revision` in the cache when every one of `files` is there (each a symlink to a
 * complete blob, or a plain file); null otherwise. Reads the disk only.
 */
export async function findCachedSnapshot(
  repo: string,
  revision = "main",
  files: readonly string[] = HUB_MODEL_FILES,
  opts: CacheOptions = {},
): Promise<string | null> {
  const path = await import("node:path");
  if (!isHubRepoId(repo)) throw new LoadError(`invalid hub repo id ${JSON.stringify(repo)}: expected "name" or "org/name"`);
  checkRevision(revision);
  files.forEach(checkFile);
  const repoDir = await hubRepoCacheDir(repo, opts.cacheDir);
  const commit = await cachedCommit(repoDir, revision);
  if (commit === null) return null;
  const snapshot = path.join(repoDir, "snapshots", commit);
  for (const f of files) if (!(await isFile(path.join(snapshot, f)))) return null;
  return snapshot;
}

// ---------------------------------------------------------------------------------------------------------------
// Download

export interface DownloadOptions extends CacheOptions {
  /** Hub base URL (default `HF_ENDPOINT`, else https://huggingface.co). */
  endpoint?: string;
  /** Branch, tag or commit (default the registry's, "main"). */
  revision?: string;
  /** Files to fetch (default the registry's: config.json, model.safetensors). */
  files?: readonly string[];
  /** No network: serve from the cache or fail with a LoadError (default `HF_HUB_OFFLINE`). */
  offline?: boolean;
  /** Bearer token (default `HF_TOKEN`; null: none). Sent to the endpoint's host only, never across a redirect to
   *  another host. */
  token?: string | null;
  /** Ask the hub even when the cache holds the revision (a moved branch gets its new commit; blobs already in the
   *  cache are not fetched again). */
  force?: boolean;
  /** Called as bytes arrive: the file, its bytes on disk so far (a resumed download starts above 0), its size
   *  (null when the server did not say). */
  onProgress?: (file: string, bytes: number, total: number | null) => void;
  /** Draw a progress bar on stderr (default: when stderr is a terminal). */
  progressBar?: boolean;
  /** Retries after a network failure (refused, reset, cut short, timeout, HTTP 502/503/504), each resuming the
   *  partial file (default 3). */
  retries?: number;
  /** Wait before retry k (1-based) is k × this (default 1000 ms). */
  retryDelayMs?: number;
  /** Give up on a connection silent this long (default 30 000 ms). */
  timeoutMs?: number;
}

const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRY_STATUSES = new Set([502, 503, 504]);
const SHA256_RE = /^[0-9a-f]{64}$/;

interface Ctx {
  endpoint: string;
  origin: string;
  token: string | null;
  repoDir: string;
  retries: number;
  retryDelayMs: number;
  timeoutMs: number;
  onProgress?: (file: string, bytes: number, total: number | null) => void;
  progressBar: boolean;
}

// One download per repo at a time inside this process (two would write the same .incomplete file).
const repoLocks = new Map<string, Promise<unknown>>();

async function withRepoLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = repoLocks.get(key) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(fn);
  repoLocks.set(key, run);
  try {
    return await run;
  } finally {
    if (repoLocks.get(key) === run) repoLocks.delete(key);
  }
}

/**
 * Makes `nameOrRepo` (a registry name such as "gpt2-small", or a hub repo id "org/name") available in the hub cache
 * and returns its snapshot folder (config.json + model.safetensors for the registry's models).
 *
 * A revision whose snapshot is complete in the cache is served with no request. Otherwise each file is fetched
 * with `GET {endpoint}/{repo}/resolve/{revision}/{file}` into `blobs/{etag}.incomplete` (resuming a partial one with
 * Range), checked (size; sha256 for LFS files), renamed into `blobs/{etag}` and linked from `snapshots/{commit}/`;
 * `refs/{revision}` is written last. Offline (`HF_HUB_OFFLINE=1` or `offline`), a missing file is a LoadError and no
 * request is made.
 */
export async function downloadModel(nameOrRepo: string, opts: DownloadOptions = {}): Promise<string> {
  const path = await import("node:path");
  const known = resolveHubModel(nameOrRepo);
  const repo = known?.repo ?? nameOrRepo.trim();
  if (!isHubRepoId(repo)) {
    throw new LoadError(
      `unknown model ${JSON.stringify(nameOrRepo)}: not one of ${HUB_MODELS.join(", ")} (or their aliases) and not a hub repo id ("org/name")`,
    );
  }
  const revision = opts.revision ?? known?.revision ?? "main";
  checkRevision(revision);
  const files = opts.files ?? known?.files ?? HUB_MODEL_FILES;
  if (files.length === 0) throw new LoadError("downloadModel: no files to fetch");
  files.forEach(checkFile);
  const cacheDir = path.resolve(opts.cacheDir ?? (await hubCacheDir()));
  const repoDir = await hubRepoCacheDir(repo, cacheDir);

  return withRepoLock(repoDir, async () => {
    const offline = opts.offline ?? hubOffline();
    if (offline || !opts.force) {
      const hit = await findCachedSnapshot(repo, revision, files, { cacheDir });
      if (hit !== null) return hit;
    }
    if (offline) {
      const commit = await cachedCommit(repoDir, revision);
      const missing: string[] = [];
      for (const f of files) if (commit === null || !(await isFile(path.join(repoDir, "snapshots", commit, f)))) missing.push(f);
      const label = known ? `"${nameOrRepo}" (hub repo ${repo}, revision ${revision})` : `hub repo ${repo} (revision ${revision})`;
      throw new LoadError(
        `${label} is not in the Hugging Face cache at ${cacheDir} (missing ${missing.join(", ")}) and offline mode is on ` +
          `(${opts.offline ? "offline: true" : "HF_HUB_OFFLINE"}), so nothing was downloaded. Turn offline mode off, or fill ` +
          `${repoDir} from a machine where the hub is reachable (\`tlens download ${nameOrRepo}\`).`,
      );
    }

    const endpoint = (opts.endpoint ?? hubEndpoint()).trim().replace(/\/+$/, "");
    let origin: string;
    try {
      const u = new URL(endpoint);
      if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http(s)");
      origin = u.origin;
    } catch {
      throw new LoadError(`invalid hub endpoint ${JSON.stringify(endpoint)} (HF_ENDPOINT): expected an http(s) URL such as https://huggingface.co`);
    }
    const ctx: Ctx = {
      endpoint,
      origin,
      token: opts.token === undefined ? env("HF_TOKEN") ?? null : opts.token,
      repoDir,
      retries: Math.max(0, Math.floor(opts.retries ?? 3)),
      retryDelayMs: Math.max(0, opts.retryDelayMs ?? 1000),
      timeoutMs: Math.max(1, opts.timeoutMs ?? 30_000),
      onProgress: opts.onProgress,
      progressBar: opts.progressBar ?? (typeof process !== "undefined" && process.stderr?.isTTY === true),
    };

    // The first file pins the commit; the others are fetched at that commit, so a push in between cannot mix
    // files of two commits into one snapshot.
    let commit: string | undefined;
    for (const file of files) {
      const got = await fetchFile(ctx, repo, commit ?? revision, file);
      if (commit !== undefined && got.commit !== commit) {
        throw new LoadError(`${repo}/${file}: the hub answered with commit ${got.commit} for a request at commit ${commit}`);
      }
      commit = got.commit;
      await linkSnapshot(repoDir, commit, file, got.blob);
    }
    if (commit !== revision) await writeRef(repoDir, revision, commit!);
    return path.join(repoDir, "snapshots", commit!);
  });
}

/**
 * For `fromPretrained`: a registry name ("gpt2-small", "gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl",
 * "distilgpt2", and TL's aliases) → the folder holding its config.json + model.safetensors (the cached snapshot
 * when complete, else downloaded first; offline and not cached → LoadError). Any other name → null.
 */
export async function resolvePretrainedDir(name: string, opts: DownloadOptions = {}): Promise<string | null> {
  if (resolveHubModel(name) === null) return null;
  return downloadModel(name, opts);
}

function resolveUrl(ctx: Ctx, repo: string, revision: string, file: string): URL {
  const rev = encodeURIComponent(revision);
  const f = file.split("/").map(encodeURIComponent).join("/");
  return new URL(`${ctx.endpoint}/${repo}/resolve/${rev}/${f}`);
}

/** One file into `blobs/`, with retries (each resuming) after network failures. */
async function fetchFile(ctx: Ctx, repo: string, revision: string, file: string): Promise<{ commit: string; blob: string }> {
  const url = resolveUrl(ctx, repo, revision, file);
  for (let attempt = 0; ; attempt++) {
    try {
      return await attemptFile(ctx, url, file);
    } catch (e) {
      if (e instanceof HostNotFoundError) throw new LoadError(`download of ${describeUrl(url)} failed: ${e.message}`);
      if (!(e instanceof NetworkError)) throw e;
      if (attempt >= ctx.retries) {
        const tries = attempt + 1;
        throw new LoadError(`download of ${describeUrl(url)} failed${tries > 1 ? ` (${tries} tries)` : ""}: ${e.message}`);
      }
      await sleep(ctx.retryDelayMs * (attempt + 1));
    }
  }
}

async function statusError(res: IncomingMessage, url: URL, start: URL, token: string | null): Promise<LoadError> {
  res.resume();
  const status = res.statusCode ?? 0;
  const code = header(res.headers, "x-error-code");
  const msg = header(res.headers, "x-error-message");
  const where = url.href === start.href ? describeUrl(url) : `${describeUrl(start)} (redirected to ${describeUrl(url)})`;
  let hint = "";
  if (status === 401 || status === 403) {
    hint = token
      ? "; the repo may not exist, or the token in HF_TOKEN has no access to it"
      : "; the repo may not exist, or be private or gated (set HF_TOKEN to a token with access)";
  } else if (status === 404) {
    hint = "; no such repo, revision or file";
  }
  return new LoadError(`GET ${where}: HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}${code ? ` [${code}]` : ""}${msg ? `: ${msg}` : ""}${hint}`);
}

/** One try at one file: follows the redirect chain, then receives the body into the blob. */
async function attemptFile(ctx: Ctx, start: URL, file: string): Promise<{ commit: string; blob: string }> {
  const path = await import("node:path");
  const { rm } = await import("node:fs/promises");
  const blobsDir = path.join(ctx.repoDir, "blobs");
  const blobOf = (etag: string): string => path.join(blobsDir, etag);

  let url = start;
  let hops = 0;
  let restarted = false;
  let commit: string | undefined;
  let linkedEtag: string | undefined;
  let linkedSize: number | undefined;
  let hubEtag: string | undefined;
  const restart = async (partial: string, why: string): Promise<void> => {
    await rm(partial, { force: true });
    if (restarted) throw new LoadError(`${describeUrl(start)}: ${why}, again after starting over`);
    restarted = true;
    url = start;
    hops = 0;
    commit = linkedEtag = hubEtag = linkedSize = undefined;
  };

  for (;;) {
    if (hops > MAX_REDIRECTS) throw new LoadError(`GET ${describeUrl(start)}: more than ${MAX_REDIRECTS} redirects`);
    const headers: Record<string, string> = { "User-Agent": "tlens (hub downloader)", "Accept-Encoding": "identity" };
    if (ctx.token && url.origin === ctx.origin) headers.Authorization = `Bearer ${ctx.token}`;
    // once the hub has named the blob (LFS: X-Linked-Etag on its redirect), the next hop can skip or resume it
    let rangeFrom = 0;
    if (linkedEtag !== undefined) {
      checkId(linkedEtag, "X-Linked-Etag", url);
      if (commit !== undefined && (await isFile(blobOf(linkedEtag)))) return { commit, blob: blobOf(linkedEtag) };
      rangeFrom = await fileSize(`${blobOf(linkedEtag)}.incomplete`);
      if (rangeFrom > 0) headers.Range = `bytes=${rangeFrom}-`;
    }
    const res = await httpGet(url, headers, ctx.timeoutMs);
    const h = res.headers;
    const status = res.statusCode ?? 0;
    const repoCommit = header(h, "x-repo-commit");
    if (repoCommit !== undefined) {
      commit = repoCommit.trim();
      hubEtag = normalizeEtag(header(h, "etag")) ?? hubEtag;
    }
    linkedEtag = normalizeEtag(header(h, "x-linked-etag")) ?? linkedEtag;
    linkedSize = sizeHeader(h, "x-linked-size") ?? linkedSize;

    if (REDIRECTS.has(status)) {
      res.resume();
      const loc = header(h, "location");
      if (loc === undefined) throw new LoadError(`GET ${describeUrl(url)}: HTTP ${status} redirect without a Location header`);
      let next: URL;
      try {
        next = new URL(loc, url);
      } catch {
        throw new LoadError(`GET ${describeUrl(url)}: HTTP ${status} redirect to an invalid Location ${JSON.stringify(loc)}`);
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw new LoadError(`GET ${describeUrl(url)}: redirect to a non-HTTP URL (${next.protocol})`);
      }
      url = next;
      hops++;
      continue;
    }

    if (status === 416 && rangeFrom > 0 && linkedEtag !== undefined) {
      res.resume();
      // the partial file may already be whole (a run stopped between the last byte and the rename)
      const blob = blobOf(linkedEtag);
      const partial = `${blob}.incomplete`;
      if (commit !== undefined && linkedSize === rangeFrom && (await partialMatches(partial, linkedEtag))) {
        const { rename } = await import("node:fs/promises");
        await rename(partial, blob);
        return { commit, blob };
      }
      await restart(partial, `the server refused the range bytes=${rangeFrom}- (HTTP 416)`);
      continue;
    }

    if (RETRY_STATUSES.has(status)) {
      res.resume();
      throw new NetworkError(`GET ${describeUrl(url)}: HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}`);
    }
    if (status !== 200 && status !== 206) throw await statusError(res, url, start, ctx.token);

    if (commit === undefined) {
      res.destroy();
      throw new LoadError(
        `GET ${describeUrl(start)}: the response has no X-Repo-Commit header, so ${ctx.endpoint} does not look like a ` +
          "Hugging Face hub (check HF_ENDPOINT)",
      );
    }
    checkId(commit, "commit (X-Repo-Commit)", url);
    const etag = linkedEtag ?? hubEtag ?? normalizeEtag(header(h, "etag"));
    if (etag === undefined) {
      res.destroy();
      throw new LoadError(`GET ${describeUrl(start)}: the response has neither X-Linked-Etag nor ETag, so the file cannot be cached`);
    }
    checkId(etag, "ETag", url);
    const blob = blobOf(etag);
    const partial = `${blob}.incomplete`;
    if (await isFile(blob)) {
      res.destroy();
      return { commit, blob };
    }
    const encoding = header(h, "content-encoding");
    if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity") {
      res.destroy();
      throw new LoadError(`GET ${describeUrl(url)}: the server sent the file ${encoding}-encoded although asked for identity`);
    }

    let offset = 0;
    let expected: number | null = linkedSize ?? null;
    if (status === 206) {
      const cr = parseContentRange(header(h, "content-range"));
      if (cr === undefined || rangeFrom === 0 || cr.start !== rangeFrom || linkedEtag === undefined) {
        res.destroy();
        await restart(partial, `the server sent a range that was not asked for (${header(h, "content-range") ?? "no Content-Range"})`);
        continue;
      }
      offset = cr.start;
      if (cr.total !== null) {
        if (expected !== null && expected !== cr.total) {
          res.destroy();
          throw new LoadError(`GET ${describeUrl(url)}: X-Linked-Size says ${expected} bytes but Content-Range says ${cr.total}`);
        }
        expected = cr.total;
      }
    } else {
      // 200: the whole file (when we asked for a range, the server ignored it: start over)
      const cl = sizeHeader(h, "content-length");
      if (cl !== undefined) {
        if (expected !== null && expected !== cl) {
          res.destroy();
          throw new LoadError(`GET ${describeUrl(url)}: X-Linked-Size says ${expected} bytes but Content-Length says ${cl}`);
        }
        expected = cl;
      }
    }
    await receiveBody(ctx, res, file, partial, offset, expected, etag, url);
    const { rename } = await import("node:fs/promises");
    await rename(partial, blob);
    return { commit, blob };
  }
}

/** sha256 of a file's bytes (hex), fed into `hash` when given. */
async function hashFile(file: string, hash?: import("node:crypto").Hash): Promise<string> {
  const { createHash } = await import("node:crypto");
  const { createReadStream } = await import("node:fs");
  const h = hash ?? createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return hash ? "" : h.digest("hex");
}

async function partialMatches(partial: string, etag: string): Promise<boolean> {
  try {
    return SHA256_RE.test(etag) && (await hashFile(partial)) === etag;
  } catch {
    return false;
  }
}

const FS_SYSCALLS = new Set(["open", "write", "close", "fsync", "rename", "mkdir"]);

/** Streams the body into `partial` (appending at `offset`), then checks size and, for LFS blobs, the sha256. */
async function receiveBody(
  ctx: Ctx,
  res: IncomingMessage,
  file: string,
  partial: string,
  offset: number,
  expected: number | null,
  etag: string,
  url: URL,
): Promise<void> {
  const { createHash } = await import("node:crypto");
  const { createWriteStream } = await import("node:fs");
  const { mkdir, rm, stat } = await import("node:fs/promises");
  const { dirname } = await import("node:path");
  const { Transform } = await import("node:stream");
  const { pipeline } = await import("node:stream/promises");

  await mkdir(dirname(partial), { recursive: true });
  // LFS blobs are named by their sha256: check it (hashing the resumed part first)
  const hash = SHA256_RE.test(etag) ? createHash("sha256") : null;
  if (hash && offset > 0) await hashFile(partial, hash);
  const bar = ctx.progressBar ? new ProgressBar(process.stderr, file) : null;
  let bytes = offset;
  const report = (): void => {
    ctx.onProgress?.(file, bytes, expected);
    bar?.update(bytes, expected);
  };
  report();
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash?.update(chunk);
      bytes += chunk.length;
      report();
      cb(null, chunk);
    },
  });
  const keptNote = (): string => `the ${bytes} bytes received are kept in ${partial} and the next try resumes from there`;
  const out = createWriteStream(partial, { flags: offset > 0 ? "a" : "w" });
  try {
    await pipeline(res, meter, out);
  } catch (e) {
    // writes still in flight land before we report (and before a retry reads the partial file's size)
    if (!out.closed) await new Promise<void>((done) => out.once("close", () => done()));
    bar?.finish(bytes, expected);
    const err = e as NodeJS.ErrnoException;
    if (err.syscall !== undefined && FS_SYSCALLS.has(err.syscall)) {
      throw new LoadError(`cannot write ${partial}: ${err.code ?? err.message}`);
    }
    const why = e instanceof NetworkError ? e.message : err.code ?? err.message;
    throw new NetworkError(`connection lost after ${bytes}${expected !== null ? ` of ${expected}` : ""} bytes of ${file} (${why}); ${keptNote()}`);
  }
  bar?.finish(bytes, expected);
  const size = (await stat(partial)).size;
  if (expected !== null && size < expected) {
    throw new NetworkError(`the body of ${describeUrl(url)} ended after ${size} of ${expected} bytes; ${keptNote()}`);
  }
  if (expected !== null && size > expected) {
    await rm(partial, { force: true });
    throw new LoadError(`GET ${describeUrl(url)}: received ${size} bytes of ${file}, expected ${expected}; the download was discarded`);
  }
  if (hash) {
    const got = hash.digest("hex");
    if (got !== etag) {
      await rm(partial, { force: true });
      throw new LoadError(
        `${file} from ${describeUrl(url)}: sha256 mismatch (expected ${etag} as the hub's X-Linked-Etag says, got ${got}); ` +
          "the download was discarded and nothing was cached",
      );
    }
  }
}

/** `snapshots/{commit}/{file}` → a relative symlink to the blob (a copy where symlinks are not allowed). */
async function linkSnapshot(repoDir: string, commit: string, file: string, blob: string): Promise<void> {
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
async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  const path = await import("node:path");
  const { mkdir, rename, writeFile } = await import("node:fs/promises");
  const ref = path.join(repoDir, "refs", ...revision.split("/"));
  await mkdir(path.dirname(ref), { recursive: true });
  const tmp = `${ref}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, commit);
  await rename(tmp, ref);
}
