// The hub cache cannot be poisoned and is shared safely between processes: every blob is checked against its name
// (sha256 for LFS files, git's blob sha1 for the rest) on download and before reuse, a corrupt one is fetched
// again, and a lock file per blob (pid + time; dead or silent holders are taken over) lets two real processes
// download into one cache at once.
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LoadError } from "../../src/errors.js";
import { downloadModel } from "../../src/loading/index.js";
import { useHubServer } from "./hub-fixture.js";
import { gitBlobSha1, sha256 } from "./hub-server.js";
import { repo as repoPath, shared } from "./util.js";

const CONFIG = readFileSync(shared("models/toy-ioi/config.json"));
const WEIGHTS = readFileSync(shared("models/toy-ioi/model.safetensors"));
const COMMIT = "607a30d783dfa663caf39e06633721c8d4cfcd7e";
const REPO = "org/toy";

const hub = useHubServer({
  [REPO]: {
    commit: COMMIT,
    files: { "config.json": { data: CONFIG, lfs: false }, "model.safetensors": { data: WEIGHTS, lfs: true } },
  },
});
const opts = hub.opts;
const blobsDir = (): string => join(hub.cache, "models--org--toy", "blobs");
const configBlob = (): string => join(blobsDir(), gitBlobSha1(CONFIG));
const weightsBlob = (): string => join(blobsDir(), sha256(WEIGHTS));
const lockFile = (etag: string): string => join(hub.cache, ".locks", "models--org--toy", `${etag}.lock`);
const cdnGets = (): number => hub.server.requests.filter((r) => r.server === "cdn").length;

async function loadError(p: Promise<unknown>): Promise<LoadError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LoadError);
  return e as LoadError;
}

describe("blob integrity", () => {
  it("a truncated cached config.json is fetched again, not served (plain call and force)", async () => {
    const dir = await downloadModel(REPO, opts());
    writeFileSync(configBlob(), CONFIG.subarray(0, 200));
    expect(readFileSync(join(dir, "config.json")).equals(CONFIG)).toBe(false);
    expect(await downloadModel(REPO, opts())).toBe(dir);
    expect(readFileSync(join(dir, "config.json")).equals(CONFIG)).toBe(true);
    writeFileSync(configBlob(), CONFIG.subarray(0, 200));
    expect(await downloadModel(REPO, opts({ force: true }))).toBe(dir);
    expect(readFileSync(join(dir, "config.json")).equals(CONFIG)).toBe(true);
  });

  it("a corrupt cached LFS blob of the right size is replaced", async () => {
    const dir = await downloadModel(REPO, opts());
    const bad = Buffer.from(WEIGHTS);
    bad[12345]! ^= 1;
    writeFileSync(weightsBlob(), bad);
    hub.server.requests.length = 0;
    await downloadModel(REPO, opts());
    expect(cdnGets()).toBe(1);
    expect(readFileSync(join(dir, "model.safetensors")).equals(WEIGHTS)).toBe(true);
  });

  it("force fetches every blob again", async () => {
    await downloadModel(REPO, opts());
    hub.server.requests.length = 0;
    await downloadModel(REPO, opts({ force: true }));
    expect(cdnGets()).toBe(1);
  });

  it("a small file whose bytes do not match the hub's git-blob ETag is refused and not cached", async () => {
    hub.server.faults.corruptHub = true;
    const e = await loadError(downloadModel(REPO, opts()));
    expect(e.message).toMatch(/config\.json.*git blob sha1 mismatch/);
    expect(existsSync(configBlob())).toBe(false);
    expect(readdirSync(blobsDir()).filter((f) => f.startsWith(gitBlobSha1(CONFIG)))).toEqual([]);
  });

  it("offline, a corrupt cached blob is a LoadError naming the file, never served", async () => {
    await downloadModel(REPO, opts());
    writeFileSync(configBlob(), "{}");
    const e = await loadError(downloadModel(REPO, opts({ offline: true })));
    expect(e.message).toMatch(/config\.json.*corrupt/);
  });
});

/** Runs hub-child.ts in its own Node process. */
function child(): Promise<{ code: number; out: { dir?: string; error?: string } }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", repoPath("test/loading/hub-child.ts"), REPO, hub.server.endpoint, hub.cache],
      { cwd: repoPath(".") },
      (err, stdout) => {
        resolve({
          code: err ? Number(err.code) : 0,
          out: JSON.parse(stdout.trim() || "{}") as { dir?: string; error?: string },
        });
      },
    );
  });
}

describe("two processes, one cache", () => {
  it("both succeed and share one download of each blob", async () => {
    hub.server.faults.chunkDelayMs = 4; // ~1 s for the weights: the two processes overlap
    const [a, b] = await Promise.all([child(), child()]);
    expect(a.out.error).toBeUndefined();
    expect(b.out.error).toBeUndefined();
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.out.dir).toBe(b.out.dir);
    expect(cdnGets()).toBe(1);
    expect(readFileSync(join(a.out.dir!, "model.safetensors")).equals(WEIGHTS)).toBe(true);
    expect(readFileSync(join(a.out.dir!, "config.json")).equals(CONFIG)).toBe(true);
    expect(readdirSync(join(hub.cache, ".locks", "models--org--toy"))).toEqual([]);
    expect(readdirSync(blobsDir()).sort()).toEqual([gitBlobSha1(CONFIG), sha256(WEIGHTS)].sort());
  }, 60_000);

  it("a lock left by a dead process is taken over at once", async () => {
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
    mkdirSync(join(hub.cache, ".locks", "models--org--toy"), { recursive: true });
    writeFileSync(
      lockFile(sha256(WEIGHTS)),
      JSON.stringify({ pid: Number(dead), host: (await import("node:os")).hostname(), time: Date.now() }),
    );
    const t0 = Date.now();
    const dir = await downloadModel(REPO, opts());
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(readFileSync(realpathSync(join(dir, "model.safetensors"))).equals(WEIGHTS)).toBe(true);
    expect(existsSync(lockFile(sha256(WEIGHTS)))).toBe(false);
  });

  it("a lock not refreshed for longer than the stale time is taken over, even with a live pid", async () => {
    mkdirSync(join(hub.cache, ".locks", "models--org--toy"), { recursive: true });
    const f = lockFile(sha256(WEIGHTS));
    writeFileSync(f, JSON.stringify({ pid: process.ppid, host: "elsewhere", time: Date.now() - 3_600_000 }));
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(f, old, old);
    const dir = await downloadModel(REPO, opts());
    expect(readFileSync(join(dir, "model.safetensors")).equals(WEIGHTS)).toBe(true);
  });
});

describe("an unusable cache", () => {
  it("is a one-line LoadError naming the folder and the fix, before any request", async () => {
    const file = hub.fresh("plain-file-");
    writeFileSync(file, "not a folder");
    const e = await loadError(downloadModel(REPO, opts({ cacheDir: join(file, "cache") })));
    expect(e.message).toMatch(/cannot write to the hub cache .*ENOTDIR.*HF_HUB_CACHE/);
    expect(e.message).not.toMatch(/\n/);
    expect(hub.server.requests).toEqual([]);
  });
});
