// Real processes for the jobs tests: a redis-server on a free 127.0.0.1 port (no persistence, in a temp dir) and
// `tlens worker` subprocesses running from source.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once `child` has written a line matching `re` (to stdout or stderr); rejects if it exits first. */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (d: Buffer): void => {
      seen += d.toString();
      const m = seen.split("\n").find((l) => re.test(l));
      if (m !== undefined) done(null, m);
    };
    const onExit = (code: number | null): void =>
      done(new Error(`process exited (${code}) before ${re}; output:\n${seen}`));
    const timer = setTimeout(
      () => done(new Error(`no line ${re} within ${timeoutMs} ms; output:\n${seen}`)),
      timeoutMs,
    );
    const done = (e: Error | null, line = ""): void => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      if (e) reject(e);
      else resolve(line);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}

export class RedisServer {
  private child: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), "tlens-redis-"));
  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const r = new RedisServer(await freePort());
    await r.restart();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port; its data is gone (no persistence). */
  async restart(): Promise<void> {
    await this.stop();
    const child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    await waitForLine(child, /Ready to accept connections/, 10_000);
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve());
      c.kill("SIGKILL");
    });
  }
}

/** A `tlens worker` subprocess on the queue (one native thread unless env says otherwise); resolves once it is
 *  taking jobs (its model loaded: readyMs bounds the wait). */
export async function startWorker(
  url: string,
  queueName: string,
  extra: string[] = [],
  { env = { TLENS_NUM_THREADS: "1" }, readyMs = 60_000 }: { env?: NodeJS.ProcessEnv; readyMs?: number } = {},
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "worker", "--queue", url, "--queue-name", queueName, ...extra],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } },
  );
  await waitForLine(child, /worker ready/, readyMs);
  return child;
}

export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}
