// The lab server's answers and request bodies: the security headers on every answer, JSON and file answers, and
// a bounded JSON body reader that refuses an oversized body early (the declared Content-Length first, else once
// the bytes read pass the limit) and stops reading it.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname } from "node:path";
import type { ErrorBody } from "./protocol.js";
import { LabError } from "./validate.js";

/** On every answer. COOP + COEP make the page cross-origin isolated (SharedArrayBuffer: the in-browser mode's wasm
 *  kernels run threaded); CORP lets the isolated page load the lab's own files and nobody else's page load them. */
export const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

const FILE_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json; charset=utf-8",
};

export function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), ...SECURITY_HEADERS });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(body));
}

export function sendError(res: ServerResponse, status: number, error: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body: ErrorBody = { error };
  sendJson(res, status, body);
}

/** Answers with an error and closes the connection without reading the rest of the request (an oversized body). */
export function refuseAndClose(req: IncomingMessage, res: ServerResponse, status: number, error: string): void {
  req.socket.pause(); // no more of the body is read
  res.setHeader("connection", "close");
  // a moment for the answer to reach the client before the unread bytes make the close a reset
  res.on("finish", () => setTimeout(() => req.socket.destroy(), 50).unref());
  sendError(res, status, error);
}

/** A file of the in-browser mode (a fixed route), streamed; a file gone missing is a 404 that names no path. */
export async function sendFile(res: ServerResponse, file: string, head: boolean): Promise<void> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return sendError(res, 404, "not found: the file is no longer on the server's disk");
  }
  const type = FILE_TYPES[extname(file)] ?? "application/octet-stream";
  res.writeHead(200, { "content-type": type, "content-length": size, ...SECURITY_HEADERS });
  if (head) res.end();
  else
    createReadStream(file)
      .on("error", () => res.destroy())
      .pipe(res);
}

const tooLarge = (size: string, limit: number): LabError =>
  new LabError(413, `the request body is ${size}; at most ${limit} are accepted`);

/** The JSON body, at most `limit` bytes. Larger: a LabError(413) as soon as that is known (the caller closes). */
export function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) return reject(tooLarge(`${declared} bytes`, limit));
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size <= limit) return void chunks.push(c);
      req.off("data", onData);
      reject(tooLarge(`over ${limit} bytes`, limit));
    };
    req.on("data", onData);
    req.on("end", () => {
      if (size > limit) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        reject(new LabError(400, "the request body is not valid JSON"));
      }
    });
    req.on("error", reject);
  });
}
