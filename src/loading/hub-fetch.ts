// Fetching one file of a hub repo into the cache's blobs/: GET {endpoint}/{repo}/resolve/{revision}/{file}, the
// redirect chain followed (the hub answers LFS files with a 302 to its CDN carrying X-Repo-Commit, X-Linked-Etag
// and X-Linked-Size; small files with a 200 carrying X-Repo-Commit and ETag), retries that resume the partial file,
// the blob's lock held while its bytes are written, and a cached blob reused only when its bytes match its name.
import type { IncomingMessage } from "node:http";
import { LoadError } from "../errors.js";
import { receiveBody, partialIsWhole, type BodySink } from "./hub-body.js";
import { blobLockPath, checkId, fileSize } from "./hub-cache.js";
import {
  describeUrl,
  header,
  HostNotFoundError,
  httpGet,
  NetworkError,
  normalizeEtag,
  parseContentRange,
  sizeHeader,
  sleep,
} from "./hub-http.js";
import { lock, tryLock, type BlobLock } from "./hub-lock.js";
import { blobIsValid, markVerified } from "./hub-verify.js";

export interface FetchCtx extends BodySink {
  endpoint: string;
  origin: string;
  token: string | null;
  repoDir: string;
  retries: number;
  retryDelayMs: number;
  timeoutMs: number;
  /** Fetch blobs again even when a valid one is cached. */
  force: boolean;
}

export interface Fetched {
  commit: string;
  blob: string;
}

const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRY_STATUSES = new Set([502, 503, 504]);

/** One file into `blobs/`, with retries (each resuming) after network failures; a NetworkError when they run out,
 *  a HostNotFoundError at once when the host does not resolve. */
export async function fetchFile(ctx: FetchCtx, repo: string, revision: string, file: string): Promise<Fetched> {
  const rev = encodeURIComponent(revision);
  const url = new URL(`${ctx.endpoint}/${repo}/resolve/${rev}/${file.split("/").map(encodeURIComponent).join("/")}`);
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Attempt(ctx, url, file).run();
    } catch (e) {
      if (e instanceof HostNotFoundError)
        throw new HostNotFoundError(`download of ${describeUrl(url)} failed: ${e.message}`, { cause: e });
      if (!(e instanceof NetworkError)) throw e;
      if (attempt >= ctx.retries) {
        const tries = attempt + 1;
        throw new NetworkError(
          `download of ${describeUrl(url)} failed${tries > 1 ? ` (${tries} tries)` : ""}: ${e.message}`,
          { cause: e },
        );
      }
      await sleep(ctx.retryDelayMs * (attempt + 1));
    }
  }
}

function statusError(res: IncomingMessage, url: URL, start: URL, token: string | null): LoadError {
  res.resume();
  const status = res.statusCode ?? 0;
  const code = header(res.headers, "x-error-code");
  const msg = header(res.headers, "x-error-message");
  const where =
    url.href === start.href ? describeUrl(url) : `${describeUrl(start)} (redirected to ${describeUrl(url)})`;
  let hint = "";
  if (status === 401 || status === 403) {
    hint = token
      ? "; the repo may not exist, or the token in HF_TOKEN has no access to it"
      : "; the repo may not exist, or be private or gated (set HF_TOKEN to a token with access)";
  } else if (status === 404) {
    hint = "; no such repo, revision or file";
  }
  return new LoadError(
    `GET ${where}: HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}${code ? ` [${code}]` : ""}${msg ? `: ${msg}` : ""}${hint}`,
  );
}

/** Where the redirect in `res` points (http(s) only). */
function redirectTarget(res: IncomingMessage, url: URL): URL {
  res.resume();
  const status = res.statusCode ?? 0;
  const loc = header(res.headers, "location");
  if (loc === undefined)
    throw new LoadError(`GET ${describeUrl(url)}: HTTP ${status} redirect without a Location header`);
  let next: URL;
  try {
    next = new URL(loc, url);
  } catch {
    throw new LoadError(
      `GET ${describeUrl(url)}: HTTP ${status} redirect to an invalid Location ${JSON.stringify(loc)}`,
    );
  }
  if (next.protocol !== "http:" && next.protocol !== "https:") {
    throw new LoadError(`GET ${describeUrl(url)}: redirect to a non-HTTP URL (${next.protocol})`);
  }
  return next;
}

/** One try at one file: follows the redirect chain, then receives the body into the blob. */
class Attempt {
  private url: URL;
  private hops = 0;
  private restarted = false;
  private commit?: string;
  private linkedEtag?: string;
  private linkedSize?: number;
  private hubEtag?: string;
  private held: { etag: string; lock: BlobLock } | null = null;
  /** Another process fetched the blob while we waited for its lock: it is fresh even under `force`. */
  private waited = false;

  constructor(
    private readonly ctx: FetchCtx,
    private readonly start: URL,
    private readonly file: string,
  ) {
    this.url = start;
  }

  async run(): Promise<Fetched> {
    try {
      return await this.loop();
    } finally {
      await this.held?.lock.release();
    }
  }

  private blobOf(etag: string): string {
    return `${this.ctx.repoDir}/blobs/${etag}`;
  }

  /** Back to the first URL, forgetting what the chain said. */
  private rewind(): void {
    this.url = this.start;
    this.hops = 0;
    this.commit = this.linkedEtag = this.hubEtag = this.linkedSize = undefined;
  }

  private async restart(partial: string, why: string): Promise<void> {
    const { rm } = await import("node:fs/promises");
    await rm(partial, { force: true });
    if (this.restarted) throw new LoadError(`${describeUrl(this.start)}: ${why}, again after starting over`);
    this.restarted = true;
    this.rewind();
  }

  /** A cached blob that may be served: valid, and not to be fetched again (force, unless just fetched by another). */
  private async reusable(etag: string): Promise<boolean> {
    return (!this.ctx.force || this.waited) && (await blobIsValid(this.blobOf(etag), etag));
  }

  /** Holds the blob's lock; false when another process held it (we waited for it: the chain starts over). */
  private async hold(etag: string, res?: IncomingMessage): Promise<boolean> {
    if (this.held?.etag === etag) return true;
    await this.held?.lock.release();
    this.held = null;
    const path = await blobLockPath(this.ctx.repoDir, etag);
    const free = await tryLock(path);
    if (free !== null) {
      this.held = { etag, lock: free };
      return true;
    }
    res?.destroy();
    this.held = { etag, lock: (await lock(path)).held };
    this.waited = true;
    this.rewind();
    return false;
  }

  private async loop(): Promise<Fetched> {
    for (;;) {
      if (this.hops > MAX_REDIRECTS)
        throw new LoadError(`GET ${describeUrl(this.start)}: more than ${MAX_REDIRECTS} redirects`);
      const headers: Record<string, string> = { "User-Agent": "tlens (hub downloader)", "Accept-Encoding": "identity" };
      if (this.ctx.token && this.url.origin === this.ctx.origin) headers.Authorization = `Bearer ${this.ctx.token}`;
      // once the hub has named the blob (LFS: X-Linked-Etag on its redirect), take its lock, then skip or resume it
      let rangeFrom = 0;
      if (this.linkedEtag !== undefined && this.commit !== undefined) {
        checkId(this.linkedEtag, "X-Linked-Etag", this.url);
        if (!(await this.hold(this.linkedEtag))) continue;
        if (await this.reusable(this.linkedEtag)) return { commit: this.commit, blob: this.blobOf(this.linkedEtag) };
        rangeFrom = await fileSize(`${this.blobOf(this.linkedEtag)}.incomplete`);
        if (rangeFrom > 0) headers.Range = `bytes=${rangeFrom}-`;
      }
      const res = await httpGet(this.url, headers, this.ctx.timeoutMs);
      const h = res.headers;
      const status = res.statusCode ?? 0;
      const repoCommit = header(h, "x-repo-commit");
      if (repoCommit !== undefined) {
        this.commit = repoCommit.trim();
        this.hubEtag = normalizeEtag(header(h, "etag")) ?? this.hubEtag;
      }
      this.linkedEtag = normalizeEtag(header(h, "x-linked-etag")) ?? this.linkedEtag;
      this.linkedSize = sizeHeader(h, "x-linked-size") ?? this.linkedSize;

      if (REDIRECTS.has(status)) {
        this.url = redirectTarget(res, this.url);
        this.hops++;
        continue;
      }
      if (status === 416 && rangeFrom > 0 && this.linkedEtag !== undefined) {
        res.resume();
        const done = await this.rangeRefused(rangeFrom);
        if (done !== null) return done;
        continue;
      }
      if (RETRY_STATUSES.has(status)) {
        res.resume();
        throw new NetworkError(
          `GET ${describeUrl(this.url)}: HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}`,
        );
      }
      if (status !== 200 && status !== 206) throw statusError(res, this.url, this.start, this.ctx.token);
      const done = await this.body(res, rangeFrom);
      if (done !== null) return done;
    }
  }

  /** HTTP 416 to our Range: the partial file may already be whole; else start over. */
  private async rangeRefused(rangeFrom: number): Promise<Fetched | null> {
    const etag = this.linkedEtag!;
    const blob = this.blobOf(etag);
    const partial = `${blob}.incomplete`;
    if (this.commit !== undefined && this.linkedSize === rangeFrom && (await partialIsWhole(partial, etag))) {
      const { rename } = await import("node:fs/promises");
      await rename(partial, blob);
      await markVerified(blob);
      return { commit: this.commit, blob };
    }
    await this.restart(partial, `the server refused the range bytes=${rangeFrom}- (HTTP 416)`);
    return null;
  }

  /** A 200/206 with the file's bytes: into the blob (null: the chain starts over). */
  private async body(res: IncomingMessage, rangeFrom: number): Promise<Fetched | null> {
    const h = res.headers;
    const commit = this.commit;
    if (commit === undefined) {
      res.destroy();
      throw new LoadError(
        `GET ${describeUrl(this.start)}: the response has no X-Repo-Commit header, so ${this.ctx.endpoint} does not look like a ` +
          "Hugging Face hub (check HF_ENDPOINT)",
      );
    }
    checkId(commit, "commit (X-Repo-Commit)", this.url);
    const etag = this.linkedEtag ?? this.hubEtag ?? normalizeEtag(header(h, "etag"));
    if (etag === undefined) {
      res.destroy();
      throw new LoadError(
        `GET ${describeUrl(this.start)}: the response has neither X-Linked-Etag nor ETag, so the file cannot be cached`,
      );
    }
    checkId(etag, "ETag", this.url);
    if (!(await this.hold(etag, res))) return null;
    const blob = this.blobOf(etag);
    const partial = `${blob}.incomplete`;
    if (await this.reusable(etag)) {
      res.destroy();
      return { commit, blob };
    }
    const encoding = header(h, "content-encoding");
    if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity") {
      res.destroy();
      throw new LoadError(
        `GET ${describeUrl(this.url)}: the server sent the file ${encoding}-encoded although asked for identity`,
      );
    }
    const span = this.span(res, rangeFrom);
    if (span === null) {
      res.destroy();
      await this.restart(
        partial,
        `the server sent a range that was not asked for (${header(h, "content-range") ?? "no Content-Range"})`,
      );
      return null;
    }
    await receiveBody(this.ctx, res, {
      file: this.file,
      partial,
      offset: span.offset,
      expected: span.expected,
      etag,
      url: this.url,
    });
    const { rename } = await import("node:fs/promises");
    await rename(partial, blob);
    await markVerified(blob);
    return { commit, blob };
  }

  /** Where the body starts and the blob's whole size; null for a range we did not ask for. */
  private span(res: IncomingMessage, rangeFrom: number): { offset: number; expected: number | null } | null {
    const h = res.headers;
    let expected: number | null = this.linkedSize ?? null;
    const mismatch = (what: string, n: number): LoadError =>
      new LoadError(`GET ${describeUrl(this.url)}: X-Linked-Size says ${expected} bytes but ${what} says ${n}`);
    if (res.statusCode === 206) {
      const cr = parseContentRange(header(h, "content-range"));
      if (cr === undefined || rangeFrom === 0 || cr.start !== rangeFrom || this.linkedEtag === undefined) return null;
      if (cr.total !== null) {
        if (expected !== null && expected !== cr.total) {
          res.destroy();
          throw mismatch("Content-Range", cr.total);
        }
        expected = cr.total;
      }
      return { offset: cr.start, expected };
    }
    // 200: the whole file (when we asked for a range, the server ignored it: start over)
    const cl = sizeHeader(h, "content-length");
    if (cl !== undefined) {
      if (expected !== null && expected !== cl) {
        res.destroy();
        throw mismatch("Content-Length", cl);
      }
      expected = cl;
    }
    return { offset: 0, expected };
  }
}
