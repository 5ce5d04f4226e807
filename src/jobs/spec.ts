// Sweeps as data: the job spec (model, task, what to sweep, how to shard) and its validation. A spec is plain
// JSON: a worker rebuilds the model, the prompts and the metric from it; no function or code travels in a job.
import { SpecError } from "./errors.js";
import { SWEEP_KINDS, type SweepKind } from "./kinds.js";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** TransformerLens's weight processing (fromPretrained's options). */
export interface ModelProcessing {
  foldLn?: boolean;
  centerWritingWeights?: boolean;
  centerUnembed?: boolean;
  foldValueBiases?: boolean;
  refactorFactoredAttnMatrices?: boolean;
}

/** A model to load: a name ("toy-ioi", "gpt2-small", a hub repo id) or a local directory, with weight processing. */
export interface PretrainedModelSpec {
  name: string;
  processing?: ModelProcessing;
}

/** A model with seeded N(0, std²) weights (benches, tests): the config fields of HookedTransformer.fromConfig. */
export interface RandomModelSpec {
  random: { config: { [key: string]: JsonValue }; seed: number; std?: number };
}

export type ModelSpec = PretrainedModelSpec | RandomModelSpec;

/** A task registered by name (built-in: "ioi", "induction"; others registered by a module the worker loads). */
export interface TaskSpec {
  name: string;
  /** How many prompt pairs the task builds (the submitter plans shards from this without loading the model). */
  pairs: number;
  /** The task's dataset options (e.g. ioi: { promptType, prependBos }). */
  options?: { [key: string]: JsonValue };
  seed?: number;
}

export interface ShardingSpec {
  /** Prompt pairs per shard (default 8): each shard runs one sweep kind over one range of pairs. */
  pairsPerShard?: number;
}

export interface SweepSpec {
  model: ModelSpec;
  task: TaskSpec;
  /** Activation-patching grids to compute, e.g. ["resid_pre", "head_out"]. */
  sweep: SweepKind[];
  shard?: ShardingSpec;
  /** Upper bound on rows stacked into one forward by the patching sweep (PatchingOptions.maxRows). */
  maxRows?: number;
}

type Obj = { [key: string]: unknown };

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fields(v: unknown, where: string, allowed: readonly string[]): Obj {
  if (!isObject(v)) throw new SpecError(`${where}: expected an object, got ${describe(v)}`);
  const extra = Object.keys(v).filter((k) => !allowed.includes(k));
  if (extra.length)
    throw new SpecError(
      `${where}: unknown field${extra.length > 1 ? "s" : ""} ${extra.map((k) => JSON.stringify(k)).join(", ")} (known: ${allowed.join(", ")})`,
    );
  return v;
}

function describe(v: unknown): string {
  return v === null
    ? "null"
    : Array.isArray(v)
      ? "an array"
      : typeof v === "string"
        ? `the string ${JSON.stringify(v).slice(0, 40)}`
        : typeof v;
}

/** An integer from min to max, else a SpecError naming the field. */
export function intField(v: unknown, where: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new SpecError(
      `${where}: expected an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`}, got ${typeof v === "number" ? v : describe(v)}`,
    );
  }
  return v;
}

function stringField(v: unknown, where: string): string {
  if (typeof v !== "string" || !v) throw new SpecError(`${where}: expected a non-empty string, got ${describe(v)}`);
  return v;
}

function isJson(v: unknown): v is JsonValue {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isJson);
  return isObject(v) && Object.values(v).every(isJson);
}

function jsonObject(v: unknown, where: string): { [key: string]: JsonValue } {
  if (!isObject(v) || !isJson(v)) throw new SpecError(`${where}: expected a JSON object of plain values`);
  return v as { [key: string]: JsonValue };
}

const PROCESSING = [
  "foldLn",
  "centerWritingWeights",
  "centerUnembed",
  "foldValueBiases",
  "refactorFactoredAttnMatrices",
] as const;

function validateModel(v: unknown): ModelSpec {
  if (isObject(v) && "random" in v) {
    fields(v, "model", ["random"]);
    const r = fields(v.random, "model.random", ["config", "seed", "std"]);
    const std = r.std === undefined ? undefined : r.std;
    if (std !== undefined && (typeof std !== "number" || !(std > 0) || !Number.isFinite(std)))
      throw new SpecError("model.random.std: expected a positive number");
    const random = {
      config: jsonObject(r.config, "model.random.config"),
      seed: intField(r.seed, "model.random.seed", 0, 2 ** 32 - 1),
    };
    return { random: std === undefined ? random : { ...random, std } };
  }
  const m = fields(v, "model", ["name", "processing"]);
  const out: PretrainedModelSpec = { name: stringField(m.name, "model.name") };
  if (m.processing !== undefined) {
    const p = fields(m.processing, "model.processing", PROCESSING);
    for (const [k, b] of Object.entries(p))
      if (typeof b !== "boolean") throw new SpecError(`model.processing.${k}: expected true or false`);
    out.processing = p as ModelProcessing;
  }
  return out;
}

function validateTask(v: unknown): TaskSpec {
  const t = fields(v, "task", ["name", "pairs", "options", "seed"]);
  const out: TaskSpec = {
    name: stringField(t.name, "task.name"),
    pairs: intField(t.pairs, "task.pairs", 1, 10_000_000),
  };
  if (t.options !== undefined) out.options = jsonObject(t.options, "task.options");
  if (t.seed !== undefined) out.seed = intField(t.seed, "task.seed", 0, 2 ** 32 - 1);
  return out;
}

function validateKinds(v: unknown): SweepKind[] {
  if (!Array.isArray(v) || v.length === 0)
    throw new SpecError(`sweep: expected a non-empty list of grids (${Object.keys(SWEEP_KINDS).join(", ")})`);
  const seen = new Set<string>();
  for (const k of v) {
    if (typeof k !== "string" || !Object.hasOwn(SWEEP_KINDS, k)) {
      throw new SpecError(
        `sweep: unknown grid ${typeof k === "string" ? JSON.stringify(k) : describe(k)} (known: ${Object.keys(SWEEP_KINDS).join(", ")})`,
      );
    }
    if (seen.has(k)) throw new SpecError(`sweep: "${k}" is listed twice`);
    seen.add(k);
  }
  return v as SweepKind[];
}

/** The spec as a typed SweepSpec, or a SpecError naming the first bad field. Parse JSON text with parseSpec. */
export function validateSpec(v: unknown): SweepSpec {
  const s = fields(v, "spec", ["model", "task", "sweep", "shard", "maxRows"]);
  const out: SweepSpec = { model: validateModel(s.model), task: validateTask(s.task), sweep: validateKinds(s.sweep) };
  if (s.shard !== undefined) {
    const sh = fields(s.shard, "shard", ["pairsPerShard"]);
    out.shard =
      sh.pairsPerShard === undefined ? {} : { pairsPerShard: intField(sh.pairsPerShard, "shard.pairsPerShard", 1) };
  }
  if (s.maxRows !== undefined) out.maxRows = intField(s.maxRows, "maxRows", 1);
  return out;
}

/** A job spec from JSON text, validated (SpecError naming `source` and the bad field). */
export function parseSpec(text: string, source = "spec"): SweepSpec {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new SpecError(`${source}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return validateSpec(v);
}

/** A stable text key of a model spec (workers load each distinct model once). */
export function modelKey(m: ModelSpec): string {
  return canonicalJson(m);
}

/** JSON with object keys sorted, so equal specs give equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (isObject(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}
