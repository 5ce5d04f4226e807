// LabClient over the lab's Web Worker (src/lab/worker.ts, served from the browser bundle): the model runs in the
// page. Requests carry ids; a sweep's progress comes as messages; cancel is a message that aborts the request in the
// worker; errors are LabRequestErrors with the messages (and statuses) the server would have sent.
import type { LoadProgress } from "../../browser/fetch-model.js";
import type {
  AttentionRequest,
  AttentionResponse,
  AttributionRequest,
  AttributionResponse,
  DlaRequest,
  DlaResponse,
  IoiRequest,
  IoiResponse,
  LabClient,
  LabInfo,
  LogitLensRequest,
  LogitLensResponse,
  PatchRequest,
  PatchResponse,
  RunRequest,
  RunResponse,
} from "../protocol.js";
import type {
  LabWorkerLoaded,
  LabWorkerMethod,
  LabWorkerRequest,
  LabWorkerRequestBody,
  LabWorkerResponse,
} from "../worker-protocol.js";
import { LabRequestError } from "./http-client.js";

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  onProgress?: (done: number, total: number) => void;
  onLoad?: (p: LoadProgress) => void;
}

export interface WorkerLabClientOptions {
  /** The lab worker's URL and the model's folder URL (GET /api/browser says both). */
  worker: string;
  model: string;
  /** The model's name, as info() reports it. */
  name: string;
  /** Download progress of the model's files. */
  onProgress?: (p: LoadProgress) => void;
  /** Kernels to use (default: wasm when it loads, else js). */
  backend?: "wasm" | "js";
}

export class WorkerLabClient implements LabClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private loaded: LabWorkerLoaded | null = null;

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (ev: MessageEvent<LabWorkerResponse>) => this.receive(ev.data);
    worker.onerror = (ev) =>
      this.failAll(new LabRequestError(`the lab worker failed: ${ev.message || "it did not start"}`, 500));
  }

  /** Starts the worker and loads the model into it; resolves once it can answer. */
  static async start(opts: WorkerLabClientOptions): Promise<WorkerLabClient> {
    const client = new WorkerLabClient(new Worker(opts.worker, { type: "module" }));
    try {
      const model = new URL(opts.model, location.href).href;
      client.loaded = await client.send<LabWorkerLoaded>(
        { type: "load", url: model, name: opts.name, backend: opts.backend },
        { onLoad: opts.onProgress },
      );
    } catch (e) {
      client.terminate();
      throw e;
    }
    return client;
  }

  /** The kernels the worker runs on ("wasm" or "js") and their threads. */
  get backend(): { backend: "wasm" | "js"; threads: number } {
    const l = this.need();
    return { backend: l.backend, threads: l.threads };
  }

  terminate(): void {
    this.worker.terminate();
    this.failAll(new LabRequestError("the lab worker was stopped", 503));
  }

  private need(): LabWorkerLoaded {
    if (!this.loaded) throw new LabRequestError("the model is not loaded in the page yet", 503);
    return this.loaded;
  }

  private receive(msg: LabWorkerResponse): void {
    const p = this.pending.get(msg.id);
    if (!p) return; // answered already (cancelled on this side)
    switch (msg.type) {
      case "load-progress":
        p.onLoad?.(msg.progress);
        break;
      case "progress":
        p.onProgress?.(msg.done, msg.total);
        break;
      case "result":
        this.pending.delete(msg.id);
        p.resolve(msg.value);
        break;
      case "error":
        this.pending.delete(msg.id);
        p.reject(new LabRequestError(msg.message, msg.status));
        break;
    }
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private send<T>(
    req: LabWorkerRequestBody,
    hooks: Omit<Pending, "resolve" | "reject"> = {},
    signal?: AbortSignal,
  ): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        // the worker drops the request (a waiting one never runs, a running sweep stops); the page moves on now
        this.worker.postMessage({ type: "cancel", target: id } satisfies LabWorkerRequest);
        this.pending.delete(id);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const settled = (): void => signal?.removeEventListener("abort", onAbort);
      this.pending.set(id, {
        ...hooks,
        resolve: (v) => {
          settled();
          resolve(v as T);
        },
        reject: (e) => {
          settled();
          reject(e);
        },
      });
      this.worker.postMessage({ ...req, id } as LabWorkerRequest);
    });
  }

  private call<T>(
    method: LabWorkerMethod,
    body: object,
    hooks?: Omit<Pending, "resolve" | "reject">,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.send<T>({ type: "call", method, body }, hooks, signal);
  }

  async info(): Promise<LabInfo> {
    return this.need().info;
  }
  run(req: RunRequest): Promise<RunResponse> {
    return this.call("run", req);
  }
  attention(req: AttentionRequest): Promise<AttentionResponse> {
    return this.call("attention", req);
  }
  logitLens(req: LogitLensRequest): Promise<LogitLensResponse> {
    return this.call("logitLens", req);
  }
  dla(req: DlaRequest): Promise<DlaResponse> {
    return this.call("dla", req);
  }
  ioiPrompts(req: IoiRequest): Promise<IoiResponse> {
    return this.call("ioiPrompts", req);
  }
  attribution(req: AttributionRequest): Promise<AttributionResponse> {
    return this.call("attribution", req);
  }
  patch(
    req: PatchRequest,
    onProgress: (done: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<PatchResponse> {
    return this.call("patch", req, { onProgress }, signal);
  }
}
