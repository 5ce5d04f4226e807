// The hub downloader against a real HTTP server on 127.0.0.1 speaking the hub protocol (hub-server.ts), serving the
// real toy-ioi files: fresh download into the hub's cache layout, resume, sha256 refusal, cache hits with no
// request, offline mode, HTTP errors, redirects, auth, and the `tlens download` command.
import { execFile } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LoadError } from "../../src/errors.js";
import {
  downloadModel,
  findCachedSnapshot,
  hubCacheDir,
  loadHfModelDir,
  resolveHubModel,
  resolvePretrainedDir,
} from "../../src/loading/index.js";
import { useHubServer } from "./hub-fixture.js";
import { gitBlobSha1, sha256 } from "./hub-server.js";
import { repo as repoPath, shared } from "./util.js";

const CONFIG = readFileSync(shared("models/toy-ioi/config.json"));
const WEIGHTS = readFileSync(shared("models/toy-ioi/model.safetensors"));
const WEIGHTS_SHA = sha256(WEIGHTS);
const CONFIG_SHA1 = gitBlobSha1(CONFIG);
const COMMIT = "607a30d783dfa663caf39e06633721c8d4cfcd7e";
const REPO = "openai-community/gpt2";
const files = { "config.json": { data: CONFIG, lfs: false }, "model.safetensors": { data: WEIGHTS, lfs: true } };

// "gpt2" is renamed to "openai-community/gpt2" on the hub: answered with a relative redirect
const hub = useHubServer(
  { [REPO]: { commit: COMMIT, files }, "org/other": { commit: "b".repeat(40), files } },
  { gpt2: REPO },
);
const opts = hub.opts;
const repoDir = (repo: string): string => join(hub.cache, `models--${repo.replace("/", "--")}`);
const cdnGets = (): number => hub.server.requests.filter((r) => r.server === "cdn").length;

async function loadError(p: Promise<unknown>): Promise<LoadError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LoadError);
  return e as LoadError;
}

/** Sets environment variables for the duration of fn, then restores them exactly. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>): void => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

describe("registry", () => {
  it("maps TransformerLens names and aliases to hub repos", () => {
    expect(resolveHubModel("gpt2-small")).toEqual({
      repo: "gpt2",
      revision: "main",
      files: ["config.json", "model.safetensors"],
    });
    expect(resolveHubModel("gpt2")?.repo).toBe("gpt2");
    expect(resolveHubModel("GPT2-Small")?.repo).toBe("gpt2");
    for (const name of ["gpt2-medium", "gpt2-large", "gpt2-xl", "distilgpt2"])
      expect(resolveHubModel(name)?.repo).toBe(name);
    expect(resolveHubModel("distil-gpt2")?.repo).toBe("distilgpt2");
    expect(resolveHubModel("toy-ioi")).toBeNull();
    expect(resolveHubModel("./models/gpt2")).toBeNull();
  });

  it("finds the cache folder as huggingface_hub does", async () => {
    await withEnv(
      { HF_HUB_CACHE: undefined, HUGGINGFACE_HUB_CACHE: undefined, HF_HOME: "/x/hf", XDG_CACHE_HOME: undefined },
      async () => {
        expect(await hubCacheDir()).toBe("/x/hf/hub");
        await withEnv({ HF_HUB_CACHE: "/y/cache" }, async () => expect(await hubCacheDir()).toBe("/y/cache"));
        await withEnv({ HF_HOME: undefined, XDG_CACHE_HOME: "/z" }, async () =>
          expect(await hubCacheDir()).toBe("/z/huggingface/hub"),
        );
      },
    );
  });
});

describe("download", () => {
  it("fetches a model into the hub's cache layout; loadHfModelDir reads the snapshot", async () => {
    const progress: [string, number, number | null][] = [];
    const snap = await downloadModel(REPO, opts({ onProgress: (f, b, t) => progress.push([f, b, t]) }));
    const dir = repoDir(REPO);
    expect(snap).toBe(join(dir, "snapshots", COMMIT));
    // blobs named by etag (LFS: the sha256 from X-Linked-Etag, not the CDN's ETag; git files: the blob sha1, W/ and
    // quotes stripped), snapshot files are relative symlinks into blobs, refs/main holds the commit
    expect(readdirSync(join(dir, "blobs")).sort()).toEqual([CONFIG_SHA1, WEIGHTS_SHA].sort());
    expect(readFileSync(join(dir, "refs", "main"), "utf8")).toBe(COMMIT);
    for (const [file, id] of [
      ["config.json", CONFIG_SHA1],
      ["model.safetensors", WEIGHTS_SHA],
    ]) {
      expect(lstatSync(join(snap, file!)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(snap, file!))).toBe(join("..", "..", "blobs", id!));
    }
    expect(readFileSync(join(snap, "config.json")).equals(CONFIG)).toBe(true);
    expect(readFileSync(join(snap, "model.safetensors")).equals(WEIGHTS)).toBe(true);
    expect(readdirSync(join(dir, "snapshots", COMMIT)).sort()).toEqual(["config.json", "model.safetensors"]);

    const { cfg, weights } = await loadHfModelDir(snap);
    expect(cfg.nLayers).toBe(4);
    expect(cfg.dModel).toBe(128);
    expect(weights.get("embed.W_E")?.shape).toEqual([50257, 128]);

    // the protocol: two resolve GETs on the hub (the second at the pinned commit), one GET on the CDN
    const hubGets = hub.server.requests.filter((r) => r.server === "hub").map((r) => `${r.method} ${r.url}`);
    expect(hubGets).toEqual([
      `GET /${REPO}/resolve/main/config.json`,
      `GET /${REPO}/resolve/${COMMIT}/model.safetensors`,
    ]);
    expect(cdnGets()).toBe(1);
    expect(hub.server.requests[0]!.headers["accept-encoding"]).toBe("identity");
    expect(hub.server.requests.some((r) => r.headers.range !== undefined)).toBe(false);
    expect(progress.at(-1)).toEqual(["model.safetensors", WEIGHTS.length, WEIGHTS.length]);
    expect(progress.filter(([f]) => f === "config.json").at(-1)).toEqual(["config.json", CONFIG.length, CONFIG.length]);
  });

  it("a second call is served from the cache with no request; findCachedSnapshot sees it", async () => {
    const first = await downloadModel(REPO, opts());
    hub.server.requests.length = 0;
    expect(await downloadModel(REPO, opts())).toBe(first);
    expect(await findCachedSnapshot(REPO, "main", undefined, { cacheDir: hub.cache })).toBe(first);
    expect(hub.server.requests).toEqual([]);
    // incomplete snapshot → null
    rmSync(join(first, "model.safetensors"));
    expect(await findCachedSnapshot(REPO, "main", undefined, { cacheDir: hub.cache })).toBeNull();
    // the blob is still there: the next call re-links it after one hub request and no CDN transfer
    expect(await downloadModel(REPO, opts())).toBe(first);
    expect(cdnGets()).toBe(0);
    expect(readFileSync(join(first, "model.safetensors")).equals(WEIGHTS)).toBe(true);
  });

  it("resumes an interrupted transfer with Range and ends byte-identical", async () => {
    const cut = 5_000_003;
    hub.server.faults.cutAfter = cut;
    const e = await loadError(downloadModel(REPO, opts()));
    expect(e.message).toMatch(/connection lost/);
    const partial = join(repoDir(REPO), "blobs", `${WEIGHTS_SHA}.incomplete`);
    const kept = statSync(partial).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(cut);
    expect(existsSync(join(repoDir(REPO), "blobs", WEIGHTS_SHA))).toBe(false);
    expect(existsSync(join(repoDir(REPO), "snapshots", COMMIT, "model.safetensors"))).toBe(false);
    expect(existsSync(join(repoDir(REPO), "refs", "main"))).toBe(false);
    expect(await findCachedSnapshot(REPO, "main", undefined, { cacheDir: hub.cache })).toBeNull();

    hub.server.requests.length = 0;
    const progress: number[] = [];
    const snap = await downloadModel(REPO, opts({ onProgress: (_f, b) => progress.push(b) }));
    const cdn = hub.server.requests.filter((r) => r.server === "cdn");
    expect(cdn).toHaveLength(1);
    expect(cdn[0]!.headers.range).toBe(`bytes=${kept}-`);
    expect(progress[0]).toBe(kept);
    expect(readFileSync(join(snap, "model.safetensors")).equals(WEIGHTS)).toBe(true);
    expect(existsSync(partial)).toBe(false);
  });

  it("retries within one call, resuming where the connection dropped", async () => {
    hub.server.faults.cutAfter = 3_000_000;
    const snap = await downloadModel(REPO, opts({ retries: 2 }));
    const cdn = hub.server.requests.filter((r) => r.server === "cdn");
    expect(cdn.map((r) => r.headers.range)).toEqual([undefined, expect.stringMatching(/^bytes=\d+-$/)]);
    expect(readFileSync(join(snap, "model.safetensors")).equals(WEIGHTS)).toBe(true);
  });

  it("gives up on a silent connection after timeoutMs, keeping the partial file for the next call", async () => {
    hub.server.faults.stallAfter = 100_000;
    const e = await loadError(downloadModel(REPO, opts({ timeoutMs: 300 })));
    expect(e.message).toMatch(/connection lost after 100000 of \d+ bytes/);
    expect(statSync(join(repoDir(REPO), "blobs", `${WEIGHTS_SHA}.incomplete`)).size).toBe(100_000);
    const snap = await downloadModel(REPO, opts());
    expect(hub.server.requests.filter((r) => r.server === "cdn").at(-1)?.headers.range).toBe("bytes=100000-");
    expect(readFileSync(join(snap, "model.safetensors")).equals(WEIGHTS)).toBe(true);
  });

  it("starts over when the server ignores the Range (200) or refuses it (416)", async () => {
    for (const fault of ["ignoreRange", "refuseRangeOnce"] as const) {
      hub.cache = hub.fresh("cache");
      hub.server.faults.cutAfter = 4_000_000;
      await loadError(downloadModel(REPO, opts()));
      hub.server.requests.length = 0;
      hub.server.faults[fault] = true;
      const snap = await downloadModel(REPO, opts());
      expect(hub.server.requests.filter((r) => r.server === "cdn")[0]!.headers.range).toMatch(/^bytes=\d+-$/);
      expect(readFileSync(join(snap, "model.safetensors")).equals(WEIGHTS)).toBe(true);
      expect(existsSync(join(repoDir(REPO), "blobs", `${WEIGHTS_SHA}.incomplete`))).toBe(false);
      delete hub.server.faults[fault];
    }
  });

  it("a partial file already whole (stopped before the rename) is checked and moved into place", async () => {
    hub.server.faults.cutAfter = 1000;
    await loadError(downloadModel(REPO, opts()));
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(repoDir(REPO), "blobs", `${WEIGHTS_SHA}.incomplete`), WEIGHTS);
    hub.server.requests.length = 0;
    const snap = await downloadModel(REPO, opts());
    expect(readFileSync(join(snap, "model.safetensors")).equals(WEIGHTS)).toBe(true);
    // the CDN answered 416 to the range past the end; no bytes were transferred again
    expect(hub.server.requests.filter((r) => r.server === "cdn")).toHaveLength(1);
  });

  it("refuses bytes whose sha256 is not the X-Linked-Etag: no blob, no partial, no snapshot", async () => {
    hub.server.faults.corrupt = true;
    const e = await loadError(downloadModel(REPO, opts({ retries: 2 })));
    expect(e.message).toMatch(/sha256 mismatch/);
    expect(e.message).toContain(WEIGHTS_SHA);
    const blobs = readdirSync(join(repoDir(REPO), "blobs"));
    expect(blobs).toEqual([CONFIG_SHA1]); // config.json (fetched first) is fine; nothing of the weights remains
    expect(existsSync(join(repoDir(REPO), "snapshots", COMMIT, "model.safetensors"))).toBe(false);
    expect(existsSync(join(repoDir(REPO), "refs", "main"))).toBe(false);
    expect(await findCachedSnapshot(REPO, "main", undefined, { cacheDir: hub.cache })).toBeNull();
    expect(cdnGets()).toBe(1); // a mismatch is not retried
  });

  it("offline: a clear LoadError and no request; a cached model still loads", async () => {
    const e = await loadError(downloadModel("gpt2-small", opts({ offline: true })));
    expect(e.message).toMatch(/offline/);
    expect(e.message).toContain("config.json, model.safetensors");
    await withEnv({ HF_HUB_OFFLINE: "1" }, async () => {
      const e2 = await loadError(downloadModel(REPO, opts({ offline: undefined })));
      expect(e2.message).toMatch(/HF_HUB_OFFLINE/);
    });
    expect(hub.server.requests).toEqual([]);
    const snap = await downloadModel(REPO, opts());
    hub.server.requests.length = 0;
    await withEnv({ HF_HUB_OFFLINE: "1" }, async () =>
      expect(await downloadModel(REPO, opts({ offline: undefined }))).toBe(snap),
    );
    expect(hub.server.requests).toEqual([]);
  });

  it("HTTP errors become LoadErrors naming the URL and the status", async () => {
    const missing = await loadError(downloadModel(REPO, opts({ files: ["nope.json"] })));
    expect(missing.message).toContain(`${hub.server.endpoint}/${REPO}/resolve/main/nope.json`);
    expect(missing.message).toMatch(/HTTP 404.*EntryNotFound/);
    hub.server.faults.hubStatus = 500;
    const e500 = await loadError(downloadModel(REPO, opts()));
    expect(e500.message).toContain(`${hub.server.endpoint}/${REPO}/resolve/main/config.json`);
    expect(e500.message).toMatch(/HTTP 500/);
    delete hub.server.faults.hubStatus;
    hub.server.faults.cdnStatus = 403;
    const cdn = await loadError(downloadModel(REPO, opts()));
    expect(cdn.message).toMatch(/HTTP 403/);
    expect(cdn.message).toContain(`redirected to ${hub.server.cdn}/repos/`);
    expect(cdn.message).not.toContain("Signature"); // the signed query is not printed
    delete hub.server.faults.cdnStatus;
    const unknown = await loadError(downloadModel("nobody/nothing", opts()));
    expect(unknown.message).toMatch(/HTTP 401.*RepoNotFound.*HF_TOKEN/);
    const rev = await loadError(downloadModel(REPO, opts({ revision: "v9" })));
    expect(rev.message).toMatch(/HTTP 404.*RevisionNotFound/);
  });

  it("5xx gateway errors are retried; a redirect loop stops after 10 hops; a non-hub server is named", async () => {
    hub.server.faults.cdnStatus = 503;
    const e = await loadError(downloadModel(REPO, opts({ retries: 2 })));
    expect(e.message).toMatch(/HTTP 503/);
    expect(e.message).toMatch(/3 tries/);
    expect(cdnGets()).toBe(3);
    delete hub.server.faults.cdnStatus;
    hub.server.faults.redirectLoop = true;
    hub.server.requests.length = 0;
    expect((await loadError(downloadModel(REPO, opts()))).message).toMatch(/more than 10 redirects/);
    expect(hub.server.requests).toHaveLength(11);
    delete hub.server.faults.redirectLoop;
    hub.server.faults.noCommit = true;
    expect((await loadError(downloadModel(REPO, opts()))).message).toMatch(/X-Repo-Commit/);
  });

  it("follows the hub's relative redirect for renamed repos; the cache is named by the requested repo", async () => {
    const snap = await downloadModel("gpt2-small", opts());
    expect(snap).toBe(join(repoDir("gpt2"), "snapshots", COMMIT));
    expect(hub.server.requests[0]!.url).toBe("/gpt2/resolve/main/config.json");
    expect(hub.server.requests[1]!.url).toBe(`/${REPO}/resolve/main/config.json`);
    expect(readFileSync(join(snap, "model.safetensors")).equals(WEIGHTS)).toBe(true);
  });

  it("sends the token to the hub only, never to the CDN on another host", async () => {
    await downloadModel(REPO, opts({ token: "hf_secret" }));
    for (const r of hub.server.requests) {
      expect(r.headers.authorization).toBe(r.server === "hub" ? "Bearer hf_secret" : undefined);
    }
    hub.cache = hub.fresh("cache");
    hub.server.requests.length = 0;
    await withEnv({ HF_TOKEN: "hf_env" }, () => downloadModel(REPO, opts({ token: undefined })));
    expect(hub.server.requests[0]!.headers.authorization).toBe("Bearer hf_env");
  });

  it("two downloads of one repo at once share the work", async () => {
    const [a, b] = await Promise.all([downloadModel(REPO, opts()), downloadModel(REPO, opts())]);
    expect(a).toBe(b);
    expect(cdnGets()).toBe(1);
    expect(readFileSync(join(a, "model.safetensors")).equals(WEIGHTS)).toBe(true);
  });

  it("rejects names that are neither registry models nor repo ids", async () => {
    expect((await loadError(downloadModel("not a model", opts()))).message).toMatch(/unknown model/);
    expect((await loadError(downloadModel(REPO, opts({ files: ["../escape"] })))).message).toMatch(/invalid file name/);
    expect(hub.server.requests).toEqual([]);
  });
});

describe("resolvePretrainedDir", () => {
  it("downloads a registry model using HF_HOME and HF_ENDPOINT, then serves it from the cache", async () => {
    const home = hub.fresh("home");
    await withEnv(
      {
        HF_HOME: home,
        HF_HUB_CACHE: undefined,
        HUGGINGFACE_HUB_CACHE: undefined,
        HF_ENDPOINT: hub.server.endpoint,
        HF_HUB_OFFLINE: undefined,
        HF_TOKEN: undefined,
      },
      async () => {
        expect(await resolvePretrainedDir("toy-ioi")).toBeNull();
        expect(await resolvePretrainedDir("some/dir")).toBeNull();
        const dir = await resolvePretrainedDir("gpt2", { progressBar: false });
        expect(dir).toBe(join(home, "hub", "models--gpt2", "snapshots", COMMIT));
        hub.server.requests.length = 0;
        await withEnv({ HF_HUB_OFFLINE: "1" }, async () => expect(await resolvePretrainedDir("gpt2-small")).toBe(dir));
        expect(hub.server.requests).toEqual([]);
        expect((await loadHfModelDir(dir!)).cfg.nLayers).toBe(4);
        await withEnv({ HF_HUB_OFFLINE: "1" }, async () => {
          expect((await loadError(resolvePretrainedDir("gpt2-xl"))).message).toMatch(
            /not in the Hugging Face cache.*offline/,
          );
        });
        expect(hub.server.requests).toEqual([]);
      },
    );
  });
});

describe("tlens download", () => {
  it("downloads into HF_HOME and prints the snapshot folder", async () => {
    const home = hub.fresh("home");
    const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        execFile(
          process.execPath,
          ["--import", "tsx", repoPath("src/cli/main.ts"), ...args],
          {
            cwd: repoPath("."),
            env: { ...process.env, HF_HOME: home, HF_HUB_CACHE: "", HF_ENDPOINT: "", HF_HUB_OFFLINE: "", HF_TOKEN: "" },
          },
          (err, stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stdout, stderr }),
        );
      });
    const ok = await run(["download", "gpt2-small", "--endpoint", hub.server.endpoint]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toBe(join(home, "hub", "models--gpt2", "snapshots", COMMIT));
    const bad = await run(["download", "gpt2-small", "--endpoint", hub.server.endpoint, "--revision", "v9"]);
    expect(bad.code).toBe(1);
    // revision v9 is not cached, so the hub is asked, and it has no such revision
    expect(bad.stderr).toMatch(/HTTP 404/);
    const usage = await run(["download"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/usage: tlens download/);
  }, 30_000);
});
