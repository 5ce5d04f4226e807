// Backend selection: native when the addon was built, else a registered wasm backend (the browser build registers
// one once its module is compiled), else JS; TLENS_BACKEND=js|native|wasm forces one.
import { BackendError } from "../errors.js";
import { envVar } from "../host.js";
import { JsBackend } from "./js.js";
import { loadNativeBackend } from "./native.js";
import type { Backend } from "./types.js";

export type BackendName = "js" | "native" | "wasm";
export type { Backend } from "./types.js";

const jsBackend = new JsBackend();
let nativeBackend: Backend | null | undefined;
let wasmBackend: Backend | null = null;
let current: Backend | undefined;

function native(): Backend | null {
  if (nativeBackend === undefined) nativeBackend = loadNativeBackend();
  return nativeBackend ?? null;
}

/** Makes the wasm backend (src/backend/wasm.ts, compiled asynchronously) available by name; it is the default
 *  where no native backend exists, from the first backend choice after this call. */
export function registerWasmBackend(backend: Backend): void {
  if (backend.name !== "wasm")
    throw new BackendError(`tlens: registerWasmBackend takes the wasm backend, got "${backend.name}"`);
  wasmBackend = backend;
}

/** The backend a name stands for; "native" / "wasm" throw if that backend is not available. */
export function backendByName(name: BackendName): Backend {
  if (name === "js") return jsBackend;
  const b = name === "native" ? native() : wasmBackend;
  if (!b) {
    throw new BackendError(
      name === "native"
        ? "tlens: the native backend is not available (the addon was not built); use the js backend"
        : "tlens: the wasm backend is not loaded (call loadWasmBackend() first); use the js backend",
    );
  }
  return b;
}

/** The backend kernels run on now: the one setBackend chose, else TLENS_BACKEND, else native when built, a registered wasm backend, or js. */
export function getBackend(): Backend {
  if (!current) {
    const forced = envVar("TLENS_BACKEND");
    if (forced === "js" || forced === "native" || forced === "wasm") current = backendByName(forced);
    else if (forced) throw new BackendError(`tlens: TLENS_BACKEND must be "js", "native" or "wasm", got "${forced}"`);
    else current = native() ?? wasmBackend ?? jsBackend;
  }
  return current;
}

/** Makes the named backend the current one; BackendError when it is not available (native not built, wasm not loaded). */
export function setBackend(name: BackendName): void {
  current = backendByName(name);
}

/** Runs body with the given backend selected, restoring the previous one afterwards. */
export function withBackend<T>(name: BackendName, body: () => T): T {
  const previous = getBackend();
  current = backendByName(name);
  try {
    return body();
  } finally {
    current = previous;
  }
}
