// Hook points: named places in the forward pass where user functions may read or replace an activation. A hook
// point holds the shared hooks (model.addHook, permanent ones); a run adds its own through its RunContext.
import { HookError } from "../errors.js";
import { fmtShape } from "../tensor/shape.js";
import type { Tensor } from "../tensor/index.js";
import type { RunContext } from "./run/context.js";
import { attachBackwardHooks, type BackwardHook } from "./backward-hook.js";

/** What a hook function learns about where it fires. */
export interface HookInfo {
  readonly name: string;
  /** Absolute position of index 0 of the activation's pos dim: 0 normally; with a KV cache (generation) or a
   *  patching sweep that starts later, hooks see only the later positions, which start here. */
  readonly positionOffset: number;
  /** The block index in the name (`blocks.3.attn.hook_z` → 3); throws for hooks outside blocks (as TL). */
  layer(): number;
}

/** A hook sees the activation and where it fires; it may edit the tensor in place, or return a replacement of the
 *  same shape (or a promise of one). */
export type HookFn = (activation: Tensor, hook: HookInfo) => Tensor | void | Promise<Tensor | void>;
/** A forward hook sees the activation, a backward hook (TL's dir="bwd") the gradient with respect to it. */
export type HookDir = "fwd" | "bwd";
export interface AddHookOptions {
  isPermanent?: boolean;
  prepend?: boolean;
  /** "fwd" (default) or "bwd". */
  dir?: HookDir;
}
/** Which hooks: an exact name, a list of names, or a predicate over names. */
export type NameFilter = string | string[] | ((name: string) => boolean);

const READERS = new WeakSet<HookFn>();

/** Marks fn as a hook that only reads its activation (a cache's): where TL fires a hook point several times with
 *  equal values (ln1 for q, k and v), the forward may fire readers once and keep its fused kernels. */
export function readerHook(fn: HookFn): HookFn {
  READERS.add(fn);
  return fn;
}

export function isReader(fn: HookFn): boolean {
  return READERS.has(fn);
}

interface HookEntry {
  fn: HookFn;
  permanent: boolean;
  dir: HookDir;
}

function layerOf(name: string): number {
  const m = /^blocks\.(\d+)\./.exec(name);
  if (!m) throw new HookError(`hook "${name}" is not inside a block, so it has no layer`);
  return Number(m[1]);
}

/** One firing of a hook point in one run. */
class HookCall implements HookInfo {
  constructor(
    readonly name: string,
    readonly positionOffset: number,
  ) {}
  /** The block index in the hook's name (TL's HookPoint.layer()); throws for a hook outside the blocks. */
  layer(): number {
    return layerOf(this.name);
  }
}

/** One named activation of the model (TL's HookPoint): forward and backward hooks attached to it see, and may
 *  replace, its value [batch, pos, ...] on every run. */
export class HookPoint {
  /** The shared hooks: every run fires them. */
  private hooks: HookEntry[] = [];

  constructor(readonly name: string) {}

  /** The block index in the hook's name (TL's HookPoint.layer()); throws for a hook outside the blocks. */
  layer(): number {
    return layerOf(this.name);
  }

  /** Any shared hook? (A run's own hooks are its RunContext's.) */
  get hasHooks(): boolean {
    return this.hooks.length > 0;
  }

  /** No shared hook, or only readerHook forward ones (a backward hook needs the unfused forward: its gradient). */
  get onlyReaders(): boolean {
    return this.hooks.every((h) => h.dir === "fwd" && READERS.has(h.fn));
  }

  /** Attaches a forward (default) or backward (`dir: "bwd"`) hook; permanent hooks survive resetHooks. */
  add(fn: HookFn, opts: AddHookOptions = {}): void {
    const entry = { fn, permanent: opts.isPermanent ?? false, dir: opts.dir ?? "fwd" };
    if (opts.prepend) this.hooks.unshift(entry);
    else this.hooks.push(entry);
  }

  /** Detaches hook fn (from both directions unless `dir` is given). */
  remove(fn: HookFn, dir?: HookDir): void {
    this.hooks = this.hooks.filter((h) => h.fn !== fn || (dir !== undefined && h.dir !== dir));
  }

  /** Detaches every hook, permanent ones too when `includingPermanent`. */
  clear(includingPermanent: boolean): void {
    this.hooks = includingPermanent ? [] : this.hooks.filter((h) => h.permanent);
  }

  /** Runs the shared forward hooks, then the run's own, in order (a returned tensor must keep the activation's
   *  shape); then attaches the backward hooks, shared then the run's, to the result's gradient. */
  async run(x: Tensor, ctx: RunContext): Promise<Tensor> {
    if (!ctx.hooked(this)) return x;
    const call = new HookCall(this.name, ctx.positionOffset);
    let act = x;
    for (const h of this.hooks) if (h.dir === "fwd") act = await this.apply(h.fn, act, call);
    for (const fn of ctx.hooksAt(this)) act = await this.apply(fn, act, call);
    const bwd: BackwardHook[] = this.hooks
      .filter((h) => h.dir === "bwd")
      .map((h) => ({ fn: h.fn, active: () => this.hooks.includes(h) }));
    for (const fn of ctx.bwdHooksAt(this)) bwd.push({ fn, active: () => true });
    return attachBackwardHooks(act, bwd, call);
  }

  private async apply(fn: HookFn, act: Tensor, call: HookCall): Promise<Tensor> {
    let out: Tensor | void;
    try {
      out = await fn(act, call);
    } catch (e) {
      if (e instanceof Error && !e.message.includes(`"${this.name}"`))
        e.message = `in hook on "${this.name}": ${e.message}`;
      throw e;
    }
    if (out === undefined || out === null) return act;
    if (typeof out !== "object" || !("shape" in out) || !("dtype" in out)) {
      throw new HookError(
        `hook on "${this.name}" returned ${typeof out}; return a Tensor, or nothing to keep the (possibly edited) activation`,
      );
    }
    if (out.shape.length !== act.shape.length || out.shape.some((s, i) => s !== act.shape[i])) {
      throw new HookError(
        `hook on "${this.name}" returned shape ${fmtShape(out.shape)}, but the activation has shape ${fmtShape(act.shape)}`,
      );
    }
    return out.dtype === act.dtype ? out : out.to(act.dtype);
  }
}

/** Edit distance, for "did you mean" suggestions. */
function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

export function nearestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(name, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

/** The hook points a filter selects; an exact name that does not exist is an error with a suggestion. */
export function selectHooks(points: ReadonlyMap<string, HookPoint>, filter: NameFilter): HookPoint[] {
  if (typeof filter === "function") return [...points.values()].filter((p) => filter(p.name));
  const names = typeof filter === "string" ? [filter] : filter;
  return names.map((n) => {
    const p = points.get(n);
    if (!p) {
      const near = nearestName(n, points.keys());
      throw new HookError(`unknown hook "${n}"${near ? `; did you mean "${near}"?` : ""}`);
    }
    return p;
  });
}

/** Adds forward and backward hooks to the shared hook points; the returned function removes exactly these
 *  (a selection that fails part-way removes what it had added before throwing). */
export function addSharedHooks(
  points: ReadonlyMap<string, HookPoint>,
  fwd: readonly (readonly [NameFilter, HookFn])[],
  bwd: readonly (readonly [NameFilter, HookFn])[],
): () => void {
  const added: [HookPoint, HookFn, HookDir][] = [];
  const remove = (): void => {
    for (const [p, fn, dir] of added) p.remove(fn, dir);
  };
  try {
    for (const [dir, hooks] of [
      ["fwd", fwd],
      ["bwd", bwd],
    ] as const) {
      for (const [filter, fn] of hooks) {
        for (const p of selectHooks(points, filter)) {
          p.add(fn, { dir });
          added.push([p, fn, dir]);
        }
      }
    }
  } catch (e) {
    remove();
    throw e;
  }
  return remove;
}
