// The Web Worker: holds one model and runs requests one at a time off the page's main thread (protocol.ts).
// Start it with createWorkerModel (client.ts); the build emits it as dist/browser/tlens-worker.js.
import { WorkerError } from "../errors.js";
import type { HookedTransformer } from "../model/hooked-transformer.js";
import { initBackend } from "./backend.js";
import { fromPretrained } from "./index.js";
import {
  CACHE_ANALYSES,
  decode,
  encode,
  encodeError,
  type LoadedInfo,
  type WireInput,
  type WorkerForwardOptions,
  type WorkerRequest,
  type WorkerResponse,
} from "./protocol.js";
import type { Tensor } from "../tensor/tensor.js";
import type { ModelInput } from "../model/model-input.js";

/** The worker scope as far as this file uses it (the DOM lib types `self` as a Window). */
interface WorkerScope {
  onmessage: ((ev: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerResponse, transfer: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;

/** A request cancelled by the page (which answers its caller with the abort reason instead). */
class CancelledError extends WorkerError {
  override name = "CancelledError";
}

let model: HookedTransformer | null = null;
const queue: WorkerRequest[] = [];
const cancelled = new Set<number>();
let running: number | null = null;

function post(msg: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  scope.postMessage(msg, transfer);
}

/** Lets queued messages (cancel) in: a macrotask turn through a MessageChannel (setTimeout would clamp). */
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(null);
  });
}

function needModel(): HookedTransformer {
  if (!model) throw new WorkerError("no model loaded: send a load request first");
  return model;
}

async function load(req: Extract<WorkerRequest, { type: "load" }>): Promise<LoadedInfo> {
  const { backend, threads } = req.backend === "js" ? { backend: "js" as const, threads: 1 } : await initBackend();
  const m = await fromPretrained(req.url, {
    ...req.options,
    backend,
    onProgress: (progress) => post({ id: req.id, type: "progress", progress }),
  });
  // a running request stops at the next block when it is cancelled
  m.addHook(
    (name) => /^blocks\.\d+\.hook_resid_pre$/.test(name),
    async () => {
      await yieldToEvents();
      if (running !== null && cancelled.has(running)) throw new CancelledError(`request ${running} was cancelled`);
    },
    { isPermanent: true },
  );
  model = m;
  return {
    backend,
    threads,
    nLayers: m.cfg.nLayers,
    nHeads: m.cfg.nHeads,
    dModel: m.cfg.dModel,
    dVocab: m.cfg.dVocab,
    hookNames: m.hookNames(),
  };
}

function input(x: WireInput): ModelInput | Tensor {
  return decode(x) as ModelInput | Tensor;
}

async function handle(req: Exclude<WorkerRequest, { type: "cancel" }>): Promise<unknown> {
  switch (req.type) {
    case "load":
      return load(req);
    case "forward":
      return needModel().forward(input(req.input), decode(req.options ?? {}) as WorkerForwardOptions);
    case "runWithCache": {
      const names = new Set(req.names);
      const [logits, cache] = await needModel().runWithCache(input(req.input), {
        ...(decode(req.options ?? {}) as WorkerForwardOptions),
        namesFilter: (n) => names.has(n),
      });
      return { logits, cache: Object.fromEntries(req.names.filter((n) => cache.has(n)).map((n) => [n, cache.get(n)])) };
    }
    case "analysis": {
      const m = needModel();
      const fn = CACHE_ANALYSES[req.name] as (model: HookedTransformer, cache: unknown, opts: unknown) => unknown;
      if (typeof fn !== "function")
        throw new WorkerError(`unknown analysis "${req.name}" (known: ${Object.keys(CACHE_ANALYSES).join(", ")})`);
      const [, cache] = await m.runWithCache(input(req.input));
      return fn(m, cache, decode(req.options));
    }
  }
}

async function drain(): Promise<void> {
  while (running === null && queue.length > 0) {
    const req = queue.shift()!;
    if (req.type === "cancel") continue;
    running = req.id;
    try {
      if (cancelled.has(req.id)) throw new CancelledError(`request ${req.id} was cancelled`);
      const transfer: ArrayBuffer[] = [];
      const value = encode(await handle(req), transfer);
      post({ id: req.id, type: "result", value }, transfer);
    } catch (e) {
      post({ id: req.id, type: "error", ...encodeError(e) });
    } finally {
      cancelled.delete(req.id);
      running = null;
    }
  }
}

scope.onmessage = (ev) => {
  const req = ev.data;
  if (req.type === "cancel") cancelled.add(req.target);
  else queue.push(req);
  void drain();
};
