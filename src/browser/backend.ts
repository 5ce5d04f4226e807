// Kernel backend in the browser: the wasm backend (tlens.wasm beside the bundle) when WebAssembly with SIMD128 is
// there, else the JS backend. fromPretrained and the worker call initBackend, so pages get wasm without asking.
import { registerWasmBackend, setBackend } from "../backend/index.js";
import { createWasmBackend, type WasmBackend } from "../backend/wasm.js";

let loading: Promise<WasmBackend> | null = null;

/** Compiles the wasm kernels (default: tlens.wasm beside this bundle), registers the backend and selects it. */
export function loadWasmBackend(source: string | URL | BufferSource | WebAssembly.Module = new URL("./tlens.wasm", import.meta.url)): Promise<WasmBackend> {
  loading ??= (async () => {
    const bytes = typeof source === "string" || source instanceof URL ? await (await fetch(source)).arrayBuffer() : source;
    const backend = await createWasmBackend(bytes);
    registerWasmBackend(backend);
    return backend;
  })();
  const p = loading;
  p.catch(() => { if (loading === p) loading = null; });
  return p.then((b) => {
    setBackend("wasm");
    return b;
  });
}

/** Selects the wasm backend when it loads, the JS backend otherwise; says which. */
export async function initBackend(): Promise<"wasm" | "js"> {
  try {
    await loadWasmBackend();
    return "wasm";
  } catch (e) {
    console.warn(`tlens: the wasm kernels did not load (${(e as Error).message}); using the JS backend`);
    setBackend("js");
    return "js";
  }
}
