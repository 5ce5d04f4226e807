// The lab worker's logic, apart from the Worker global so that Node tests can drive it: one LabModel, requests
// validated at once and then run one at a time through a JobQueue (as the server does), progress of sweeps posted,
// cancel messages abort a request's signal. worker.ts binds it to the worker scope and the browser model loader.
import type { LoadProgress } from "../browser/fetch-model.js";
import type { HookedTransformer } from "../model/hooked-transformer.js";
import { describeFailure, ioiCall, MODEL_CALLS, patchCall } from "./calls.js";
import { LabModel } from "./compute.js";
import { JobQueue } from "./queue.js";
import { LabError } from "./validate.js";
import type { LabWorkerLoaded, LabWorkerRequest, LabWorkerResponse } from "./worker-protocol.js";

export interface LoadedModel {
  model: HookedTransformer;
  backend: "wasm" | "js";
  threads: number;
}

/** Loads the model of a "load" request, reporting download progress. */
export type LabLoader = (
  req: Extract<LabWorkerRequest, { type: "load" }>,
  onProgress: (p: LoadProgress) => void,
) => Promise<LoadedModel>;

export interface LabWorkerHost {
  /** Handles one message from the page. */
  receive(msg: LabWorkerRequest): void;
  /** The queue of model jobs (one runs at a time). */
  readonly queue: JobQueue;
}

/** A message handler that answers through `post`. */
export function createLabWorkerHost(loader: LabLoader, post: (msg: LabWorkerResponse) => void): LabWorkerHost {
  const queue = new JobQueue(256);
  const pending = new Map<number, AbortController>();
  let lab: Promise<LabModel> | null = null;

  const fail = (id: number, e: unknown, cancelled: boolean): void => {
    const { status, message } = cancelled ? { status: 499, message: "cancelled" } : describeFailure(e);
    post({ id, type: "error", status, message, cancelled });
  };

  async function load(req: Extract<LabWorkerRequest, { type: "load" }>): Promise<LabWorkerLoaded> {
    if (lab) throw new LabError(409, "the model is already loaded");
    const loading = loader(req, (progress) => post({ id: req.id, type: "load-progress", progress }));
    lab = loading.then(({ model }) => new LabModel(model, req.name));
    lab.catch(() => {
      lab = null;
    });
    const [{ backend, threads }, loaded] = await Promise.all([loading, lab]);
    return { info: loaded.info(), backend, threads };
  }

  async function call(req: Extract<LabWorkerRequest, { type: "call" }>, signal: AbortSignal): Promise<unknown> {
    if (!lab) throw new LabError(503, "the model is not loaded in the page yet");
    const m = await lab;
    switch (req.method) {
      case "ioiPrompts":
        return ioiCall(m, req.body);
      case "patch": {
        const sweep = patchCall(m, req.body);
        return queue.submit(
          (s) => sweep({ signal: s, onProgress: (done, total) => post({ id: req.id, type: "progress", done, total }) }),
          signal,
        );
      }
      default: {
        const make = Object.hasOwn(MODEL_CALLS, req.method) ? MODEL_CALLS[req.method] : null;
        if (!make) throw new LabError(404, `unknown method ${JSON.stringify(req.method)}`);
        return queue.submit(make(m, req.body), signal);
      }
    }
  }

  function answer(id: number, work: (signal: AbortSignal) => Promise<unknown>): void {
    const controller = new AbortController();
    pending.set(id, controller);
    work(controller.signal)
      .then(
        (value) => {
          if (controller.signal.aborted) fail(id, null, true);
          else post({ id, type: "result", value });
        },
        (e: unknown) => fail(id, e, controller.signal.aborted),
      )
      .finally(() => pending.delete(id));
  }

  return {
    queue,
    receive(msg) {
      if (msg.type === "cancel") pending.get(msg.target)?.abort();
      else if (msg.type === "load") answer(msg.id, () => load(msg));
      else answer(msg.id, (signal) => call(msg, signal));
    },
  };
}
