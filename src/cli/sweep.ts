// `tlens sweep SPEC.json [--workers N | --queue URL] --out result.json [--html figures.html]`: runs a sweep spec
// in this process, on a local pool or through a BullMQ queue, and writes the merged result (and its figures).
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { toHtml } from "../viz/index.js";
import { TlensError } from "../errors.js";
import { InProcessExecutor } from "../jobs/inprocess.js";
import { PoolExecutor } from "../jobs/pool.js";
import { QueueExecutor } from "../jobs/queue.js";
import { loadTaskModules } from "../jobs/tasks.js";
import { parseSpec } from "../jobs/spec.js";
import type { Executor, SweepProgress } from "../jobs/executor.js";
import type { SweepResult } from "../jobs/merge.js";
import { commandArgs, intFlag, parseFlags, stringFlag } from "./args.js";
import { sweepFigures } from "./sweep-figures.js";

const USAGE = `usage: tlens sweep SPEC.json --out result.json [--workers N | --queue redis://127.0.0.1:6379]
                   [--queue-name NAME] [--tasks MODULE]... [--html figures.html]

Runs the activation-patching sweeps of a job spec (docs/distributed.md) and writes the merged result as JSON.
  --workers N      a local pool of N worker processes (the native threads divided between them)
  --queue URL      shards as BullMQ jobs on Redis, run by \`tlens worker\` processes anywhere
  --tasks MODULE   import MODULE first (it registers tasks by name; pool workers import it too)
  --html FILE      also write the grids as figures in a self-contained HTML page
Without --workers or --queue the sweep runs in this process. The result is the same, bit for bit, either way.`;

interface SweepArgs {
  spec: string;
  out: string;
  workers?: number;
  queue?: string;
  queueName?: string;
  tasks: string[];
  html?: string;
}

function parse(argv: readonly string[]): SweepArgs | string {
  const a: Partial<SweepArgs> & { tasks: string[] } = { tasks: [] };
  const words: string[] = [];
  const error = parseFlags(
    argv,
    {
      "--out": stringFlag((v) => {
        a.out = v;
      }),
      "--workers": intFlag(1, 1024, (n) => {
        a.workers = n;
      }),
      "--queue": stringFlag((v) => {
        a.queue = v;
      }),
      "--queue-name": stringFlag((v) => {
        a.queueName = v;
      }),
      "--tasks": stringFlag((v) => {
        a.tasks.push(v);
      }),
      "--html": stringFlag((v) => {
        a.html = v;
      }),
    },
    (w) => words.push(w),
  );
  if (error) return error;
  if (words.length !== 1) return "give one SPEC.json";
  if (!a.out) return "--out is required";
  if (a.workers !== undefined && a.queue !== undefined) return "give --workers or --queue, not both";
  return { ...a, spec: words[0]!, out: a.out };
}

function executor(a: SweepArgs): Executor {
  if (a.queue) return new QueueExecutor({ url: a.queue, queueName: a.queueName });
  if (a.workers) return new PoolExecutor({ workers: a.workers, taskModules: a.tasks });
  return new InProcessExecutor();
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function showProgress(p: SweepProgress): void {
  const eta = p.etaMs === null ? "" : `, ETA ${seconds(p.etaMs)}`;
  process.stderr.write(
    `\rshards ${p.done}/${p.total} (${seconds(p.elapsedMs)}${eta})   ${p.done === p.total ? "\n" : ""}`,
  );
}

/** Writes through a temporary file, so a reader never sees half a result. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function figuresHtml(r: SweepResult): string {
  return toHtml(sweepFigures(r), { title: `tlens sweep: ${r.spec.sweep.join(", ")}` });
}

export async function sweepCommand(argv: readonly string[]): Promise<number> {
  const a = commandArgs("sweep", USAGE, argv, parse);
  if (typeof a === "number") return a;
  const ex = executor(a);
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once("SIGINT", onSigint);
  try {
    await loadTaskModules(a.tasks);
    const spec = parseSpec(readFileSync(a.spec, "utf8"), a.spec);
    const result = await ex.run(spec, { onProgress: showProgress, signal: abort.signal });
    writeAtomic(a.out, JSON.stringify(result) + "\n");
    if (a.html) writeAtomic(a.html, figuresHtml(result));
    console.log(a.out);
    return 0;
  } catch (e) {
    console.error(
      `tlens sweep: ${e instanceof TlensError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    );
    return 1;
  } finally {
    process.off("SIGINT", onSigint);
    await ex.close();
  }
}
