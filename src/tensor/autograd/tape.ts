// The tape: each recorded op is a GradNode holding edges to the nodes of its inputs and a vector-Jacobian
// product. A tensor that requires grad points at the node that made it (gradFn) or, for a leaf, gets an
// accumulator node that adds into its `.grad`.
import { GradError } from "../../errors.js";
import { isFloat, type DType } from "../dtype.js";
import { fmtShape } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { emptyTensor } from "../tensor-ref.js";

/** An input's gradient that is zero except on the elements a view of the input selects (narrow, diagonal,
 *  indexing): `addInto(buffer)` adds it into a buffer of the input's shape and dtype. backward() gives every such
 *  piece for one tensor (q, k and v narrowed from one projection) the same buffer, instead of a zero-padded copy
 *  each that are then summed. */
export class PartialGrad {
  constructor(readonly addInto: (buffer: Tensor) => void) {}
}

/** Gradients of the inputs from the gradient of the output; `needs[i]` says whether input i wants one. */
export type Vjp = (g: Tensor, needs: readonly boolean[]) => readonly (Tensor | PartialGrad | null)[];

/** Sees the full gradient of a tensor once per backward pass; a returned tensor (same shape) replaces it. */
export type GradHook = (grad: Tensor) => Tensor | void | Promise<Tensor | void>;

export interface HookHandle {
  /** Detaches the hook. */
  remove(): void;
}

let sequence = 0;

/** How a view was made from the tensor that owns its elements, so an in-place write through the view can be
 *  carried into that tensor's history: `replay(base)` is the view again, and replay of any base-shaped
 *  tensor selects the same elements. */
export interface ViewOf {
  readonly base: Tensor;
  readonly replay: (t: Tensor) => Tensor;
}

export class GradNode {
  /** Order of recording, to name a node in messages (`matmul #12`). */
  readonly seq = ++sequence;
  /** The storage version of the output when it was made (or last written in place through autograd). */
  outVersion = 0;
  /** A non-leaf whose gradient is kept in `.grad` (retainGrad). */
  retained: Tensor | null = null;
  /** For views that can be replayed: what they view (see ViewOf). */
  viewOf: ViewOf | null = null;
  /** registerHook's hooks on the output, in registration order. */
  readonly hooks: GradHook[] = [];
  private vjpFn: Vjp | null;
  private saved: { t: Tensor; version: number }[];

  constructor(
    readonly op: string,
    /** One per input: its node, or null when that input needs no gradient. */
    readonly inputs: readonly (GradNode | null)[],
    readonly inShapes: readonly (readonly number[])[],
    readonly inDtypes: readonly DType[],
    readonly outShape: readonly number[],
    vjp: Vjp | null,
    saved: readonly Tensor[],
    /** The output is a view sharing the input's storage. */
    readonly isView: boolean,
  ) {
    this.vjpFn = vjp;
    this.saved = saved.map((t) => ({ t, version: t.storage.version }));
  }

  get name(): string {
    return `${this.op} #${this.seq}`;
  }
  get freed(): boolean {
    return this.vjpFn === null && !(this instanceof AccumulateGrad);
  }

  /** The input gradients for output gradient g; checks the saved tensors were not overwritten since. */
  apply(g: Tensor): readonly (Tensor | PartialGrad | null)[] {
    if (!this.vjpFn) {
      throw new GradError(
        `backward: the graph through ${this.name} was already freed by an earlier backward(); pass { retainGraph: true } to the first backward() to run backward twice`,
      );
    }
    for (const { t, version } of this.saved) {
      if (t.storage.version !== version) {
        throw new GradError(
          `backward: a ${fmtShape(t.shape)} tensor that ${this.name} saved for backward was modified in place afterwards (version ${version} → ${t.storage.version}); clone() it before the in-place op`,
        );
      }
    }
    return this.vjpFn(
      g,
      this.inputs.map((e) => e !== null),
    );
  }

  /** Drops the saved tensors and the vjp (after a backward without retainGraph). */
  release(): void {
    this.vjpFn = null;
    this.saved = [];
  }
}

/** The node of a leaf that requires grad: backward adds into leaf.grad. */
export class AccumulateGrad extends GradNode {
  constructor(readonly leaf: Tensor) {
    super("AccumulateGrad", [], [], [], leaf.shape, null, [], false);
  }
}

const accumulators = new WeakMap<Tensor, AccumulateGrad>();

/** t.registerHook(fn): fn runs on t's gradient when backward has summed it, before it flows on. */
export function registerHook(t: Tensor, fn: GradHook): HookHandle {
  if (!t.requiresGrad)
    throw new GradError(
      `registerHook: this ${fmtShape(t.shape)} tensor does not require grad, so backward never reaches it`,
    );
  const hooks = edgeOf(t, "registerHook")!.hooks;
  hooks.push(fn);
  return {
    remove: () => {
      const i = hooks.indexOf(fn);
      if (i >= 0) hooks.splice(i, 1);
    },
  };
}

/** The node a gradient for t flows into, or null when t needs none. */
export function edgeOf(t: Tensor, op: string): GradNode | null {
  if (!t.requiresGrad) return null;
  const fn = t.gradFn;
  if (fn) {
    if (t.storage.version !== fn.outVersion && fn.viewOf?.base.gradFn?.outVersion === t.storage.version) {
      // a view of a tensor written through another view since: it views the new history (as torch)
      return replayView(t, fn.viewOf).gradFn!;
    }
    if (t.storage.version !== fn.outVersion) {
      throw new GradError(
        `${op}: its ${fmtShape(t.shape)} input (made by ${fn.name}) was modified in place outside autograd (through another view or inside noGrad), so its gradient would be wrong; clone() before writing to it`,
      );
    }
    return fn;
  }
  let acc = accumulators.get(t);
  if (!acc) {
    acc = new AccumulateGrad(t);
    accumulators.set(t, acc);
  }
  return acc;
}

export interface RecordOptions {
  /** Tensors the vjp reads: backward checks they were not written in place since. */
  saved?: readonly Tensor[];
  /** out shares storage with the input (a view). */
  view?: boolean;
  /** For a view: the same view op applied to another tensor of the input's shape. Views without it (expand,
   *  whose elements repeat) refuse in-place writes. */
  replay?: (t: Tensor) => Tensor;
}

/** Records op(inputs) = out on the tape and marks out as requiring grad. Integer and bool outputs carry no
 *  gradient, so they are returned unrecorded. */
export function record(op: string, inputs: readonly Tensor[], out: Tensor, vjp: Vjp, opts: RecordOptions = {}): Tensor {
  if (!isFloat(out.dtype)) return out;
  const edges = inputs.map((t) => edgeOf(t, op));
  const node = new GradNode(
    op,
    edges,
    inputs.map((t) => t.shape),
    inputs.map((t) => t.dtype),
    out.shape,
    vjp,
    opts.saved ?? [],
    opts.view ?? false,
  );
  const replay = opts.replay!;
  if (opts.view && replay) {
    const parent = inputs[0]!.gradFn?.viewOf;
    node.viewOf = parent
      ? { base: parent.base, replay: (t) => replay(parent.replay(t)) }
      : { base: inputs[0]!, replay };
  }
  setHistory(out, node);
  return out;
}

/** Records t as `replay(base)` with base's current history: the gradient is g laid into a zero base. */
export function replayView(t: Tensor, viewOf: ViewOf): Tensor {
  const { base, replay } = viewOf;
  const shape = base.shape;
  return record(
    "view",
    [base],
    t,
    (g) => {
      const gx = emptyTensor(shape, g.dtype);
      laidOver(gx, replay).copy_(g);
      return [gx];
    },
    { view: true, replay },
  );
}

/** replay(g) as a view into g's own elements (for writing a view's gradient into a base-shaped buffer). */
export function laidOver(g: Tensor, replay: (t: Tensor) => Tensor): Tensor {
  const view = replay(g);
  if (view.storage !== g.storage)
    throw new GradError("backward through a view written in place: the view cannot be laid over a gradient buffer");
  return view;
}

/** Makes node the history of t (a new output, or a tensor just written in place through autograd). */
export function setHistory(t: Tensor, node: GradNode): void {
  node.outVersion = t.storage.version;
  t.gradFn = node;
  t.requiresGrad = true;
}
