// Reading a task's options: defaults, checks, and refusal of unknown names (SpecError naming the option).
import { SpecError } from "./errors.js";
import type { JsonValue } from "./spec.js";

/** Reads an option: its value, checked by `check`, or the default when absent. */
export function option<T>(
  options: { readonly [key: string]: JsonValue },
  name: string,
  fallback: T,
  check: (v: JsonValue, where: string) => T,
): T {
  const v = options[name];
  return v === undefined ? fallback : check(v, `task.options.${name}`);
}

/** Refuses options the task does not know. */
export function knownOptions(
  options: { readonly [key: string]: JsonValue },
  task: string,
  known: readonly string[],
): void {
  const extra = Object.keys(options).filter((k) => !known.includes(k));
  if (extra.length)
    throw new SpecError(
      `task.options: "${task}" has no option ${extra.map((k) => JSON.stringify(k)).join(", ")} (known: ${known.join(", ")})`,
    );
}
