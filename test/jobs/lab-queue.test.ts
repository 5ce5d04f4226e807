// The lab's queue mode on a real redis-server with real `tlens worker` processes: a sweep submitted through the lab's
// HTTP API streams its progress and merges to the in-process result bit for bit, with the figures of `tlens sweep`;
// closing the stream cancels a sweep (its waiting shards leave the queue); bad requests and a lab without a queue are
// refused.
import type { ChildProcess } from "node:child_process";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepFigures } from "../../src/cli/sweep-figures.js";
import { InProcessExecutor, QueueExecutor, validateSpec, type SweepResult } from "../../src/jobs/index.js";
import type { SweepEvent } from "../../src/lab/protocol.js";
import type { LabServer } from "../../src/lab/server.js";
import { startToyLab } from "../lab/helpers.js";
import { RedisServer, startWorker, stopProcess } from "./helpers.js";

const QUEUE = "lab";
let redis: RedisServer;
let lab: LabServer;
let executor: QueueExecutor;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  redis = await RedisServer.start();
  workers.push(...(await Promise.all([0, 1].map(() => startWorker(redis.url, QUEUE, ["--model", "toy-ioi"])))));
  executor = new QueueExecutor({ url: redis.url, queueName: QUEUE });
  lab = await startToyLab({ sweeps: { executor, model: { name: "toy-ioi" }, queue: QUEUE } });
}, 120_000);

afterAll(async () => {
  await lab?.close();
  await executor?.close();
  await Promise.all(workers.map((w) => stopProcess(w)));
  await redis?.stop();
});

const post = (path: string, body: unknown, signal?: AbortSignal): Promise<Response> =>
  fetch(`${lab.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });

/** Reads NDJSON events, calling `onEvent` on each, until the stream ends. */
async function events(r: Response, onEvent: (e: SweepEvent) => void = () => undefined): Promise<SweepEvent[]> {
  const out: SweepEvent[] = [];
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    buffered += value;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const e = JSON.parse(line) as SweepEvent;
      out.push(e);
      onEvent(e);
    }
  }
}

describe("tlens lab --queue", () => {
  it("says it has a queue; a sweep streams submitted, progress with ETA, then the in-process result bit for bit", async () => {
    expect(await (await fetch(`${lab.url}/api/queue`)).json()).toEqual({ available: true, queue: QUEUE });
    const r = await post("/api/sweep", { kinds: ["head_out", "resid_pre"], pairs: 4, seed: 3, pairsPerShard: 1 });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    const ev = await events(r);
    expect(ev[0]).toEqual({ type: "submitted", shards: 8, queue: QUEUE });
    const progress = ev.filter((e): e is Extract<SweepEvent, { type: "progress" }> => e.type === "progress");
    expect(progress[0]).toMatchObject({ done: 0, total: 8, etaMs: null });
    expect(progress.at(-1)).toMatchObject({ done: 8, total: 8, etaMs: 0 });
    expect(progress.map((p) => p.done)).toEqual([...progress.map((p) => p.done)].sort((a, b) => a - b));
    const last = ev.at(-1)!;
    if (last.type !== "result") throw new Error(`expected a result, got ${JSON.stringify(last)}`);
    const spec = validateSpec({
      model: { name: "toy-ioi" },
      task: { name: "ioi", pairs: 4, seed: 3 },
      sweep: ["head_out", "resid_pre"],
      shard: { pairsPerShard: 1 },
    });
    const reference: SweepResult = await new InProcessExecutor().run(spec);
    const { figures, ...merged } = last.result;
    expect(JSON.stringify(merged)).toBe(JSON.stringify(reference));
    expect(JSON.stringify(figures)).toBe(JSON.stringify(sweepFigures(reference)));
    expect(figures).toHaveLength(2);
    expect(JSON.stringify(figures[0]!.layout)).toContain("head_out patching: ioi metric over 4 pairs");
  }, 180_000);

  it("closing the stream cancels the sweep: its waiting shards leave the queue, the workers go on to the next sweep", async () => {
    const controller = new AbortController();
    const r = await post("/api/sweep", { kinds: ["resid_pre"], pairs: 40, pairsPerShard: 1 }, controller.signal);
    const seen: SweepEvent[] = [];
    await events(r, (e) => {
      seen.push(e);
      if (e.type === "progress" && e.done >= 1) controller.abort();
    }).catch((e: unknown) => {
      if (!controller.signal.aborted) throw e;
    });
    expect(seen.some((e) => e.type === "result")).toBe(false);
    const raw = new Queue(QUEUE, { connection: { host: "127.0.0.1", port: redis.port } });
    try {
      let counts = await raw.getJobCounts("waiting", "prioritized", "delayed");
      for (let i = 0; i < 50 && counts.waiting! + counts.prioritized! + counts.delayed! > 0; i++) {
        await new Promise((res) => setTimeout(res, 100));
        counts = await raw.getJobCounts("waiting", "prioritized", "delayed");
      }
      expect(counts).toMatchObject({ waiting: 0, prioritized: 0, delayed: 0 });
    } finally {
      await raw.close();
    }
    // the queue is free for the next sweep at once
    const next = await events(await post("/api/sweep", { kinds: ["head_out"], pairs: 2, pairsPerShard: 1 }));
    expect(next.at(-1)?.type).toBe("result");
  }, 180_000);

  it("refuses a bad sweep request with a 400 before anything is queued", async () => {
    const bad = async (body: unknown): Promise<[number, string]> => {
      const r = await post("/api/sweep", body);
      return [r.status, ((await r.json()) as { error: string }).error];
    };
    expect(await bad({ kinds: ["resid_pre"], pairs: 0 })).toEqual([
      400,
      "pairs must be an integer from 1 to 10000, got 0",
    ]);
    expect(await bad({ kinds: ["nope"], pairs: 2 })).toEqual([
      400,
      expect.stringMatching(/^sweep: unknown grid "nope" \(known: resid_pre, /),
    ]);
    expect(await bad({ kinds: ["head_out"], pairs: 2, model: "gpt2" })).toEqual([
      400,
      expect.stringMatching(/^unknown field "model"/),
    ]);
  });

  it("without --queue there is no sweep route, and the lab says why", async () => {
    const plain = await startToyLab();
    try {
      expect(await (await fetch(`${plain.url}/api/queue`)).json()).toEqual({
        available: false,
        reason: "the lab was started without --queue",
      });
      const r = await fetch(`${plain.url}/api/sweep`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(r.status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
