// The lab's job queue: one job at a time in FIFO order, a bounded wait list (503 beyond it), cancellation of waiting and
// running jobs through their AbortSignal, and the queue moving on after failures and cancellations.
import { describe, expect, it } from "vitest";
import { JobQueue } from "../../src/lab/queue.js";
import { LabError } from "../../src/lab/validate.js";

/** A promise and its resolver, to hold a job open until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

describe("JobQueue", () => {
  it("runs one job at a time, in the order submitted", async () => {
    const q = new JobQueue(10);
    const log: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const job = (name: string) => async (): Promise<string> => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`end ${name}`);
      running--;
      return name;
    };
    const results = await Promise.all(["a", "b", "c"].map((n) => q.submit(job(n))));
    expect(results).toEqual(["a", "b", "c"]);
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
    expect(maxRunning).toBe(1);
    expect(q.stats).toEqual({ running: false, queued: 0, completed: 3, failed: 0, cancelled: 0, rejected: 0 });
  });

  it("refuses jobs beyond maxQueued with a 503 LabError, synchronously", async () => {
    const q = new JobQueue(2);
    const g = gate();
    const first = q.submit(() => g.promise);
    const waiting = [q.submit(async () => 1), q.submit(async () => 2)];
    expect(q.stats.queued).toBe(2);
    expect(q.ahead).toBe(3);
    let refused: unknown;
    try {
      void q.submit(async () => 3);
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(LabError);
    expect((refused as LabError).status).toBe(503);
    expect((refused as LabError).message).toMatch(/busy: 2 jobs are waiting/);
    g.open();
    await first;
    expect(await Promise.all(waiting)).toEqual([1, 2]);
    expect(q.stats.rejected).toBe(1);
    expect(q.stats.completed).toBe(3);
  });

  it("a waiting job whose signal aborts leaves the queue and never runs", async () => {
    const q = new JobQueue(10);
    const g = gate();
    const first = q.submit(() => g.promise);
    const c = new AbortController();
    let ran = false;
    const second = q.submit(async () => {
      ran = true;
    }, c.signal);
    const third = q.submit(async () => "third");
    expect(q.stats.queued).toBe(2);
    c.abort();
    await expect(second).rejects.toMatchObject({ name: "AbortError" });
    expect(q.stats.queued).toBe(1);
    g.open();
    await first;
    expect(await third).toBe("third");
    expect(ran).toBe(false);
    expect(q.stats).toMatchObject({ completed: 2, cancelled: 1, failed: 0 });
  });

  it("a running job sees its signal abort; the queue moves on to the next job", async () => {
    const q = new JobQueue(10);
    const c = new AbortController();
    let sawAbort = false;
    const long = q.submit(async (signal) => {
      await new Promise<void>((resolve, reject) => {
        signal.addEventListener("abort", () => {
          sawAbort = true;
          reject(signal.reason);
        });
      });
    }, c.signal);
    const next = q.submit(async () => "next");
    await new Promise((r) => setTimeout(r, 5));
    expect(q.stats.running).toBe(true);
    c.abort();
    await expect(long).rejects.toMatchObject({ name: "AbortError" });
    expect(sawAbort).toBe(true);
    expect(await next).toBe("next");
    expect(q.stats).toMatchObject({ running: false, completed: 1, cancelled: 1 });
  });

  it("a failing job rejects with its error and frees the queue; an already aborted signal never queues", async () => {
    const q = new JobQueue(10);
    const failing = q.submit(async () => {
      throw new Error("boom");
    });
    const after = q.submit(async () => 42);
    await expect(failing).rejects.toThrow("boom");
    expect(await after).toBe(42);
    const c = new AbortController();
    c.abort();
    await expect(q.submit(async () => 1, c.signal)).rejects.toMatchObject({ name: "AbortError" });
    expect(q.stats).toMatchObject({ completed: 1, failed: 1, cancelled: 1, queued: 0, running: false });
  });
});
