// The hub tests' fixture: a hub server (hub-server.ts) for the file, a temporary root, a fresh cache folder and
// cleared faults and request log for every test, and download options pointing at them.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach } from "vitest";
import type { DownloadOptions } from "../../src/loading/index.js";
import { startHubServer, type HubServer, type HubServerRepo } from "./hub-server.js";

export interface HubFixture {
  server: HubServer;
  /** The temporary folder holding every test's cache. */
  root: string;
  /** This test's (empty, not yet created) cache folder. */
  cache: string;
  /** A new unused folder name under root. */
  fresh(prefix: string): string;
  /** Options for downloadModel against the server and the cache: no retries, no token, no progress bar. */
  opts(extra?: DownloadOptions): DownloadOptions;
}

export function useHubServer(repos: Record<string, HubServerRepo>, renames: Record<string, string> = {}): HubFixture {
  let n = 0;
  const hub: HubFixture = {
    server: undefined as unknown as HubServer,
    root: "",
    cache: "",
    fresh: (prefix) => join(hub.root, `${prefix}${n++}`),
    opts: (extra = {}) => ({
      endpoint: hub.server.endpoint,
      cacheDir: hub.cache,
      offline: false,
      token: null,
      progressBar: false,
      retries: 0,
      retryDelayMs: 0,
      ...extra,
    }),
  };
  beforeAll(async () => {
    hub.server = await startHubServer(repos, renames);
    hub.root = mkdtempSync(join(tmpdir(), "tlens-hub-"));
  });
  afterAll(async () => {
    await hub.server.close();
    rmSync(hub.root, { recursive: true, force: true });
  });
  beforeEach(() => {
    hub.cache = hub.fresh("cache");
    hub.server.requests.length = 0;
    for (const k of Object.keys(hub.server.faults)) delete hub.server.faults[k as keyof typeof hub.server.faults];
  });
  return hub;
}
