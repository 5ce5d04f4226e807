// The Hugging Face hub downloader (DESIGN §3 "Hub protocol"): a registry name or repo id → its snapshot folder in
// the local cache (hub-cache.ts: huggingface_hub's layout, shared with Python), each missing or corrupt file
// fetched by hub-fetch.ts. Node modules are imported dynamically so this folder stays importable in a browser.
import { LoadError } from "../errors.js";
import {
  cacheWriteError,
  checkFile,
  checkRevision,
  hubRepoCacheDir,
  isHubRepoId,
  linkSnapshot,
  snapshotState,
  writeRef,
  type CacheOptions,
} from "./hub-cache.js";
import { env, hubCacheDir, hubOffline, hubEndpoint } from "./hub-env.js";
import { fetchFile, type FetchCtx } from "./hub-fetch.js";
import { HUB_MODEL_FILES, HUB_MODELS, resolveHubModel } from "./hub-registry.js";

export { HUB_MODEL_FILES, HUB_MODELS, resolveHubModel, type HubModel } from "./hub-registry.js";
export { hubCacheDir, hubEndpoint, hubOffline } from "./hub-env.js";
export { findCachedSnapshot, hubRepoCacheDir, isHubRepoId, type CacheOptions } from "./hub-cache.js";

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
  /** Ask the hub even when the cache holds the revision, and fetch every file's bytes again (a moved branch gets
   *  its new commit; the blobs are replaced). */
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

// One download per repo at a time inside this process; other processes are kept apart by the blobs' lock files.
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

function fetchCtx(opts: DownloadOptions, repoDir: string): FetchCtx {
  const endpoint = (opts.endpoint ?? hubEndpoint()).trim().replace(/\/+$/, "");
  let origin: string;
  try {
    const u = new URL(endpoint);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new LoadError("not http(s)");
    origin = u.origin;
  } catch {
    throw new LoadError(
      `invalid hub endpoint ${JSON.stringify(endpoint)} (HF_ENDPOINT): expected an http(s) URL such as https://huggingface.co`,
    );
  }
  return {
    endpoint,
    origin,
    token: opts.token === undefined ? (env("HF_TOKEN") ?? null) : opts.token,
    repoDir,
    retries: Math.max(0, Math.floor(opts.retries ?? 3)),
    retryDelayMs: Math.max(0, opts.retryDelayMs ?? 1000),
    timeoutMs: Math.max(1, opts.timeoutMs ?? 30_000),
    force: opts.force === true,
    onProgress: opts.onProgress,
    progressBar: opts.progressBar ?? (typeof process !== "undefined" && process.stderr?.isTTY === true),
  };
}

/**
 * Makes `nameOrRepo` (a registry name such as "gpt2-small", or a hub repo id "org/name") available in the hub cache
 * and returns its snapshot folder (config.json + model.safetensors for the registry's models).
 *
 * A revision whose snapshot is complete and intact in the cache (each blob's bytes match its name: sha256 for LFS
 * files, git's blob sha1 for the rest) is served with no request. Otherwise each file is fetched with
 * `GET {endpoint}/{repo}/resolve/{revision}/{file}` into `blobs/{etag}.incomplete` (resuming a partial one with
 * Range) under the blob's lock file, checked (size and digest), renamed into `blobs/{etag}` and linked from
 * `snapshots/{commit}/`; `refs/{revision}` is written last. A corrupt cached blob is fetched again, never served.
 * Offline (`HF_HUB_OFFLINE=1` or `offline`), a missing or corrupt file is a LoadError and no request is made.
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
      const state = await snapshotState(repoDir, revision, files);
      if (state.missing.length === 0 && state.corrupt.length === 0) return state.snapshot!;
      if (offline) {
        const label = known
          ? `"${nameOrRepo}" (hub repo ${repo}, revision ${revision})`
          : `hub repo ${repo} (revision ${revision})`;
        const what = [
          state.missing.length > 0 ? `missing ${state.missing.join(", ")}` : "",
          state.corrupt.length > 0 ? `${state.corrupt.join(", ")} corrupt (bytes not matching the blob's hash)` : "",
        ]
          .filter((s) => s !== "")
          .join("; ");
        throw new LoadError(
          `${label} is not in the Hugging Face cache at ${cacheDir} (${what}) and offline mode is on ` +
            `(${opts.offline ? "offline: true" : "HF_HUB_OFFLINE"}), so nothing was downloaded. Turn offline mode off, or fill ` +
            `${repoDir} from a machine where the hub is reachable (\`tlens download ${nameOrRepo}\`).`,
        );
      }
    }
    const ctx = fetchCtx(opts, repoDir);
    const { mkdir } = await import("node:fs/promises");
    await mkdir(path.join(repoDir, "blobs"), { recursive: true }).catch((e: unknown) => {
      throw cacheWriteError(repoDir, e);
    });

    // The first file pins the commit; the others are fetched at that commit, so a push in between cannot mix
    // files of two commits into one snapshot.
    let commit: string | undefined;
    for (const file of files) {
      const got = await fetchFile(ctx, repo, commit ?? revision, file);
      if (commit !== undefined && got.commit !== commit) {
        throw new LoadError(
          `${repo}/${file}: the hub answered with commit ${got.commit} for a request at commit ${commit}`,
        );
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
