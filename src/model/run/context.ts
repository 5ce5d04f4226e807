// A run's own state: the hooks a call added (runWithHooks, runWithCache, a patching sweep) and the absolute position
// of the activations' first position. It is passed down the forward, so overlapping calls never see each other's
// hooks, caches or positions, and its matmul precision (fp32, or bf16 for the weight GEMMs). Hooks added with model.addHook (permanent or not) live on the shared hook points and
// fire in every run, as in TransformerLens.
import type { MatmulPrecision } from "../../tensor/index.js";
import { isReader, selectHooks, type HookFn, type HookPoint, type NameFilter } from "../hook-point.js";

export class RunContext {
  private constructor(
    private readonly own: ReadonlyMap<HookPoint, readonly HookFn[]>,
    /** This run's backward hooks (TL's bwd_hooks). */
    private readonly ownBwd: ReadonlyMap<HookPoint, readonly HookFn[]>,
    /** Fire no hook at all, shared ones included: component calls made by analyses (the runner's). */
    readonly quiet: boolean,
    /** Absolute position of index 0 of the activations' pos dim (the KV prefix's length; 0 in a plain run). */
    readonly positionOffset: number,
    /** Precision of the GEMMs against a weight (the linear layers, the unembedding); attention's own products
     *  (scores, pattern @ v) stay fp32. */
    readonly matmulPrecision: MatmulPrecision = "fp32",
  ) {}

  /** A run with no hooks of its own (shared hooks fire). */
  static plain(positionOffset = 0): RunContext {
    return new RunContext(EMPTY, EMPTY, false, positionOffset);
  }

  /** A run that fires no hook, shared ones included. */
  static quiet(positionOffset = 0): RunContext {
    return new RunContext(EMPTY, EMPTY, true, positionOffset);
  }

  /** A run with its own forward (and backward) hooks, selected from the model's hook points (an unknown exact
   *  name throws). */
  static withHooks(
    points: ReadonlyMap<string, HookPoint>,
    hooks: readonly HookSpec[],
    positionOffset = 0,
    bwdHooks: readonly HookSpec[] = [],
  ): RunContext {
    return new RunContext(select(points, hooks), select(points, bwdHooks), false, positionOffset);
  }

  /** The same hooks with activations starting at absolute position `positionOffset`. */
  at(positionOffset: number): RunContext {
    return positionOffset === this.positionOffset
      ? this
      : new RunContext(this.own, this.ownBwd, this.quiet, positionOffset, this.matmulPrecision);
  }

  /** The same run with its weight GEMMs in `precision` (unchanged when undefined). */
  withPrecision(precision: MatmulPrecision | undefined): RunContext {
    return precision === undefined || precision === this.matmulPrecision
      ? this
      : new RunContext(this.own, this.ownBwd, this.quiet, this.positionOffset, precision);
  }

  /** This run's own hooks at a point, in the order they were given. */
  hooksAt(point: HookPoint): readonly HookFn[] {
    return this.quiet ? NONE : (this.own.get(point) ?? NONE);
  }

  /** This run's own backward hooks at a point. */
  bwdHooksAt(point: HookPoint): readonly HookFn[] {
    return this.quiet ? NONE : (this.ownBwd.get(point) ?? NONE);
  }

  /** Does any hook (shared or this run's, forward or backward) fire at the point? */
  hooked(point: HookPoint): boolean {
    return !this.quiet && (point.hasHooks || this.own.has(point) || this.ownBwd.has(point));
  }

  /** No hook fires at the point, or only forward readers (readerHook) do: a backward hook needs the activation
   *  as TL computes it (ln1 once per q, k, v input; the layer norm's scale in the graph of its output). */
  onlyReaders(point: HookPoint): boolean {
    return this.quiet || (point.onlyReaders && this.hooksAt(point).every(isReader) && !this.ownBwd.has(point));
  }
}

/** A hook for one run: which points, and the function. */
export type HookSpec = readonly [NameFilter, HookFn];

function select(
  points: ReadonlyMap<string, HookPoint>,
  hooks: readonly HookSpec[],
): ReadonlyMap<HookPoint, readonly HookFn[]> {
  if (!hooks.length) return EMPTY;
  const out = new Map<HookPoint, HookFn[]>();
  for (const [filter, fn] of hooks)
    for (const p of selectHooks(points, filter)) out.set(p, [...(out.get(p) ?? []), fn]);
  return out;
}

const EMPTY: ReadonlyMap<HookPoint, readonly HookFn[]> = new Map();
const NONE: readonly HookFn[] = [];
