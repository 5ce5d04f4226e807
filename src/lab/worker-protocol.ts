// The messages between the lab page (app/worker-client.ts) and the lab's Web Worker (worker.ts, worker-host.ts),
// which runs the model in the page: the same LabClient requests as the HTTP API, with the same validation and the
// same computations (LabModel). Every request has an id; the worker answers it with zero or more progress messages
// and then one "result" or "error".
import type { LoadProgress } from "../browser/fetch-model.js";
import type { LabInfo } from "./protocol.js";

/** The LabClient methods the worker serves after "load" (info comes with the load's answer). */
export type LabWorkerMethod = "run" | "attention" | "logitLens" | "dla" | "patch" | "ioiPrompts" | "attribution";

export type LabWorkerRequest =
  /** Loads the model (config.json + model.safetensors under `url`); `name` is what info() calls it. */
  | { type: "load"; id: number; url: string; name: string; backend?: "wasm" | "js" }
  /** `body` is the request object of the LabClient method (validated in the worker, as the server does). */
  | { type: "call"; id: number; method: LabWorkerMethod; body: unknown }
  /** Drops request `target`: a waiting one leaves the queue, a running sweep stops at its next patched run. */
  | { type: "cancel"; target: number };

/** A request as the sender writes it, before it is given an id. */
export type LabWorkerRequestBody = LabWorkerRequest extends infer R
  ? R extends { id: number }
    ? Omit<R, "id">
    : never
  : never;

export type LabWorkerResponse =
  | { id: number; type: "load-progress"; progress: LoadProgress }
  | { id: number; type: "progress"; done: number; total: number }
  | { id: number; type: "result"; value: unknown }
  /** `status` is the HTTP status the server would have answered with; `cancelled` when a cancel stopped it. */
  | { id: number; type: "error"; status: number; message: string; cancelled: boolean };

/** The answer to "load". */
export interface LabWorkerLoaded {
  info: LabInfo;
  backend: "wasm" | "js";
  /** Threads of the wasm kernels (1 unless the page is cross-origin isolated). */
  threads: number;
}
