// The lab's HTTP server (node:http): the page, its modules, plotly.js and the viewer runtime, and the JSON API. Model
// work goes through one JobQueue (one run at a time, bounded, cancellable when the client goes away); validation,
// the IOI generator and the info routes answer at once. Binds 127.0.0.1 unless a non-loopback host is explicitly
// allowed; on every bind, a request whose Host header is not on the allowlist is refused (DNS rebinding, hosts.ts).
// Slow clients are cut off within seconds (header and request timeouts), oversized bodies are refused before they
// are read, and the connections are capped. For the in-browser mode
// it also serves the browser bundle's lab worker and the model's files under fixed routes (assets.ts); every answer is
// sent with the headers that make the page cross-origin isolated. Started with a job queue (`tlens lab --queue`), it
// also sends IOI sweeps to that queue (POST /api/sweep, sweep.ts): they run on `tlens worker` processes, not here.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { plotlyJs } from "../viz/html.js";
import { VIEWER_JS } from "../viz/viewer-runtime.js";
import { browserRoutes, type BrowserAssets } from "./assets.js";
import { describeFailure, ioiCall, MODEL_CALLS, patchCall, saeCall, type LabJob } from "./calls.js";
import type { LabModel } from "./compute.js";
import { labPage } from "./page.js";
import { hostAllowlist, isLoopback } from "./hosts.js";
import { readBody, refuseAndClose, send, sendError, sendFile, sendJson, SECURITY_HEADERS } from "./http.js";
import type { BrowserModeInfo, PatchEvent } from "./protocol.js";
import { JobQueue } from "./queue.js";
import { saeModeInfo } from "./sae.js";
import { queueModeInfo, sweepRoute, type LabSweeps } from "./sweep.js";
import { APP_ROOT, readAppModule } from "./static.js";
import { LabError } from "./validate.js";

export { isLoopback } from "./hosts.js";

export interface LabServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** A host that is not a loopback address is refused unless this is true (`tlens lab --host` sets it). */
  allowNonLoopback?: boolean;
  /** Jobs that may wait for the model (default 256); more get 503. */
  maxQueued?: number;
  /** Largest request body in bytes (default 64 KiB); more get 413 and the connection is closed unread. */
  maxBodyBytes?: number;
  /** Host names (besides loopback names and the bound address) that requests may be addressed to (`--allowed-host`). */
  allowedHosts?: readonly string[];
  /** A client must send its request headers within this (default 10 000 ms). */
  headersTimeoutMs?: number;
  /** A client must send its whole request, body included, within this (default 20 000 ms). */
  requestTimeoutMs?: number;
  /** Open connections at most (default 128: the page needs a few, a queue of waiting requests more); more are closed at once. */
  maxConnections?: number;
  /** The in-browser mode's files (the browser bundle, the model's folder); without them the mode is unavailable. */
  browser?: BrowserAssets;
  /** Sweeps sent to a job queue (`tlens lab --queue`): POST /api/sweep; without, that route answers 404. */
  sweeps?: LabSweeps;
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

type JsonRoute = (lab: LabModel, body: unknown, queue: JobQueue, signal: AbortSignal) => Promise<unknown>;

/** A model call as a route: validated first (bad requests never wait), then queued. */
function queued(call: (lab: LabModel, body: unknown) => LabJob): JsonRoute {
  return async (lab, body, q, signal) => {
    const job = call(lab, body);
    return q.submit(job, signal);
  };
}

const JSON_ROUTES: Record<string, JsonRoute> = {
  "/api/run": queued(MODEL_CALLS.run),
  "/api/attention": queued(MODEL_CALLS.attention),
  "/api/logit-lens": queued(MODEL_CALLS.logitLens),
  "/api/dla": queued(MODEL_CALLS.dla),
  "/api/attribution": queued(MODEL_CALLS.attribution),
  "/api/sae-features": queued(saeCall),
  "/api/ioi": async (lab, body) => ioiCall(lab, body),
};

/** POST /api/patch: NDJSON PatchEvents (queued, progress..., then result or error). */
async function patchRoute(
  lab: LabModel,
  body: unknown,
  queue: JobQueue,
  signal: AbortSignal,
  res: ServerResponse,
): Promise<void> {
  const sweep = patchCall(lab, body);
  const event = (e: PatchEvent): void => {
    if (!res.destroyed) res.write(`${JSON.stringify(e)}\n`);
  };
  const ahead = queue.ahead;
  // submit throws (503) before anything is written; the job's first progress comes after the head below
  const done = queue.submit(
    (s) => sweep({ signal: s, onProgress: (d, total) => event({ type: "progress", done: d, total }) }),
    signal,
  );
  res.writeHead(200, { "content-type": "application/x-ndjson; charset=utf-8", ...SECURITY_HEADERS });
  event({ type: "queued", ahead });
  try {
    event({ type: "result", result: await done });
  } catch (e) {
    if (!signal.aborted) event({ type: "error", error: describeFailure(e).message });
  }
  res.end();
}

interface Routes {
  lab: LabModel;
  queue: JobQueue;
  page: string;
  browser: ReturnType<typeof browserRoutes>;
  maxBody: number;
  sweeps?: LabSweeps;
}

/** GET/HEAD routes: the page, its modules, the info routes, the in-browser mode's files. */
async function getRoute(
  r: Routes,
  req: IncomingMessage,
  res: ServerResponse,
  raw: string,
  path: string,
): Promise<void> {
  if (path === "/" || path === "/index.html") return send(res, 200, "text/html; charset=utf-8", r.page);
  if (path === "/vendor/plotly.min.js") return send(res, 200, "text/javascript; charset=utf-8", plotlyJs());
  if (path === "/vendor/tlens-viewer.js") return send(res, 200, "text/javascript; charset=utf-8", VIEWER_JS);
  if (path === "/api/info") return sendJson(res, 200, r.lab.info());
  if (path === "/api/status") return sendJson(res, 200, r.queue.stats);
  if (path === "/api/browser") return sendJson(res, 200, r.browser.info);
  if (path === "/api/queue") return sendJson(res, 200, queueModeInfo(r.sweeps));
  if (path === "/api/sae") return sendJson(res, 200, saeModeInfo(r.lab.sae));
  const file = r.browser.routes.get(raw); // the whole raw path, query included: exact routes only
  if (file !== undefined) return sendFile(res, file, req.method === "HEAD");
  if (path.startsWith("/app/")) {
    const js = await readAppModule(APP_ROOT, path.slice("/app/".length));
    if (js !== null) return send(res, 200, "text/javascript; charset=utf-8", js);
  }
  return sendError(res, 404, "not found");
}

/** One request, its Host already allowed. */
async function route(r: Routes, req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const raw = req.url ?? "/";
  const path = raw.split("?", 1)[0]!;
  const json = Object.hasOwn(JSON_ROUTES, path) ? JSON_ROUTES[path] : null;
  const post = json !== null || path === "/api/patch" || (path === "/api/sweep" && r.sweeps !== undefined);
  if (!post && (req.method === "GET" || req.method === "HEAD")) return getRoute(r, req, res, raw, path);
  if (!post) return sendError(res, 404, "not found");
  if (req.method !== "POST") return sendError(res, 405, `use POST for ${path}`);
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
    return sendError(res, 415, "send the request as JSON (content-type: application/json)");
  }
  const body = await readBody(req, r.maxBody);
  if (json) sendJson(res, 200, await json(r.lab, body, r.queue, signal));
  else if (path === "/api/sweep" && r.sweeps) await sweepRoute(r.sweeps, body, signal, res);
  else await patchRoute(r.lab, body, r.queue, signal, res);
}

/** A listen failure (port taken, no permission, no such address) as a LabError with the fix. */
function listenError(e: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `${host}:${port}`;
  if (e.code === "EADDRINUSE")
    return new LabError(
      500,
      `cannot listen on ${where}: the port is in use; pick another with --port (0: any free port)`,
    );
  if (e.code === "EACCES")
    return new LabError(
      500,
      `cannot listen on ${where}: permission denied (ports below 1024 need privileges); pick a port from 1024 up with --port`,
    );
  if (e.code === "EADDRNOTAVAIL" || e.code === "ENOTFOUND" || e.code === "EAI_AGAIN") {
    return new LabError(
      500,
      `cannot listen on ${where}: ${host} is not an address of this machine (${e.code}); check --host`,
    );
  }
  return e;
}

export async function startLab(lab: LabModel, opts: LabServerOptions = {}): Promise<LabServer> {
  const host = opts.host ?? "127.0.0.1";
  if (!isLoopback(host) && !opts.allowNonLoopback) {
    throw new LabError(
      400,
      `refusing to listen on ${host}: the lab has no authentication and listens on 127.0.0.1 unless a host is given explicitly (tlens lab --host ${host})`,
    );
  }
  const queue = new JobQueue(opts.maxQueued ?? 256);
  const r: Routes = {
    lab,
    queue,
    page: labPage(lab.name),
    browser: browserRoutes(opts.browser),
    maxBody: opts.maxBodyBytes ?? 64 * 1024,
    sweeps: opts.sweeps,
  };
  const hosts = hostAllowlist(host, opts.allowedHosts);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const controller = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    const hostHeader = req.headers.host ?? "";
    if (!hosts.allows(hostHeader)) {
      const names = hosts.names.join(", ");
      return sendError(
        res,
        403,
        `the lab answers only requests addressed to ${names}, not ${JSON.stringify(hostHeader)}; to use another name, start it with --allowed-host NAME`,
      );
    }
    try {
      await route(r, req, res, controller.signal);
    } catch (e) {
      if (controller.signal.aborted) return; // the client went away: nobody to answer
      const { status, message } = describeFailure(e);
      if (status === 413) return refuseAndClose(req, res, status, message);
      if (status !== 500) return sendError(res, status, message);
      // the details (paths, stacks) stay in the terminal; the page gets no file system layout
      console.error(`tlens lab: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      sendError(res, 500, "internal error (the details are in the lab's terminal)");
    }
  };

  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const requestTimeout = Math.max(headersTimeout, opts.requestTimeoutMs ?? 20_000);
  // the timeouts are enforced by a sweep this often (Node's default, 30 s, would let a drip live that long)
  const connectionsCheckingInterval = Math.max(100, Math.min(1000, headersTimeout / 4));
  const server = createServer(
    { headersTimeout, requestTimeout, connectionsCheckingInterval },
    (req, res) => void handle(req, res),
  );
  server.maxConnections = opts.maxConnections ?? 128;
  const port = opts.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    const fail = (e: NodeJS.ErrnoException): void => reject(listenError(e, host, port));
    server.once("error", fail);
    server.listen(port, host, () => {
      server.off("error", fail);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}`,
    host,
    port: bound,
    queue,
    server,
    browser: r.browser.info,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
