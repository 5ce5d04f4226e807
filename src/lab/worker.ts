// The lab's Web Worker (bundled by `npm run build:browser` as dist/browser/tlens-lab-worker.js): the model loaded
// over fetch with the browser build's loader and kernels (wasm, threaded when the page is cross-origin isolated, else
// one thread; JS when wasm does not load), serving the lab's requests with the same LabModel as the server
// (worker-host.ts).
import { initBackend } from "../browser/backend.js";
import { fromPretrained } from "../browser/index.js";
import { createLabWorkerHost } from "./worker-host.js";
import type { LabWorkerRequest, LabWorkerResponse } from "./worker-protocol.js";

/** The worker scope as far as this file uses it (the DOM lib types `self` as a Window). */
interface WorkerScope {
  onmessage: ((ev: MessageEvent<LabWorkerRequest>) => void) | null;
  postMessage(message: LabWorkerResponse): void;
}
const scope = self as unknown as WorkerScope;

const host = createLabWorkerHost(
  async (req, onProgress) => {
    const { backend, threads } = req.backend === "js" ? { backend: "js" as const, threads: 1 } : await initBackend();
    const model = await fromPretrained(req.url, { backend, onProgress });
    return { model, backend, threads };
  },
  (msg) => scope.postMessage(msg),
);

scope.onmessage = (ev) => host.receive(ev.data);
