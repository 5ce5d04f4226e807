// One model run at a time: jobs wait in a bounded FIFO queue and run one after another. A job's AbortSignal cancels
// it: a waiting job leaves the queue at once, a running one is told through the same signal (it must stop and
// reject), and the queue moves on either way.
import { LabError } from "./validate.js";

export type Job<T> = (signal: AbortSignal) => Promise<T>;

export interface QueueStats {
  /** A job is running now. */
  running: boolean;
  /** Jobs waiting. */
  queued: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Jobs refused because the queue was full. */
  rejected: number;
}

interface Waiting {
  start: () => void;
  onAbort: () => void;
}

/** The reason a job rejects with when its signal aborted (the signal's own reason when it has one). */
function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("the job was cancelled", "AbortError");
}

export class JobQueue {
  private readonly waiting: Waiting[] = [];
  private busy = false;
  private readonly counts = { completed: 0, failed: 0, cancelled: 0, rejected: 0 };

  /** `maxQueued`: jobs that may wait behind the running one; more are refused with a 503 LabError. */
  constructor(readonly maxQueued: number) {}

  get stats(): QueueStats {
    return { running: this.busy, queued: this.waiting.length, ...this.counts };
  }

  /** How many jobs a job submitted now would wait behind. */
  get ahead(): number {
    return this.waiting.length + (this.busy ? 1 : 0);
  }

  /** Runs `job` when its turn comes; the promise rejects with the abort reason when `signal` aborts before the job
   *  ends. Throws LabError(503) at once (synchronously: nothing has been answered yet) when the queue is full. */
  submit<T>(job: Job<T>, signal: AbortSignal = new AbortController().signal): Promise<T> {
    if (this.busy && this.waiting.length >= this.maxQueued) {
      this.counts.rejected++;
      throw new LabError(
        503,
        `the lab is busy: ${this.waiting.length} jobs are waiting for the model (at most ${this.maxQueued}); try again shortly`,
      );
    }
    if (signal.aborted) {
      this.counts.cancelled++;
      return Promise.reject(abortReason(signal));
    }
    return new Promise<T>((resolve, reject) => {
      const run = (): void => {
        this.busy = true;
        // a job that throws before its first await still rejects, and still frees the queue
        Promise.resolve()
          .then(() => job(signal))
          .then(
            (v) => {
              if (signal.aborted) {
                this.counts.cancelled++;
                reject(abortReason(signal));
              } else {
                this.counts.completed++;
                resolve(v);
              }
            },
            (e: unknown) => {
              if (signal.aborted) this.counts.cancelled++;
              else this.counts.failed++;
              reject(signal.aborted ? abortReason(signal) : e);
            },
          )
          .finally(() => {
            this.busy = false;
            this.next();
          });
      };
      if (!this.busy) {
        run();
        return;
      }
      const entry: Waiting = {
        start: () => {
          signal.removeEventListener("abort", entry.onAbort);
          run();
        },
        onAbort: () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          this.counts.cancelled++;
          reject(abortReason(signal));
        },
      };
      signal.addEventListener("abort", entry.onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  private next(): void {
    const entry = this.waiting.shift();
    entry?.start();
  }
}
