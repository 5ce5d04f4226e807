// A real HTTP server on 127.0.0.1 that speaks the Hugging Face hub's download protocol, for the downloader tests:
// a "hub" (GET /{repo}/resolve/{revision}/{file}: small files answered 200 with ETag = git blob sha1; LFS files
// answered 302 to the "CDN" with X-Linked-Etag = sha256, X-Linked-Size; both with X-Repo-Commit; renamed repos
// answered 307 with a relative Location) and a "CDN" on another port (the LFS blobs, Range → 206). Every request
// is logged; `faults` injects the failures the tests need.
import { createHash } from "node:crypto";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";

export interface HubServerFile {
  data: Buffer;
  /** Stored with Git LFS (served through the CDN redirect, etag = sha256) or in git (etag = git blob sha1). */
  lfs: boolean;
}

export interface HubServerRepo {
  commit: string;
  files: Record<string, HubServerFile>;
}

export interface RequestRecord {
  server: "hub" | "cdn";
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface Faults {
  /** CDN: the next body is cut (connection destroyed) after this many bytes; once. */
  cutAfter?: number;
  /** CDN: send other bytes of the right length. */
  corrupt?: boolean;
  /** CDN: answer Range requests with 200 and the whole file. */
  ignoreRange?: boolean;
  /** CDN: answer the next Range request with 416; once. */
  refuseRangeOnce?: boolean;
  /** Hub: answer every resolve request with this status. */
  hubStatus?: number;
  /** CDN: answer every request with this status. */
  cdnStatus?: number;
  /** Hub: redirect every resolve request to itself. */
  redirectLoop?: boolean;
  /** CDN: send this many bytes of the next body, then go silent (connection left open); once. */
  stallAfter?: number;
  /** Hub: leave X-Repo-Commit out. */
  noCommit?: boolean;
  /** Hub: send other bytes of the right length for small (non-LFS) files. */
  corruptHub?: boolean;
  /** CDN: send bodies in 64 KiB pieces this many ms apart (slow enough for two clients to overlap). */
  chunkDelayMs?: number;
}

export interface HubServer {
  /** The hub's base URL (HF_ENDPOINT). */
  endpoint: string;
  /** The CDN's base URL (another port). */
  cdn: string;
  requests: RequestRecord[];
  faults: Faults;
  close(): Promise<void>;
}

export const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
/** Git's blob id: sha1 of "blob {size}\0" + bytes (what the hub sends as the ETag of a non-LFS file). */
export const gitBlobSha1 = (b: Buffer): string =>
  createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Serves `data` honouring `Range: bytes=N-` (206, or 416 past the end); `cut` ends the connection early. */
function sendBody(
  req: IncomingMessage,
  res: ServerResponse,
  data: Buffer,
  headers: Record<string, string>,
  faults: Faults,
): void {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  let body = data;
  let status = 200;
  if (range && !faults.ignoreRange) {
    const from = Number(range[1]);
    if (faults.refuseRangeOnce || from >= data.length) {
      faults.refuseRangeOnce = false;
      res.writeHead(416, { "Content-Range": `bytes */${data.length}`, "Content-Length": "0" });
      res.end();
      return;
    }
    body = data.subarray(from);
    status = 206;
    headers["Content-Range"] = `bytes ${from}-${data.length - 1}/${data.length}`;
  }
  res.writeHead(status, { ...headers, "Content-Length": String(body.length), "Accept-Ranges": "bytes" });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  if (faults.stallAfter !== undefined) {
    const n = faults.stallAfter;
    faults.stallAfter = undefined;
    res.write(body.subarray(0, n));
    return;
  }
  if (faults.chunkDelayMs !== undefined) {
    const delay = faults.chunkDelayMs;
    const piece = (at: number): void => {
      if (res.destroyed) return;
      if (at >= body.length) return void res.end();
      res.write(body.subarray(at, at + 65536), () => setTimeout(() => piece(at + 65536), delay));
    };
    piece(0);
    return;
  }
  if (faults.cutAfter !== undefined) {
    const cut = faults.cutAfter;
    faults.cutAfter = undefined;
    res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  res.end(body);
}

export async function startHubServer(
  repos: Record<string, HubServerRepo>,
  renames: Record<string, string> = {},
): Promise<HubServer> {
  const requests: RequestRecord[] = [];
  const faults: Faults = {};
  const blobs = new Map<string, Buffer>();
  for (const repo of Object.values(repos))
    for (const f of Object.values(repo.files)) if (f.lfs) blobs.set(sha256(f.data), f.data);

  let cdnBase = "";
  const cdn = createServer((req, res) => {
    requests.push({ server: "cdn", method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    if (faults.cdnStatus !== undefined) {
      res.writeHead(faults.cdnStatus, { "Content-Type": "text/plain" });
      res.end("cdn says no");
      return;
    }
    const m = /^\/repos\/[0-9a-f]{2}\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(new URL(req.url ?? "/", cdnBase).pathname);
    const blob = m ? blobs.get(m[1]!) : undefined;
    if (!blob) {
      res.writeHead(404);
      res.end();
      return;
    }
    let data = blob;
    if (faults.corrupt) {
      data = Buffer.from(blob);
      data[data.length >> 1]! ^= 0xff;
    }
    // S3's ETag is not the sha256; the client must use the hub's X-Linked-Etag
    sendBody(
      req,
      res,
      data,
      { ETag: `"${createHash("md5").update(blob).digest("hex")}"`, "Content-Type": "binary/octet-stream" },
      faults,
    );
  });

  const hub = createServer((req, res) => {
    requests.push({ server: "hub", method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec((req.url ?? "").split("?")[0]!);
    if (!m) {
      res.writeHead(404, { "X-Error-Code": "EntryNotFound" });
      res.end();
      return;
    }
    const [, repoId, rawRev, rawFile] = m as unknown as [string, string, string, string];
    if (faults.redirectLoop) {
      res.writeHead(302, { Location: req.url });
      res.end();
      return;
    }
    if (faults.hubStatus !== undefined) {
      res.writeHead(faults.hubStatus, { "X-Error-Message": "injected failure" });
      res.end();
      return;
    }
    if (renames[repoId] !== undefined) {
      res.writeHead(307, { Location: `/${renames[repoId]}/resolve/${rawRev}/${rawFile}` });
      res.end();
      return;
    }
    const repo = repos[repoId];
    if (!repo) {
      res.writeHead(401, { "X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found" });
      res.end();
      return;
    }
    const rev = decodeURIComponent(rawRev);
    if (rev !== "main" && rev !== repo.commit) {
      res.writeHead(404, { "X-Error-Code": "RevisionNotFound", "X-Error-Message": "Invalid rev id" });
      res.end();
      return;
    }
    const file = repo.files[decodeURIComponent(rawFile)];
    if (!file) {
      res.writeHead(404, { "X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found" });
      res.end();
      return;
    }
    const common: Record<string, string> = faults.noCommit ? {} : { "X-Repo-Commit": repo.commit };
    if (file.lfs) {
      const sha = sha256(file.data);
      res.writeHead(302, {
        ...common,
        Location: `${cdnBase}/repos/${sha.slice(0, 2)}/${sha.slice(2, 4)}/${sha}?X-Amz-Signature=deadbeef`,
        "X-Linked-Etag": `"${sha}"`,
        "X-Linked-Size": String(file.data.length),
        ETag: `"${sha}"`,
        "Content-Length": "0",
      });
      res.end();
      return;
    }
    // (the faults are the CDN's: the hub serves small files whole and honours Range)
    let data = file.data;
    if (faults.corruptHub) {
      data = Buffer.from(file.data);
      data[data.length >> 1]! ^= 0xff;
    }
    sendBody(
      req,
      res,
      data,
      { ...common, ETag: `W/"${gitBlobSha1(file.data)}"`, "Content-Type": "text/plain; charset=utf-8" },
      {},
    );
  });

  cdnBase = await listen(cdn);
  const endpoint = await listen(hub);
  return {
    endpoint,
    cdn: cdnBase,
    requests,
    faults,
    async close() {
      for (const s of [hub, cdn]) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}
