// `tlens worker --queue redis://127.0.0.1:6379 [--model M | --spec SPEC.json]`: runs sweep shards from the queue
// until SIGINT / SIGTERM.
import { readFileSync } from "node:fs";
import { TlensError } from "../errors.js";
import { startQueueWorker } from "../jobs/queue-worker.js";
import { parseSpec, type ModelSpec } from "../jobs/spec.js";
import { commandArgs, intFlag, parseFlags, stringFlag } from "./args.js";

const USAGE = `usage: tlens worker --queue redis://127.0.0.1:6379 [--model <name|dir> | --spec SPEC.json]
                    [--queue-name NAME] [--tasks MODULE]... [--lock-ms 30000]

Runs the shards of \`tlens sweep --queue\` (docs/distributed.md). With --model (or the model of --spec's job spec)
the worker loads that model first and refuses jobs for any other; without, it loads each job's model once.
  --tasks MODULE   import MODULE first: it registers tasks by name (jobs name tasks; no code travels in a job)
  --lock-ms N      a job's lock, renewed while its shard runs: a worker dead this long has its shard run again
One shard at a time per worker; run one worker per group of cores, each with TLENS_NUM_THREADS = its cores.`;

interface WorkerArgs {
  queue: string;
  queueName?: string;
  model?: string;
  spec?: string;
  tasks: string[];
  lockMs?: number;
}

function parse(argv: readonly string[]): WorkerArgs | string {
  const a: Partial<WorkerArgs> & { tasks: string[] } = { tasks: [] };
  const error = parseFlags(argv, {
    "--queue": stringFlag((v) => {
      a.queue = v;
    }),
    "--queue-name": stringFlag((v) => {
      a.queueName = v;
    }),
    "--model": stringFlag((v) => {
      a.model = v;
    }),
    "--spec": stringFlag((v) => {
      a.spec = v;
    }),
    "--tasks": stringFlag((v) => {
      a.tasks.push(v);
    }),
    "--lock-ms": intFlag(100, 24 * 3600 * 1000, (n) => {
      a.lockMs = n;
    }),
  });
  if (error) return error;
  if (!a.queue) return "--queue is required";
  if (a.model && a.spec) return "give --model or --spec, not both";
  return { ...a, queue: a.queue };
}

export async function workerCommand(argv: readonly string[]): Promise<number> {
  const a = commandArgs("worker", USAGE, argv, parse);
  if (typeof a === "number") return a;
  try {
    const model: ModelSpec | undefined = a.spec
      ? parseSpec(readFileSync(a.spec, "utf8"), a.spec).model
      : a.model
        ? { name: a.model }
        : undefined;
    const worker = await startQueueWorker({
      url: a.queue,
      queueName: a.queueName,
      model,
      taskModules: a.tasks,
      lockMs: a.lockMs,
    });
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await worker.close();
    return 0;
  } catch (e) {
    console.error(
      `tlens worker: ${e instanceof TlensError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    );
    return 1;
  }
}
