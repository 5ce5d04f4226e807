// Progress reporting for long analyses: a callback (the lab uses it) and a bar on stderr when it is a terminal.
import { stderrIsTTY, writeStderr } from "../host.js";

/** Called with the steps done and the total. */
export type ProgressCallback = (done: number, total: number) => void;

export interface ProgressOptions {
  onProgress?: ProgressCallback;
  /** Draw a bar on stderr (default: when stderr is a TTY). */
  progressBar?: boolean;
}

/** A progress callback for a sweep of `total` steps: calls opts.onProgress and draws a bar on stderr (progressBar, default when stderr is a terminal). */
export function progressReporter(label: string, total: number, opts: ProgressOptions): ProgressCallback {
  const bar = opts.progressBar ?? stderrIsTTY();
  const start = Date.now();
  return (done, all = total) => {
    opts.onProgress?.(done, all);
    if (!bar) return;
    const width = 30;
    const filled = Math.round((done / Math.max(all, 1)) * width);
    const secs = ((Date.now() - start) / 1000).toFixed(1);
    writeStderr(`\r${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${all} ${secs}s`);
    if (done >= all) writeStderr("\n");
  };
}
