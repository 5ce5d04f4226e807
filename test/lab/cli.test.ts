// `tlens lab` as a subprocess: help, bad options, a model that does not exist, and a real start on 127.0.0.1 (the
// printed URL answers); an explicit --host is honoured with a warning.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { BrowserModeInfo, LabInfo } from "../../src/lab/protocol.js";
import { rawRequest } from "./helpers.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TLENS = ["--import", "tsx", "src/cli/main.ts"];

function tlens(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...TLENS, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
});

/** Starts `tlens lab ...` and resolves with the URL it prints and a reader of its stderr. */
function startLabProcess(args: string[]): Promise<{ url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [...TLENS, "lab", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      const m = /(http:\/\/\S+?)\/ /.exec(stdout);
      if (m) resolve({ url: m[1]!, stderr: () => stderr });
    });
    child.on("exit", (code) => reject(new Error(`tlens lab exited with ${code}: ${stderr}`)));
  });
}

describe("tlens lab", () => {
  it("--help lists the options; bad options and missing models fail with a message", () => {
    const help = tlens(["lab", "--help"]);
    expect(help.status).toBe(0);
    for (const opt of ["--model", "--port", "--host", "127.0.0.1", "no authentication"])
      expect(help.stdout).toContain(opt);
    const usage = tlens(["--help"]);
    expect(usage.stdout + usage.stderr).toContain("lab [--model <name|dir>] [--port N] [--host 127.0.0.1]");
    const bad = tlens(["lab", "--port", "nope"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--port needs an integer from 0 to 65535");
    expect(tlens(["lab", "--verbose"]).stderr).toContain("unknown option --verbose");
    const missing = tlens(["lab", "--model", "/nonexistent/model", "--port", "0"]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/tlens lab: .*nonexistent/);
  });

  it("starts on 127.0.0.1 and serves the model it loaded", async () => {
    const { url, stderr } = await startLabProcess(["--port", "0"]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // the in-browser mode: available where dist/browser has the lab worker (npm run build:browser), said at start
    const browser = (await (await fetch(`${url}/api/browser`)).json()) as BrowserModeInfo;
    expect(browser.available).toBe(existsSync(new URL("../../dist/browser/tlens-lab-worker.js", import.meta.url)));
    await expect
      .poll(stderr)
      .toContain(
        `tlens lab: run in browser: ${browser.available ? "available" : "unavailable (the browser bundle is not built"}`,
      );
    const info = (await (await fetch(`${url}/api/info`)).json()) as LabInfo;
    expect(info).toMatchObject({ model: "toy-ioi", nLayers: 4, nHeads: 4, nCtx: 64 });
    expect(await (await fetch(`${url}/`)).text()).toContain("tlens lab: toy-ioi");
  });

  it("an explicit --host is used, with a warning that the lab has no authentication", async () => {
    const { url, stderr } = await startLabProcess(["--port", "0", "--host", "0.0.0.0"]);
    expect(url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    await expect.poll(stderr).toContain("WARNING: listening on 0.0.0.0");
    const port = new URL(url).port;
    expect((await fetch(`http://127.0.0.1:${port}/api/info`)).status).toBe(200);
  });

  it("--allowed-host names pass the Host check on a 0.0.0.0 bind; other names get 403", async () => {
    const { url } = await startLabProcess(["--port", "0", "--host", "0.0.0.0", "--allowed-host", "lab.example"]);
    const port = Number(new URL(url).port);
    expect((await rawRequest(port, "GET /api/info HTTP/1.1\r\nHost: lab.example")).status).toBe(200);
    expect((await rawRequest(port, "GET /api/info HTTP/1.1\r\nHost: evil.example")).status).toBe(403);
  });

  it("bind errors are one line with the fix, exit code 1, no stack trace", async () => {
    const { url } = await startLabProcess(["--port", "0"]);
    const taken = tlens(["lab", "--port", new URL(url).port]);
    expect(taken.status).toBe(1);
    expect(taken.stderr).toMatch(
      /tlens lab: cannot listen on 127\.0\.0\.1:\d+: the port is in use; pick another with --port/,
    );
    const elsewhere = tlens(["lab", "--port", "0", "--host", "192.0.2.1"]);
    expect(elsewhere.status).toBe(1);
    expect(elsewhere.stderr).toMatch(
      /cannot listen on 192\.0\.2\.1:0: 192\.0\.2\.1 is not an address of this machine .*--host/,
    );
    for (const r of [taken, elsewhere]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
