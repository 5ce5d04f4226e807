// Hooks of a run with SAEs spliced in: a hook spec names model hook points or the spliced SAEs' points, which are
// called `<hook>.hook_sae_*` (as in SAELens's HookedSAETransformer). This splits the specs between the two.
import { HookError } from "../errors.js";
import type { HookFn, HookInfo, NameFilter } from "../model/hook-point.js";
import type { HookSpec } from "../model/run/context.js";
import { SAE_HOOK_NAMES } from "./sae.js";

/** The specs for the model's points, and for each spliced hook the specs on its SAE's local names. */
export interface SplitHooks {
  model: HookSpec[];
  sae: Map<string, HookSpec[]>;
}

const matches = (filter: NameFilter, name: string): boolean =>
  typeof filter === "function" ? filter(name) : typeof filter === "string" ? filter === name : filter.includes(name);

/** The hook as it fires inside an SAE spliced at `hookName`: HookInfo.name is the full name. */
function renamed(fn: HookFn, full: string): HookFn {
  const layer = (): number => {
    const m = /^blocks\.(\d+)\./.exec(full);
    if (!m) throw new HookError(`hook "${full}" is not inside a block, so it has no layer`);
    return Number(m[1]);
  };
  return (act, info) => fn(act, { name: full, positionOffset: info.positionOffset, layer } satisfies HookInfo);
}

/** Splits specs: exact names of `<hook>.hook_sae_*` go to that SAE; a predicate is tried on every model name and
 *  every SAE hook's full name. A spliced hook's own name is an error (the SAE replaces that point). */
export function splitHooks(specs: readonly HookSpec[], spliced: readonly string[]): SplitHooks {
  const out: SplitHooks = { model: [], sae: new Map(spliced.map((h) => [h, []])) };
  const isSpliced = (n: string): boolean => spliced.includes(n);
  for (const [filter, fn] of specs) {
    if (typeof filter === "function") {
      out.model.push([(n: string) => !isSpliced(n) && filter(n), fn]);
    } else {
      const names = typeof filter === "string" ? [filter] : filter;
      for (const n of names) {
        if (isSpliced(n))
          throw new HookError(
            `hook "${n}" is replaced by a spliced SAE; hook "${n}.hook_sae_input" or "${n}.hook_sae_output" instead`,
          );
      }
      const modelNames = names.filter((n) => !isSaeName(n, spliced));
      if (modelNames.length) out.model.push([modelNames, fn]);
    }
    for (const h of spliced) {
      for (const local of SAE_HOOK_NAMES) {
        const full = `${h}.${local}`;
        if (matches(filter, full)) out.sae.get(h)?.push([local, renamed(fn, full)]);
      }
    }
  }
  return out;
}

function isSaeName(name: string, spliced: readonly string[]): boolean {
  return spliced.some((h) => SAE_HOOK_NAMES.some((l) => name === `${h}.${l}`));
}
