// The lab's HTTP server (node:http): the page, its modules, plotly.js and the viewer runtime, and the JSON API. Model
// work goes through one JobQueue (one run at a time, bounded, cancellable when the client goes away); validation,
// the IOI generator and the info routes answer at once. Binds 127.0.0.1 unless a non-loopback host is explicitly
// allowed, and then refuses requests whose Host header is not a loopback name (DNS rebinding). For the in-browser mode
// it also serves the browser bundle's lab worker and the model's files under fixed routes (assets.ts); every answer is
// sent with the headers that make the page cross-origin isolated.
import { createReadStream, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname } from "node:path";
import { plotlyJs } from "../viz/html.js";
import { VIEWER_JS } from "../viz/viewer-runtime.js";
import { browserRoutes, type BrowserAssets } from "./assets.js";
import { describeFailure, ioiCall, MODEL_CALLS, patchCall, type LabJob } from "./calls.js";
import type { LabModel } from "./compute.js";
import { labPage } from "./page.js";
import type { BrowserModeInfo, ErrorBody, PatchEvent } from "./protocol.js";
import { JobQueue } from "./queue.js";
import { APP_ROOT, readAppModule } from "./static.js";
import { LabError } from "./validate.js";

export interface LabServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** A host that is not a loopback address is refused unless this is true (`tlens lab --host` sets it). */
  allowNonLoopback?: boolean;
  /** Jobs that may wait for the model (default 256); more get 503. */
  maxQueued?: number;
  /** Largest request body in bytes (default 64 KiB); more get 413. */
  maxBodyBytes?: number;
  /** The in-browser mode's files (the browser bundle, the model's folder); without them the mode is unavailable. */
  browser?: BrowserAssets;
}

export interface LabServer {
  /** http://host:port */
  url: string;
  host: string;
  port: number;
  queue: JobQueue;
  server: Server;
  /** Whether the page can run the model itself (GET /api/browser). */
  browser: BrowserModeInfo;
  close(): Promise<void>;
}

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return h === "localhost" || h === "::1" || h === "::ffff:127.0.0.1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/** On every answer. COOP + COEP make the page cross-origin isolated (SharedArrayBuffer: the in-browser mode's wasm
 *  kernels run threaded); CORP lets the isolated page load the lab's own files and nobody else's page load them. */
const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff", "cache-control": "no-store",
  "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin",
};

const FILE_TYPES: Record<string, string> = { ".js": "text/javascript; charset=utf-8", ".wasm": "application/wasm", ".json": "application/json; charset=utf-8" };

/** A file of the in-browser mode (a fixed route), streamed. */
function sendFile(res: ServerResponse, file: string, head: boolean): void {
  const type = FILE_TYPES[extname(file)] ?? "application/octet-stream";
  res.writeHead(200, { "content-type": type, "content-length": statSync(file).size, ...SECURITY_HEADERS });
  if (head) res.end();
  else createReadStream(file).on("error", () => res.destroy()).pipe(res);
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), ...SECURITY_HEADERS });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, error: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body: ErrorBody = { error };
  sendJson(res, status, body);
}

/** The JSON body, at most `limit` bytes (a larger one is drained without being kept, then refused with 413). */
function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on("end", () => {
      if (size > limit || declared > limit) {
        reject(new LabError(413, `the request body is ${Math.max(size, declared)} bytes; at most ${limit} are accepted`));
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        reject(new LabError(400, "the request body is not valid JSON"));
      }
    });
    req.on("error", reject);
  });
}

type JsonRoute = (lab: LabModel, body: unknown, queue: JobQueue, signal: AbortSignal) => Promise<unknown>;

/** A model call as a route: validated first (bad requests never wait), then queued. */
function queued(call: (lab: LabModel, body: unknown) => LabJob): JsonRoute {
  return async (lab, body, q, signal) => { const job = call(lab, body); return q.submit(job, signal); };
}

const JSON_ROUTES: Record<string, JsonRoute> = {
  "/api/run": queued(MODEL_CALLS.run),
  "/api/attention": queued(MODEL_CALLS.attention),
  "/api/logit-lens": queued(MODEL_CALLS.logitLens),
  "/api/dla": queued(MODEL_CALLS.dla),
  "/api/ioi": async (lab, body) => ioiCall(lab, body),
};

/** POST /api/patch: NDJSON PatchEvents (queued, progress..., then result or error). */
async function patchRoute(lab: LabModel, body: unknown, queue: JobQueue, signal: AbortSignal, res: ServerResponse): Promise<void> {
  const sweep = patchCall(lab, body);
  const event = (e: PatchEvent): void => { if (!res.destroyed) res.write(`${JSON.stringify(e)}\n`); };
  const ahead = queue.ahead;
  // submit throws (503) before anything is written; the job's first progress comes after the head below
  const done = queue.submit((s) => sweep({ signal: s, onProgress: (d, total) => event({ type: "progress", done: d, total }) }), signal);
  res.writeHead(200, { "content-type": "application/x-ndjson; charset=utf-8", ...SECURITY_HEADERS });
  event({ type: "queued", ahead });
  try {
    event({ type: "result", result: await done });
  } catch (e) {
    if (!signal.aborted) event({ type: "error", error: describeFailure(e).message });
  }
  res.end();
}

export async function startLab(lab: LabModel, opts: LabServerOptions = {}): Promise<LabServer> {
  const host = opts.host ?? "127.0.0.1";
  const loopback = isLoopback(host);
  if (!loopback && !opts.allowNonLoopback) {
    throw new LabError(400, `refusing to listen on ${host}: the lab has no authentication and listens on 127.0.0.1 unless a host is given explicitly (tlens lab --host ${host})`);
  }
  const queue = new JobQueue(opts.maxQueued ?? 256);
  const maxBody = opts.maxBodyBytes ?? 64 * 1024;
  const page = labPage(lab.name);
  const browser = browserRoutes(opts.browser);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const controller = new AbortController();
    res.on("close", () => { if (!res.writableFinished) controller.abort(); });
    const hostHeader = (req.headers.host ?? "").replace(/:\d+$/, "");
    if (loopback && !isLoopback(hostHeader)) {
      sendError(res, 403, `the lab answers only requests addressed to a loopback host, not ${JSON.stringify(hostHeader)}`);
      return;
    }
    const raw = req.url ?? "/";
    const path = raw.split("?", 1)[0];
    try {
      const route = Object.hasOwn(JSON_ROUTES, path) ? JSON_ROUTES[path] : null;
      const post = route !== null || path === "/api/patch";
      if (!post && (req.method === "GET" || req.method === "HEAD")) {
        if (path === "/" || path === "/index.html") return send(res, 200, "text/html; charset=utf-8", page);
        if (path === "/vendor/plotly.min.js") return send(res, 200, "text/javascript; charset=utf-8", plotlyJs());
        if (path === "/vendor/tlens-viewer.js") return send(res, 200, "text/javascript; charset=utf-8", VIEWER_JS);
        if (path === "/api/info") return sendJson(res, 200, lab.info());
        if (path === "/api/status") return sendJson(res, 200, queue.stats);
        if (path === "/api/browser") return sendJson(res, 200, browser.info);
        const file = browser.routes.get(raw); // the whole raw path, query included: exact routes only
        if (file !== undefined) return sendFile(res, file, req.method === "HEAD");
        if (path.startsWith("/app/")) {
          const js = await readAppModule(APP_ROOT, path.slice("/app/".length));
          if (js !== null) return send(res, 200, "text/javascript; charset=utf-8", js);
        }
        return sendError(res, 404, "not found");
      }
      if (!post) return sendError(res, 404, "not found");
      if (req.method !== "POST") return sendError(res, 405, `use POST for ${path}`);
      if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
        return sendError(res, 415, "send the request as JSON (content-type: application/json)");
      }
      const body = await readBody(req, maxBody);
      if (route) sendJson(res, 200, await route(lab, body, queue, controller.signal));
      else await patchRoute(lab, body, queue, controller.signal, res);
    } catch (e) {
      if (controller.signal.aborted) return; // the client went away: nobody to answer
      const { status, message } = describeFailure(e);
      if (status === 500) console.error(`tlens lab: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      sendError(res, status, message);
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  server.maxConnections = 1024;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`, host, port, queue, server, browser: browser.info,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
