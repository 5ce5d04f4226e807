// Starting tlens child processes from this package, from source (.ts through tsx) or from the build (.js), with the
// backend of this process and a share of its native threads.
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { getBackend } from "../backend/index.js";
import { NativeBackend } from "../backend/native.js";

/** The file of a module beside this one (`name` without extension) and the node flags it needs. */
export function siblingModule(name: string): { file: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith(".ts");
  const file = fileURLToPath(new URL(`./${name}${fromSource ? ".ts" : ".js"}`, import.meta.url));
  return { file, execArgv: fromSource ? ["--import", "tsx"] : [] };
}

/** The kernel threads this process runs with (the native pool's size; the cores for other backends). */
export function processThreads(): number {
  const b = getBackend();
  return b instanceof NativeBackend ? b.addon.numThreads() : availableParallelism();
}

/** The environment of a worker process: this process's backend, and `threads` native threads. */
export function workerEnv(threads: number, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, TLENS_BACKEND: getBackend().name, TLENS_NUM_THREADS: String(threads) };
}
