// Low-level HTTP for the hub downloader: one GET with Node's http/https (dynamically imported, so the loading
// folder stays importable in a browser bundle), an idle timeout, and the header helpers of the hub protocol.
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { HostNotFoundError, NetworkError } from "../errors.js";

// the transport's errors (src/errors.ts), re-exported for hub-fetch and hub-body
export { HostNotFoundError, NetworkError };

/**
 * Sends `GET url` with `headers` and resolves with the response once its headers arrive (the body is left
 * unread). No redirect is followed. `timeoutMs` bounds every silence on the socket (connect, headers, body).
 */
export async function httpGet(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<IncomingMessage> {
  const mod = url.protocol === "https:" ? await import("node:https") : await import("node:http");
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = mod.request(url, { method: "GET", headers }, (res) => {
      res.on("error", () => undefined); // the body's consumer reports body errors
      resolve(res);
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy(new NetworkError(`no data from ${describeUrl(url)} for ${Math.round(timeoutMs / 1000)} s`));
    });
    req.on("error", (e) => {
      if (e instanceof NetworkError) return reject(e);
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOTFOUND") {
        // no such host (or no network at all): retrying will not help
        return reject(
          new HostNotFoundError(
            `cannot resolve the host ${url.hostname} (no network? HF_HUB_OFFLINE=1 uses the cache only)`,
          ),
        );
      }
      reject(new NetworkError(`${url.host}: ${code ?? e.message}`));
    });
    req.end();
  });
}

/** One header's value as a string (the first one when repeated), or undefined. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === "" ? undefined : s;
}

/** An ETag as a plain id: weak prefix `W/` and surrounding quotes removed. */
export function normalizeEtag(etag: string | undefined): string | undefined {
  if (etag === undefined) return undefined;
  let s = etag.trim();
  if (s.startsWith("W/")) s = s.slice(2);
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1);
  return s === "" ? undefined : s;
}

/** A non-negative integer header (Content-Length, X-Linked-Size), or undefined when absent or malformed. */
export function sizeHeader(headers: IncomingHttpHeaders, name: string): number | undefined {
  const s = header(headers, name);
  if (s === undefined || !/^\d+$/.test(s.trim())) return undefined;
  const n = Number(s.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `Content-Range: bytes start-end/total` → its numbers (total null for `*`), or undefined when malformed. */
export function parseContentRange(
  s: string | undefined,
): { start: number; end: number; total: number | null } | undefined {
  const m = s === undefined ? null : /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(s);
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === "*" ? null : Number(m[3]) };
}

/** A URL for messages: no query string (CDN URLs carry signatures) and no credentials. */
export function describeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
