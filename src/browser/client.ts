// The page's side of the worker (worker.ts): a model in a Web Worker behind promises, so the page stays responsive
// while the model loads and runs. Tensors come back as Tensors; every call takes an AbortSignal (cancel).
import { WorkerError } from "../errors.js";
import type { ProcessOptions } from "../model/weight-processing.js";
import type { Tensor } from "../tensor/tensor.js";
import type { LoadProgress } from "./fetch-model.js";
import {
  decode,
  decodeError,
  encode,
  type AnalysisName,
  type AnalysisOptions,
  type AnalysisResult,
  type LoadedInfo,
  type WireInput,
  type WorkerForwardOptions,
  type WorkerRequest,
  type WorkerResponse,
} from "./protocol.js";

type RequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

export interface WorkerModelOptions extends ProcessOptions {
  /** The worker script (default: tlens-worker.js beside this bundle). */
  workerUrl?: string | URL;
  /** Kernels in the worker: "wasm" (default) or "js". */
  backend?: "wasm" | "js";
  /** Called as the worker downloads the model's files. */
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** A HookedTransformer living in a Web Worker. */
export class WorkerModel {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    {
      resolve: (v: unknown) => void;
      reject: (e: Error) => void;
      onProgress?: (p: LoadProgress) => void;
    }
  >();

  private loaded: LoadedInfo | null = null;

  private constructor(private readonly worker: Worker) {}

  /** The model's sizes, hook names and the backend the worker runs on. */
  get info(): LoadedInfo {
    return this.loaded!;
  }

  /** Starts the worker and loads the model at `url` (a folder serving config.json + model.safetensors). */
  static async load(url: string, opts: WorkerModelOptions = {}): Promise<WorkerModel> {
    const { workerUrl, backend, onProgress, signal, ...processing } = opts;
    const worker = new Worker(workerUrl ?? new URL("./tlens-worker.js", import.meta.url), { type: "module" });
    const m = new WorkerModel(worker);
    worker.onmessage = (ev: MessageEvent<WorkerResponse>) => m.receive(ev.data);
    worker.onerror = (ev) => m.failAll(new WorkerError(`tlens worker: ${ev.message || "failed to start"}`));
    try {
      const absolute = new URL(url, location.href).href;
      m.loaded = await m.call<LoadedInfo>(
        { type: "load", url: absolute, backend, options: processing },
        { signal },
        onProgress,
      );
      return m;
    } catch (e) {
      worker.terminate();
      throw e;
    }
  }

  /** Logits [batch, pos, d_vocab] (or what options.returnType asks for). */
  forward(input: WireInput, options: WorkerForwardOptions = {}, call: CallOptions = {}): Promise<Tensor> {
    return this.call({ type: "forward", input, options }, call);
  }

  /** Logits and the activations of the hooks named (only those cross back to the page). */
  runWithCache(
    input: WireInput,
    names: string[],
    options: WorkerForwardOptions = {},
    call: CallOptions = {},
  ): Promise<{ logits: Tensor; cache: Record<string, Tensor> }> {
    return this.call({ type: "runWithCache", input, names, options }, call);
  }

  /** Runs `input` with a full cache and one analysis of protocol.ts's CACHE_ANALYSES on it. */
  analysis<K extends AnalysisName>(
    name: K,
    input: WireInput,
    options: AnalysisOptions<K>,
    call: CallOptions = {},
  ): Promise<AnalysisResult<K>> {
    return this.call({ type: "analysis", name, input, options }, call);
  }

  /** Stops the worker; pending calls reject. */
  terminate(): void {
    this.worker.terminate();
    this.failAll(new WorkerError("tlens worker terminated"));
  }

  private call<T>(body: RequestBody, call: CallOptions, onProgress?: (p: LoadProgress) => void): Promise<T> {
    const id = this.nextId++;
    const signal = call.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void =>
        this.worker.postMessage({ id: this.nextId++, type: "cancel", target: id } satisfies WorkerRequest);
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = (): void => signal?.removeEventListener("abort", onAbort);
      this.pending.set(id, {
        resolve: (v) => {
          done();
          resolve(v as T);
        },
        reject: (e) => {
          done();
          reject(signal?.aborted ? signal.reason : e);
        },
        onProgress,
      });
      const transfer: ArrayBuffer[] = [];
      const msg = { ...body, id } as WorkerRequest;
      this.worker.postMessage(encode(msg, transfer), transfer);
    });
  }

  private receive(msg: WorkerResponse): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === "progress") {
      p.onProgress?.(msg.progress);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === "result") p.resolve(decode(msg.value));
    else p.reject(decodeError(msg.name, msg.message));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

/** Starts a worker and loads the model at `url` into it. */
export function createWorkerModel(url: string, opts: WorkerModelOptions = {}): Promise<WorkerModel> {
  return WorkerModel.load(url, opts);
}
