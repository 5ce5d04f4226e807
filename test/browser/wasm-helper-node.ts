// A helper thread of the threaded wasm kernels under Node (worker_threads), for the tests: the browser's is
// src/browser/kernel-worker.ts.
import { parentPort, workerData } from "node:worker_threads";
import { runWasmHelper, type WasmHelperInit } from "../../src/backend/wasm.js";

void runWasmHelper(workerData as WasmHelperInit, () => parentPort!.postMessage("ready"));
