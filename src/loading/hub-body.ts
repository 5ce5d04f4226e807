// Receiving one blob's bytes: streams the response into `{blob}.incomplete` (appending to a resumed part),
// reports progress, then checks the size and the digest the blob's name promises (hub-verify.ts) before the
// caller renames it into place. A mismatch discards the part: nothing unverified is ever cached.
import type { IncomingMessage } from "node:http";
import { LoadError } from "../errors.js";
import { cacheWriteError } from "./hub-cache.js";
import { describeUrl, NetworkError } from "./hub-http.js";
import { ProgressBar } from "./hub-progress.js";
import { blobHasher, blobKind, hashInto, kindName } from "./hub-verify.js";

export interface BodyTarget {
  /** The file as named in the repo (for messages and progress). */
  file: string;
  /** The partial file `{blob}.incomplete`. */
  partial: string;
  /** Bytes already in the partial file (a resumed download), where the body starts. */
  offset: number;
  /** The whole blob's size, when the server said. */
  expected: number | null;
  /** The blob's name: its digest (sha256 or git blob sha1) or another id. */
  etag: string;
  url: URL;
}

export interface BodySink {
  onProgress?: (file: string, bytes: number, total: number | null) => void;
  progressBar: boolean;
}

const FS_SYSCALLS = new Set(["open", "write", "close", "fsync", "rename", "mkdir"]);

/** Streams `res` into the partial file; throws NetworkError (worth a retry: the part is kept) or LoadError. */
export async function receiveBody(sink: BodySink, res: IncomingMessage, t: BodyTarget): Promise<void> {
  const { createWriteStream } = await import("node:fs");
  const { mkdir } = await import("node:fs/promises");
  const { dirname } = await import("node:path");
  const { Transform } = await import("node:stream");
  const { pipeline } = await import("node:stream/promises");

  await mkdir(dirname(t.partial), { recursive: true });
  const kind = blobKind(t.etag);
  // hashed as it arrives (the resumed part first) when the digest's prefix is known: a git sha1 needs the size
  const hash =
    kind !== null && (kind === "sha256" || t.expected !== null) ? await blobHasher(kind, t.expected ?? 0) : null;
  if (hash && t.offset > 0) await hashInto(t.partial, hash);
  const bar = sink.progressBar ? new ProgressBar(process.stderr, t.file) : null;
  let bytes = t.offset;
  const report = (): void => {
    sink.onProgress?.(t.file, bytes, t.expected);
    bar?.update(bytes, t.expected);
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
  const keptNote = (): string =>
    `the ${bytes} bytes received are kept in ${t.partial} and the next try resumes from there`;
  const out = createWriteStream(t.partial, { flags: t.offset > 0 ? "a" : "w" });
  try {
    await pipeline(res, meter, out);
  } catch (e) {
    // writes still in flight land before we report (and before a retry reads the partial file's size)
    if (!out.closed) await new Promise<void>((done) => out.once("close", () => done()));
    bar?.finish(bytes, t.expected);
    const err = e as NodeJS.ErrnoException;
    if (err.syscall !== undefined && FS_SYSCALLS.has(err.syscall)) {
      throw cacheWriteError(t.partial, err);
    }
    const why = e instanceof NetworkError ? e.message : (err.code ?? err.message);
    throw new NetworkError(
      `connection lost after ${bytes}${t.expected !== null ? ` of ${t.expected}` : ""} bytes of ${t.file} (${why}); ${keptNote()}`,
    );
  }
  bar?.finish(bytes, t.expected);
  await checkReceived(t, hash?.digest("hex") ?? null, keptNote);
}

/** The partial file is whole: its size is the expected one and its digest is its name (else it is discarded). */
async function checkReceived(t: BodyTarget, streamed: string | null, keptNote: () => string): Promise<void> {
  const { rm, stat } = await import("node:fs/promises");
  const size = (await stat(t.partial)).size;
  if (t.expected !== null && size < t.expected) {
    throw new NetworkError(
      `the body of ${describeUrl(t.url)} ended after ${size} of ${t.expected} bytes; ${keptNote()}`,
    );
  }
  if (t.expected !== null && size > t.expected) {
    await rm(t.partial, { force: true });
    throw new LoadError(
      `GET ${describeUrl(t.url)}: received ${size} bytes of ${t.file}, expected ${t.expected}; the download was discarded`,
    );
  }
  const kind = blobKind(t.etag);
  if (kind === null) return;
  let got = streamed;
  if (got === null) {
    const hash = await blobHasher(kind, size);
    await hashInto(t.partial, hash);
    got = hash.digest("hex");
  }
  if (got !== t.etag) {
    await rm(t.partial, { force: true });
    const source = kind === "sha256" ? "X-Linked-Etag" : "ETag";
    throw new LoadError(
      `${t.file} from ${describeUrl(t.url)}: ${kindName(kind)} mismatch (expected ${t.etag} as the hub's ${source} says, got ${got}); ` +
        "the download was discarded and nothing was cached",
    );
  }
}

/** Whether a partial file is already the whole blob (a run stopped between the last byte and the rename). */
export async function partialIsWhole(partial: string, etag: string): Promise<boolean> {
  const kind = blobKind(etag);
  if (kind === null) return false;
  try {
    const { stat } = await import("node:fs/promises");
    const hash = await blobHasher(kind, (await stat(partial)).size);
    await hashInto(partial, hash);
    return hash.digest("hex") === etag;
  } catch {
    return false;
  }
}
