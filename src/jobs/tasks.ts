// Tasks by name: each rebuilds, from its options and seed, the clean and corrupted prompt pairs of a sweep and the
// metric that scores a range of them. Built in: "ioi" and "induction"; a module the worker loads may register more.
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import type { HookedTransformer } from "../model/hooked-transformer.js";
import type { MetricFn } from "../analysis/patching/index.js";
import type { Tensor } from "../tensor/index.js";
import { SpecError } from "./errors.js";
import type { JsonValue, TaskSpec } from "./spec.js";
import { ioiTask } from "./task-ioi.js";
import { inductionTask } from "./task-induction.js";

/** The inputs of the patching sweeps over the pairs [start, end). */
export interface PairBlock {
  clean: Tensor; // [n, pos]
  corrupted: Tensor; // [n, pos]
  /** Scores the logits of the n rows ([n, positions, d_vocab]), e.g. their mean logit difference. */
  metric: MetricFn;
  /** The positions the metric reads (patching computes logits only there). */
  metricPositions?: "last" | number[];
}

/** A task built for one model: how many pairs it has and the inputs of any contiguous range of them. */
export interface TaskInstance {
  nPairs: number;
  /** The inputs of pairs [start, end) of the task, rebuilt deterministically from its options. */
  block(start: number, end: number): PairBlock;
}

export interface SweepTask {
  name: string;
  /** Builds nPairs pairs; throws SpecError for bad options. The same options and seed must give the same pairs. */
  build(
    model: HookedTransformer,
    nPairs: number,
    options: { readonly [key: string]: JsonValue },
    seed: number,
  ): TaskInstance;
}

const TASKS = new Map<string, SweepTask>([
  [ioiTask.name, ioiTask],
  [inductionTask.name, inductionTask],
]);

/** Registers a task under its name (a module passed to `tlens worker --tasks` calls this when imported). */
export function registerTask(task: SweepTask): void {
  if (TASKS.has(task.name) && TASKS.get(task.name) !== task)
    throw new SpecError(`task "${task.name}" is already registered`);
  TASKS.set(task.name, task);
}

/** The registered sweep task of this name; SpecError listing the known ones otherwise. */
export function getTask(name: string): SweepTask {
  const t = TASKS.get(name);
  if (!t)
    throw new SpecError(
      `task.name: unknown task "${name}" (registered: ${[...TASKS.keys()].join(", ")}; a worker registers more with --tasks MODULE)`,
    );
  return t;
}

/** Imports task modules (paths, relative to the working directory), each registering its tasks. */
export async function loadTaskModules(paths: readonly string[]): Promise<void> {
  for (const p of paths) await import(pathToFileURL(resolve(p)).href);
}

export function buildTask(model: HookedTransformer, spec: TaskSpec): TaskInstance {
  const inst = getTask(spec.name).build(model, spec.pairs, spec.options ?? {}, spec.seed ?? 0);
  if (inst.nPairs !== spec.pairs)
    throw new SpecError(`task "${spec.name}" built ${inst.nPairs} prompt pairs, the spec asks for ${spec.pairs}`);
  return inst;
}
