// The lab on any bind, against hostile clients: the Host allowlist (DNS rebinding) on loopback and on 0.0.0.0,
// slow header and body drips closed within seconds, a 200 MB body refused without being read, the connection cap,
// and no absolute path in an error answer.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { LabServer, LabServerOptions } from "../../src/lab/server.js";
import { TOY_IOI_DIR } from "../browser/harness.js";
import { rawRequest, startToyLab } from "./helpers.js";

const servers: LabServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});
async function start(opts: LabServerOptions = {}): Promise<LabServer> {
  const s = await startToyLab(opts);
  servers.push(s);
  return s;
}

const statusFor = async (port: number, host: string): Promise<number> =>
  (await rawRequest(port, `GET /api/info HTTP/1.1\r\nHost: ${host}`)).status;

function firstIPv4(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
}

describe("the Host allowlist", () => {
  it("loopback bind: loopback names pass, any other name gets 403", async () => {
    const lab = await start();
    for (const h of [`127.0.0.1:${lab.port}`, `localhost:${lab.port}`, "localhost", `[::1]:${lab.port}`])
      expect(await statusFor(lab.port, h), h).toBe(200);
    for (const h of ["evil.example", `evil.example:${lab.port}`, "127.0.0.1.evil.example", "localhost.evil.example"])
      expect(await statusFor(lab.port, h), h).toBe(403);
  });

  it("0.0.0.0 bind: evil.example gets 403; loopback names, the machine's address and --allowed-host values pass", async () => {
    const lab = await start({ host: "0.0.0.0", allowNonLoopback: true, allowedHosts: ["lab.example"] });
    expect(await statusFor(lab.port, "evil.example")).toBe(403);
    expect(await statusFor(lab.port, `evil.example:${lab.port}`)).toBe(403);
    expect(await statusFor(lab.port, "lab.example")).toBe(200);
    expect(await statusFor(lab.port, `LAB.example:${lab.port}`)).toBe(200);
    expect(await statusFor(lab.port, `127.0.0.1:${lab.port}`)).toBe(200);
    const ip = firstIPv4();
    if (ip !== undefined) expect(await statusFor(lab.port, `${ip}:${lab.port}`)).toBe(200);
    const body = (await rawRequest(lab.port, "GET / HTTP/1.1\r\nHost: evil.example")).body;
    expect(body).toMatch(/--allowed-host/);
  });

  it("a specific non-loopback bind: its own address passes", async () => {
    const ip = firstIPv4();
    expect(ip, "the test machine has a non-loopback IPv4 address").toBeDefined();
    const lab = await start({ host: ip, allowNonLoopback: true });
    const r = await new Promise<number>((resolve, reject) => {
      const s = connect(lab.port, ip!, () =>
        s.write(`GET /api/info HTTP/1.1\r\nHost: ${ip}:${lab.port}\r\nConnection: close\r\n\r\n`),
      );
      let text = "";
      s.on("data", (d: Buffer) => {
        text += d.toString();
      });
      s.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
      s.on("error", reject);
    });
    expect(r).toBe(200);
  });
});

/** Connects and resolves with the socket once connected; `closedAt` resolves with the time the server closed it. */
async function open(port: number): Promise<{ socket: Socket; closed: Promise<number>; received: () => string }> {
  const socket = connect(port, "127.0.0.1");
  let text = "";
  socket.on("data", (d: Buffer) => {
    text += d.toString();
  });
  socket.on("error", () => undefined);
  const closed = new Promise<number>((r) => socket.on("close", () => r(Date.now())));
  await new Promise<void>((r) => socket.once("connect", () => r()));
  return { socket, closed, received: () => text };
}

/** Writes `piece` every `ms` until the socket closes. */
function drip(socket: Socket, piece: string, ms: number): void {
  const t = setInterval(() => (socket.destroyed ? clearInterval(t) : socket.write(piece)), ms);
  socket.on("close", () => clearInterval(t));
}

describe("slow clients", () => {
  it("a header drip is closed within the header timeout", async () => {
    const lab = await start({ headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
    const c = await open(lab.port);
    const t0 = Date.now();
    c.socket.write(`GET /api/info HTTP/1.1\r\nHost: 127.0.0.1:${lab.port}\r\n`);
    drip(c.socket, "X-Slow: a\r\n", 200);
    const at = await c.closed;
    expect(at - t0).toBeLessThan(4000);
    expect(at - t0).toBeGreaterThanOrEqual(900);
  }, 15_000);

  it("a body drip is closed within the request timeout", async () => {
    const lab = await start({ headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
    const c = await open(lab.port);
    const t0 = Date.now();
    c.socket.write(
      `POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:${lab.port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"prompt":"`,
    );
    drip(c.socket, "x", 100);
    const at = await c.closed;
    expect(at - t0).toBeLessThan(5000);
  }, 15_000);

  it("the default timeouts are seconds, not minutes", async () => {
    const lab = await start();
    expect(lab.server.headersTimeout).toBeLessThanOrEqual(15_000);
    expect(lab.server.requestTimeout).toBeLessThanOrEqual(30_000);
    expect(lab.server.maxConnections).toBeLessThanOrEqual(128);
  });
});

describe("oversized bodies", () => {
  /** Sends a 200 MB body as fast as the server takes it; how many bytes went out before the server closed. */
  async function push(port: number, head: string, chunked: boolean): Promise<{ sent: number; answer: string }> {
    const c = await open(port);
    c.socket.write(`${head}\r\n\r\n`);
    const piece = Buffer.alloc(1 << 20, 0x61);
    let sent = 0;
    let closed = false;
    void c.closed.then(() => {
      closed = true;
    });
    while (!closed && sent < 200e6) {
      const frame = chunked
        ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n")])
        : piece;
      const ok = c.socket.write(frame);
      sent += piece.length;
      if (!ok) await Promise.race([new Promise((r) => c.socket.once("drain", r)), c.closed]);
    }
    await c.closed;
    return { sent, answer: c.received() };
  }

  it("a declared 200 MB body gets 413 at once and the server stops reading", async () => {
    const lab = await start();
    const r = await push(
      lab.port,
      `POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:${lab.port}\r\nContent-Type: application/json\r\nContent-Length: 200000000`,
      false,
    );
    expect(r.answer).toMatch(/^HTTP\/1\.1 413/);
    expect(r.sent).toBeLessThan(50e6);
  }, 15_000);

  it("a chunked body is cut off once past the limit", async () => {
    const lab = await start();
    const r = await push(
      lab.port,
      `POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:${lab.port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked`,
      true,
    );
    expect(r.answer).toMatch(/^HTTP\/1\.1 413/);
    expect(r.sent).toBeLessThan(50e6);
  }, 15_000);
});

describe("the connection cap", () => {
  it("connections beyond maxConnections are dropped; the lab answers again once they close", async () => {
    const lab = await start({ maxConnections: 4 });
    const held = await Promise.all([0, 1, 2, 3].map(() => open(lab.port)));
    // the server has accepted the four before the fifth arrives
    await new Promise((r) => setTimeout(r, 100));
    const extra = await open(lab.port);
    const dropped = await Promise.race([
      extra.closed.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 2000)),
    ]);
    expect(dropped).toBe(true);
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    await new Promise((r) => setTimeout(r, 100));
    expect(await statusFor(lab.port, `127.0.0.1:${lab.port}`)).toBe(200);
  });
});

describe("error answers", () => {
  it("a model file gone missing is not a 500 that shows its absolute path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tlens-lab-leak-"));
    try {
      const bundle = join(dir, "bundle");
      const model = join(dir, "model");
      mkdirSync(bundle);
      mkdirSync(model);
      writeFileSync(join(bundle, "tlens-lab-worker.js"), "// worker");
      writeFileSync(join(model, "config.json"), readFileSync(join(TOY_IOI_DIR, "config.json")));
      writeFileSync(join(model, "model.safetensors"), "x");
      const lab = await start({ browser: { bundleDir: bundle, model: { dir: model } } });
      rmSync(join(model, "model.safetensors"));
      const r = await rawRequest(lab.port, `GET /model/model.safetensors HTTP/1.1\r\nHost: 127.0.0.1:${lab.port}`);
      expect(r.status).toBe(404);
      expect(r.body).not.toContain(dir);
      expect(r.body).not.toMatch(/\/tmp\//);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
