// The lab worker's logic (worker-host.ts) driven in Node, as the page's worker runs it: the model loaded once;
// requests validated with the server's messages; the same numbers as the server's LabModel; sweep progress; cancel of
// a waiting and of a running sweep (the queue counts them cancelled, not completed) and the model answers afterwards.
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { LabModel } from "../../src/lab/compute.js";
import type { PatchResponse, RunResponse } from "../../src/lab/protocol.js";
import { validatePatch, validateRun } from "../../src/lab/validate.js";
import { createLabWorkerHost, type LabWorkerHost } from "../../src/lab/worker-host.js";
import type {
  LabWorkerLoaded,
  LabWorkerRequest,
  LabWorkerRequestBody,
  LabWorkerResponse,
} from "../../src/lab/worker-protocol.js";
import { IOI_CLEAN, IOI_CORRUPTED, LONG_PATCH as LONG, toyLab } from "./helpers.js";

let lab: LabModel;
let host: LabWorkerHost;
const out: LabWorkerResponse[] = [];
let nextId = 1;

/** Sends a request; its id. */
function send(req: LabWorkerRequestBody): number {
  const id = nextId++;
  host.receive({ ...req, id } as LabWorkerRequest);
  return id;
}

/** The final answer (result or error) to request `id`. */
async function answer(id: number): Promise<Extract<LabWorkerResponse, { type: "result" | "error" }>> {
  return vi.waitFor(
    () => {
      const a = out.find((m) => m.id === id && (m.type === "result" || m.type === "error"));
      if (!a) throw new Error(`no answer to ${id} yet`);
      return a as Extract<LabWorkerResponse, { type: "result" | "error" }>;
    },
    { timeout: 20_000, interval: 5 },
  );
}

async function result<T>(id: number): Promise<T> {
  const a = await answer(id);
  if (a.type !== "result") throw new Error(`request ${id} failed: ${a.message}`);
  return a.value as T;
}

beforeAll(async () => {
  lab = await toyLab();
  host = createLabWorkerHost(
    async (req, onProgress) => {
      expect(req.url).toBe("/model/");
      onProgress({ file: "model.safetensors", loaded: 1, total: 1 });
      return { model: lab.model, backend: "js", threads: 1 };
    },
    (msg) => out.push(msg),
  );
});

describe("the lab worker host", () => {
  it("answers before loading with a clear error, loads with progress, then refuses a second load", async () => {
    expect(await answer(send({ type: "call", method: "run", body: { prompt: IOI_CLEAN } }))).toMatchObject({
      type: "error",
      status: 503,
      message: "the model is not loaded in the page yet",
    });
    const id = send({ type: "load", url: "/model/", name: "toy-ioi" });
    const loaded = await result<LabWorkerLoaded>(id);
    expect(loaded).toEqual({ info: lab.info(), backend: "js", threads: 1 });
    expect(out.filter((m) => m.id === id && m.type === "load-progress")).toHaveLength(1);
    expect(await answer(send({ type: "load", url: "/model/", name: "toy-ioi" }))).toMatchObject({
      type: "error",
      message: "the model is already loaded",
    });
  });

  it("validates as the server does (same messages, status 400) and computes the server's numbers", async () => {
    expect(await answer(send({ type: "call", method: "run", body: { prompt: "   " } }))).toEqual(
      expect.objectContaining({ status: 400, message: "prompt is empty: type some text", cancelled: false }),
    );
    expect(
      await answer(send({ type: "call", method: "dla", body: { prompt: IOI_CLEAN, answer: " Mary Jane" } })),
    ).toMatchObject({ status: 400, message: expect.stringMatching(/answer " Mary Jane" is not a single token/) });
    expect(
      await answer(send({ type: "call", method: "patch", body: { ...LONG, corrupted: "Too short" } })),
    ).toMatchObject({ status: 400, message: expect.stringMatching(/same number of tokens/) });
    const run = await result<RunResponse>(send({ type: "call", method: "run", body: { prompt: IOI_CLEAN, topK: 5 } }));
    expect(run).toEqual(await lab.run(validateRun(lab.model, { prompt: IOI_CLEAN, topK: 5 })));
    const body = { kind: "attn_out", clean: IOI_CLEAN, corrupted: IOI_CORRUPTED, answer: " Mary", other: " John" };
    const id = send({ type: "call", method: "patch", body });
    const sweep = await result<PatchResponse>(id);
    expect(sweep.values).toEqual((await lab.patch(validatePatch(lab.model, body))).values);
    const progress = out.filter((m) => m.id === id && m.type === "progress");
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ done: 4 * 15, total: 4 * 15 });
  });

  it("cancel: a waiting sweep never runs, a running one stops; the queue counts both cancelled and moves on", async () => {
    const before = host.queue.stats;
    const running = send({ type: "call", method: "patch", body: LONG });
    const waiting = send({ type: "call", method: "patch", body: LONG });
    await vi.waitFor(() => expect(host.queue.stats).toMatchObject({ running: true, queued: 1 }), {
      timeout: 10_000,
      interval: 2,
    });
    host.receive({ type: "cancel", target: waiting });
    host.receive({ type: "cancel", target: running });
    expect(await answer(waiting)).toMatchObject({ type: "error", cancelled: true });
    expect(await answer(running)).toMatchObject({ type: "error", cancelled: true });
    expect(out.filter((m) => m.id === waiting && m.type === "progress")).toEqual([]);
    expect(out.filter((m) => m.id === running && m.type === "progress" && m.done === m.total)).toEqual([]); // stopped before the end
    await vi.waitFor(() => expect(host.queue.stats.running).toBe(false));
    expect(host.queue.stats).toMatchObject({ cancelled: before.cancelled + 2, completed: before.completed, queued: 0 });
    const run = await result<RunResponse>(send({ type: "call", method: "run", body: { prompt: IOI_CLEAN, topK: 1 } }));
    expect(run.predictions[0]!.text).toBe(" Mary");
  });

  it("IOI prompts and unknown methods", async () => {
    const ioi = await result<{ pairs: unknown[] }>(send({ type: "call", method: "ioiPrompts", body: { n: 3 } }));
    expect(ioi.pairs).toHaveLength(3);
    expect(await answer(send({ type: "call", method: "ioiPrompts", body: { n: 0 } }))).toMatchObject({
      status: 400,
      message: "n must be an integer from 1 to 50, got 0",
    });
    expect(await answer(send({ type: "call", method: "forward" as "run", body: {} }))).toMatchObject({
      status: 404,
      message: 'unknown method "forward"',
    });
  });
});
