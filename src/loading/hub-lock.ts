// A cross-process lock per blob, as huggingface_hub keeps them: `{cache}/.locks/models--{org}--{name}/{etag}.lock`,
// created exclusively and holding {pid, host, time}. The holder touches it every few seconds; a lock whose process
// is dead (same host) or that was not touched for STALE_MS is taken over, so a killed download never blocks the
// cache. Two processes fetching one blob thus share one download: the second waits, then finds the blob.
import { cacheWriteError } from "./hub-cache.js";
import { sleep } from "./hub-http.js";

const STALE_MS = 30_000;
const HEARTBEAT_MS = 5_000;
const POLL_MS = 100;

export interface BlobLock {
  release(): Promise<void>;
}

interface LockInfo {
  pid: number;
  host: string;
  time: number;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // alive, owned by someone else
  }
}

/** The lock file's text when it is stale (its holder is gone), else null. */
async function staleText(file: string): Promise<string | null> {
  const { readFile, stat } = await import("node:fs/promises");
  const { hostname } = await import("node:os");
  let text: string;
  let mtime: number;
  try {
    [text, mtime] = await Promise.all([readFile(file, "utf8"), stat(file).then((s) => s.mtimeMs)]);
  } catch {
    return null; // gone already: the next try creates it
  }
  if (Date.now() - mtime > STALE_MS) return text;
  try {
    const info = JSON.parse(text) as LockInfo;
    if (info.host === hostname() && Number.isSafeInteger(info.pid) && info.pid > 0 && !processAlive(info.pid))
      return text;
  } catch {
    // being written by its creator: not stale while fresh
  }
  return null;
}

/** Removes a stale lock unless another process replaced it meanwhile (it is moved aside, then compared). */
async function breakStale(file: string, text: string): Promise<void> {
  const { link, readFile, rename, rm } = await import("node:fs/promises");
  const aside = `${file}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await rename(file, aside);
  } catch {
    return;
  }
  if ((await readFile(aside, "utf8").catch(() => text)) !== text) await link(aside, file).catch(() => undefined);
  await rm(aside, { force: true });
}

/** Takes the lock if free (or stale); null when a live holder has it. */
export async function tryLock(file: string): Promise<BlobLock | null> {
  const { mkdir, open, rm, utimes } = await import("node:fs/promises");
  const { dirname } = await import("node:path");
  const { hostname } = await import("node:os");
  try {
    await mkdir(dirname(file), { recursive: true });
  } catch (e) {
    throw cacheWriteError(dirname(file), e);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(file, "wx");
      await fh.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), time: Date.now() } satisfies LockInfo));
      await fh.close();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw cacheWriteError(file, e);
      const stale = await staleText(file);
      if (stale === null) return null;
      await breakStale(file, stale);
      continue;
    }
    const beat = setInterval(() => void utimes(file, new Date(), new Date()).catch(() => undefined), HEARTBEAT_MS);
    beat.unref();
    return {
      async release() {
        clearInterval(beat);
        await rm(file, { force: true });
      },
    };
  }
  return null;
}

/** Waits for the lock (polling; a dead or silent holder is taken over) and takes it; `waited`: another held it. */
export async function lock(file: string): Promise<{ held: BlobLock; waited: boolean }> {
  for (let waited = false; ; waited = true) {
    const held = await tryLock(file);
    if (held !== null) return { held, waited };
    await sleep(POLL_MS);
  }
}
