// A helper thread of the threaded wasm kernels (tlens-mt.wasm) in the browser: receives the module, the shared
// memory, its index and stack, answers "ready", and then serves the kernels' thread pool until terminated.
// The build emits it as dist/browser/tlens-kernels.js; backend.ts starts one per extra thread.
import { runWasmHelper, type WasmHelperInit } from "../backend/wasm.js";

const scope = self as unknown as {
  onmessage: ((ev: MessageEvent<WasmHelperInit>) => void) | null;
  postMessage(m: string): void;
};

scope.onmessage = (ev) => {
  scope.onmessage = null;
  void runWasmHelper(ev.data, () => scope.postMessage("ready"));
};
