// A one-line terminal progress bar for downloads (redrawn with \r at most every 100 ms).

export interface ProgressStream {
  write(s: string): unknown;
  columns?: number;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export class ProgressBar {
  private last = 0;
  private started = Date.now();
  private startBytes = -1;
  private lastLine = "";

  constructor(
    private readonly stream: ProgressStream,
    private readonly label: string,
  ) {}

  /** Records progress; redraws when 100 ms passed since the last draw (or `force`). */
  update(bytes: number, total: number | null, force = false): void {
    const now = Date.now();
    if (this.startBytes < 0) {
      this.startBytes = bytes; // bytes already on disk (a resumed download) do not count towards the speed
      this.started = now;
    }
    if (!force && now - this.last < 100) return;
    this.last = now;
    const secs = (now - this.started) / 1000;
    const speed = secs > 0 ? (bytes - this.startBytes) / secs : 0;
    const sizes = total !== null ? `${formatBytes(bytes)}/${formatBytes(total)}` : formatBytes(bytes);
    const tail = `${sizes}  ${formatBytes(Math.round(speed))}/s`;
    const cols = Math.max(40, Math.min(this.stream.columns ?? 80, 120));
    let line: string;
    if (total !== null && total > 0) {
      const frac = Math.min(1, bytes / total);
      const pct = `${Math.floor(frac * 100)}%`.padStart(4);
      const label = this.label.length > 24 ? `…${this.label.slice(-23)}` : this.label;
      const width = Math.max(10, cols - label.length - pct.length - tail.length - 8);
      const filled = Math.round(frac * width);
      line = `${label} [${"=".repeat(filled)}${" ".repeat(width - filled)}] ${pct}  ${tail}`;
    } else {
      line = `${this.label}  ${tail}`;
    }
    const pad = this.lastLine.length > line.length ? " ".repeat(this.lastLine.length - line.length) : "";
    this.lastLine = line;
    this.stream.write(`\r${line}${pad}`);
  }

  /** Draws the final state and ends the line. */
  finish(bytes: number, total: number | null): void {
    this.update(bytes, total, true);
    this.stream.write("\n");
  }
}
