// Backend selection: native when the addon was built, else JS; TLENS_BACKEND=js|native forces one.
import { JsBackend } from "./js.js";
import { loadNativeBackend } from "./native.js";
import type { Backend } from "./types.js";

export type BackendName = "js" | "native";
export type { Backend } from "./types.js";

const jsBackend = new JsBackend();
let nativeBackend: Backend | null | undefined;
let current: Backend | undefined;

function native(): Backend | null {
  if (nativeBackend === undefined) nativeBackend = loadNativeBackend();
  return nativeBackend ?? null;
}

/** The backend a name stands for; "native" throws if the addon is not available. */
export function backendByName(name: BackendName): Backend {
  if (name === "js") return jsBackend;
  const b = native();
  if (!b) throw new Error("tlens: the native backend is not available (the addon was not built); use the js backend");
  return b;
}

export function getBackend(): Backend {
  if (!current) {
    const forced = typeof process !== "undefined" ? process.env?.TLENS_BACKEND : undefined;
    if (forced === "js" || forced === "native") current = backendByName(forced);
    else if (forced) throw new Error(`tlens: TLENS_BACKEND must be "js" or "native", got "${forced}"`);
    else current = native() ?? jsBackend;
  }
  return current;
}

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
