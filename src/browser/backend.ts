// Kernel backend in the browser: the wasm backend when WebAssembly with SIMD128 is there — threaded
// (tlens-mt.wasm, helper workers sharing its memory) when the page is cross-origin isolated, one thread
// (tlens.wasm) otherwise — else the JS backend. fromPretrained and the worker call initBackend, so pages get wasm
// without asking.
import { registerWasmBackend, setBackend } from "../backend/index.js";
import { BackendError } from "../errors.js";
import { createWasmBackend, type WasmBackend, type WasmHelperInit } from "../backend/wasm.js";

export interface WasmLoadOptions {
  /** The module (default: tlens-mt.wasm or tlens.wasm beside this bundle, by `threads`). */
  source?: string | URL | BufferSource | WebAssembly.Module;
  /** Threads in all (default: up to 8 of navigator.hardwareConcurrency where SharedArrayBuffer can be shared, i.e.
   *  the page is cross-origin isolated; else 1). More than 1 needs the threaded module. */
  threads?: number;
}

let loading: Promise<WasmBackend> | null = null;

function defaultThreads(): number {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  return isolated ? Math.max(1, Math.min(8, globalThis.navigator?.hardwareConcurrency ?? 1)) : 1;
}

/** Starts one helper worker (tlens-kernels.js) and resolves once it serves the pool. */
function spawnHelper(init: WasmHelperInit): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL("./tlens-kernels.js", import.meta.url), { type: "module" });
    w.onmessage = () => resolve();
    w.onerror = (e) => reject(new BackendError(`tlens: a wasm helper thread did not start (${e.message})`));
    w.postMessage(init);
  });
}

/** Compiles the wasm kernels, registers the backend and selects it. The first call's options win (one module per
 *  page or worker). */
export function loadWasmBackend(opts: WasmLoadOptions = {}): Promise<WasmBackend> {
  loading ??= (async () => {
    const threads = opts.threads ?? defaultThreads();
    const source = opts.source ?? new URL(threads > 1 ? "./tlens-mt.wasm" : "./tlens.wasm", import.meta.url);
    const bytes =
      typeof source === "string" || source instanceof URL ? await (await fetch(source)).arrayBuffer() : source;
    const backend = await createWasmBackend(
      bytes,
      threads > 1 ? { threads: { count: threads, spawn: spawnHelper } } : {},
    );
    registerWasmBackend(backend);
    return backend;
  })();
  const p = loading;
  p.catch(() => {
    if (loading === p) loading = null;
  });
  return p.then((b) => {
    setBackend("wasm");
    return b;
  });
}

/** Selects the wasm backend when it loads, the JS backend otherwise; says which, and on how many threads. */
export async function initBackend(): Promise<{ backend: "wasm" | "js"; threads: number }> {
  try {
    return { backend: "wasm", threads: (await loadWasmBackend()).threads };
  } catch (e) {
    console.warn(`tlens: the wasm kernels did not load (${(e as Error).message}); using the JS backend`);
    setBackend("js");
    return { backend: "js", threads: 1 };
  }
}
