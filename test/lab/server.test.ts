// The lab server over real HTTP on 127.0.0.1: loopback-only binding (and refusing other hosts unless explicitly
// allowed), request errors as JSON, the patching stream and its cancellation (running and waiting jobs), a full
// queue's 503, and a load test: 100 concurrent model requests all answered, RSS bounded.
import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLoopback, startLab, type LabServer } from "../../src/lab/server.js";
import type { PatchEvent, RunResponse } from "../../src/lab/protocol.js";
import type { QueueStats } from "../../src/lab/queue.js";
import { IOI_CLEAN, LONG_PATCH as LONG, postJson, rawRequest, startToyLab, toyLab } from "./helpers.js";

/** Resolves "connected" or the socket error's code. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 2000 });
    s.on("connect", () => {
      s.destroy();
      resolve("connected");
    });
    s.on("timeout", () => {
      s.destroy();
      resolve("timeout");
    });
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

function nonLoopbackIPv4(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === "IPv4" && !a.internal)
    .map((a) => a!.address);
}

/** Starts a patch request; `events` fills as NDJSON lines arrive; `finished` resolves when the stream ends. */
function streamPatch(
  url: string,
  body: object,
  controller = new AbortController(),
): { events: PatchEvent[]; finished: Promise<number>; controller: AbortController } {
  const events: PatchEvent[] = [];
  const finished = (async () => {
    const r = await fetch(`${url}/api/patch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!r.ok) {
      events.push({ type: "error", error: ((await r.json()) as { error: string }).error });
      return r.status;
    }
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buf += value;
        const lines = buf.split("\n");
        buf = lines.pop()!;
        for (const l of lines) if (l) events.push(JSON.parse(l) as PatchEvent);
      }
    } catch (e) {
      if (!controller.signal.aborted) throw e;
    }
    return r.status;
  })();
  return { events, finished, controller };
}

async function status(url: string): Promise<QueueStats> {
  return (await (await fetch(`${url}/api/status`)).json()) as QueueStats;
}

async function until(f: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("binding", () => {
  it("listens on 127.0.0.1 by default and is not reachable on the machine's other addresses", async () => {
    const lab = await startToyLab();
    try {
      expect(lab.host).toBe("127.0.0.1");
      expect(lab.server.address()).toMatchObject({ address: "127.0.0.1" });
      expect(await tryConnect("127.0.0.1", lab.port)).toBe("connected");
      for (const ip of nonLoopbackIPv4()) expect(await tryConnect(ip, lab.port), ip).not.toBe("connected");
    } finally {
      await lab.close();
    }
  });

  it("refuses a non-loopback host unless it is explicitly allowed", async () => {
    const model = await toyLab();
    for (const host of ["0.0.0.0", "::", "192.168.1.10", "example.com"]) {
      await expect(startLab(model, { host }), host).rejects.toThrow(
        /refusing to listen on .*no authentication.*--host/,
      );
    }
    expect(["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"].every(isLoopback)).toBe(true);
    expect(["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "localhost.evil.com"].some(isLoopback)).toBe(false);
    const open = await startLab(model, { host: "0.0.0.0", allowNonLoopback: true });
    try {
      expect(open.server.address()).toMatchObject({ address: "0.0.0.0" });
      expect(await tryConnect("127.0.0.1", open.port)).toBe("connected");
    } finally {
      await open.close();
    }
  });
});

describe("the API", () => {
  let lab: LabServer;
  // the load test holds 100 connections on top of the earlier tests' keep-alive ones: above the default cap of 128
  beforeAll(async () => {
    lab = await startToyLab({ maxConnections: 256 });
  });
  afterAll(async () => {
    await lab?.close();
  });

  it("answers bad requests with a status and a JSON error", async () => {
    expect(await postJson(`${lab.url}/api/attention`, { prompt: IOI_CLEAN, layer: 7 })).toEqual({
      status: 400,
      json: { error: "layer must be an integer from 0 to 3, got 7" },
    });
    expect((await postJson(`${lab.url}/api/run`, { prompt: "" })).json.error).toMatch(/prompt is empty/);
    expect((await postJson(`${lab.url}/api/logit-lens`, { prompt: IOI_CLEAN, token: " Mary Jane" })).status).toBe(400);
    const text = await fetch(`${lab.url}/api/run`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "{}",
    });
    expect(text.status).toBe(415);
    const notJson = await fetch(`${lab.url}/api/run`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{prompt",
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toBe("the request body is not valid JSON");
    const big = await fetch(`${lab.url}/api/run`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "x".repeat(70_000) }),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toMatch(/at most 65536 are accepted/);
    // the same without a content-length (chunked): the body is drained, not kept, and refused
    const chunked = await rawRequest(
      lab.port,
      "POST /api/run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked",
      `11170\r\n${"x".repeat(70_000)}\r\n0\r\n\r\n`,
    );
    expect(chunked.status).toBe(413);
    expect((await fetch(`${lab.url}/api/run`)).status).toBe(405);
    for (const p of ["/api/nothing", "/api/__proto__", "/api/constructor", "/api/toString"]) {
      expect((await postJson(`${lab.url}${p}`, {})).status, p).toBe(404);
    }
  });

  it("refuses requests addressed to another host name (DNS rebinding)", async () => {
    const r = await rawRequest(lab.port, "GET /api/info HTTP/1.1\r\nHost: evil.example:80");
    expect(r.status).toBe(403);
    expect((await rawRequest(lab.port, `GET /api/info HTTP/1.1\r\nHost: localhost:${lab.port}`)).status).toBe(200);
  });

  it("streams a patching sweep: queued, progress up to the total, then the result", async () => {
    const s = streamPatch(lab.url, { ...LONG, kind: "head_out" });
    expect(await s.finished).toBe(200);
    expect(s.events[0]).toEqual({ type: "queued", ahead: 0 });
    const progress = s.events.filter((e) => e.type === "progress");
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toEqual({ type: "progress", done: 16, total: 16 });
    const last = s.events.at(-1)!;
    expect(last.type).toBe("result");
    if (last.type === "result") expect(last.result.values).toHaveLength(4);
  });

  it("a client that goes away cancels its sweep (running or waiting) and the queue moves on", async () => {
    const before = await status(lab.url);
    // a running sweep, aborted after its first progress line
    const running = streamPatch(lab.url, LONG);
    // a second one waits behind it and is aborted while waiting
    await until(() => running.events.length > 0, "the first sweep to start");
    const waiting = streamPatch(lab.url, LONG);
    await until(() => waiting.events.length > 0, "the second sweep to be queued");
    expect(waiting.events[0]).toEqual({ type: "queued", ahead: 1 });
    await until(() => running.events.some((e) => e.type === "progress"), "progress");
    running.controller.abort();
    waiting.controller.abort();
    await Promise.allSettled([running.finished, waiting.finished]);
    await until(async () => {
      const s = await status(lab.url);
      return s.cancelled - before.cancelled === 2 && !s.running;
    }, "both cancellations");
    expect(running.events.some((e) => e.type === "result")).toBe(false);
    const after = await status(lab.url);
    expect(after.completed).toBe(before.completed);
    expect(after.queued).toBe(0);
    // the model still answers, with the right numbers
    const r = await postJson(`${lab.url}/api/run`, { prompt: IOI_CLEAN, topK: 1 });
    expect(r.status).toBe(200);
    expect((r.json as unknown as RunResponse).predictions[0]!.text).toBe(" Mary");
  });

  it("a full queue answers 503 with a JSON error", async () => {
    const small = await startToyLab({ maxQueued: 1 });
    try {
      // a job holds the model (a sweep may finish before the next request arrives), one sweep waits behind it
      let release!: () => void;
      const holding = small.queue.submit(
        () =>
          new Promise<void>((r) => {
            release = r;
          }),
      );
      const second = streamPatch(small.url, LONG);
      await until(() => second.events.length > 0, "the second sweep");
      const third = await postJson(`${small.url}/api/run`, { prompt: IOI_CLEAN });
      expect(third.status).toBe(503);
      expect(third.json.error).toMatch(/the lab is busy: 1 jobs are waiting/);
      second.controller.abort();
      release();
      await Promise.allSettled([holding, second.finished]);
    } finally {
      await small.close();
    }
  });

  it("load: 100 concurrent model requests are all answered (queued, one at a time); RSS stays bounded", async () => {
    const round = async (tag: number): Promise<{ statuses: number[]; peakQueued: number }> => {
      // a job holds the model until all 100 requests have arrived: they wait in the queue behind it
      let release!: () => void;
      const holding = lab.queue.submit(
        () =>
          new Promise<void>((r) => {
            release = r;
          }),
      );
      const requests = Array.from({ length: 100 }, (_, i) => {
        const prompt = `${IOI_CLEAN.replace("store", `store ${tag * 100 + i}`)}`; // distinct prompts: every request runs the model
        const kind = ["run", "attention", "logit-lens", "dla"][i % 4];
        const body =
          kind === "run"
            ? { prompt }
            : kind === "attention"
              ? { prompt, layer: i % 4 }
              : kind === "logit-lens"
                ? { prompt, token: " Mary" }
                : { prompt, answer: " Mary", other: " John" };
        return postJson(`${lab.url}/api/${kind}`, body);
      });
      await until(() => lab.queue.stats.queued === 100, "100 queued requests");
      const peakQueued = lab.queue.stats.queued;
      release();
      await holding;
      const answers = await Promise.all(requests);
      for (const a of answers.filter((_, i) => i % 4 === 0))
        expect((a.json as unknown as RunResponse).tokens.length).toBeGreaterThan(15);
      return { statuses: answers.map((a) => a.status), peakQueued };
    };
    const before = lab.queue.stats;
    const rss0 = process.memoryUsage().rss;
    const first = await round(0);
    const rss1 = process.memoryUsage().rss;
    const second = await round(1);
    const rss2 = process.memoryUsage().rss;
    const mb = (x: number): number => Math.round(x / 2 ** 20);
    console.log(
      `lab load test: RSS ${mb(rss0)} MB → ${mb(rss1)} MB after 100 concurrent requests → ${mb(rss2)} MB after 100 more; ${first.peakQueued} then ${second.peakQueued} queued at once`,
    );
    expect(first.statuses).toEqual(Array(100).fill(200));
    expect(second.statuses).toEqual(Array(100).fill(200));
    expect([first.peakQueued, second.peakQueued]).toEqual([100, 100]); // they really waited in the queue
    const after = lab.queue.stats;
    expect(after.completed - before.completed).toBe(202); // 2 × (100 requests + the holding job)
    expect(after).toMatchObject({ rejected: before.rejected, failed: before.failed, running: false, queued: 0 });
    expect(rss1 - rss0).toBeLessThan(150 * 2 ** 20);
    expect(rss2 - rss1).toBeLessThan(50 * 2 ** 20); // no growth per round: one cached run, nothing kept per request
  });
});
