// backward(): walks the tape from a root in reverse topological order, hands each node the sum of the
// gradients of its output, and accumulates into the leaves' `.grad`. Broadcast input gradients are summed
// back to the input's shape here, once, so no vjp has to. The sums are made in buffers of the engine's own,
// added into in place; partial gradients (a view's) are added into them without zero padding.
// NaN guard: the gradients that leave the pass (into a leaf's or a retained tensor's .grad, into a hook) are
// checked, one reduction each; when one has NaN, the pass so far is replayed with every edge checked, to name
// the op that made it.
import { GradError } from "../../errors.js";
import { ones, zeros } from "../create.js";
import { broadcastShapes, fmtShape } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { noGrad, noGradSync } from "./mode.js";
import { AccumulateGrad, edgeOf, PartialGrad, type GradNode } from "./tape.js";

export interface BackwardOptions {
  /** Keep the saved tensors so backward can run through this graph again (default false: they are freed). */
  retainGraph?: boolean;
}

/** Computes d root / d leaf for every leaf root depends on, into leaf.grad (accumulating, as torch). Async
 *  because gradient hooks may be; without hooks it runs to the end before returning. */
export async function backward(root: Tensor, grad?: Tensor, opts: BackwardOptions = {}): Promise<void> {
  if (!root.requiresGrad) {
    throw new GradError(
      `backward: this ${fmtShape(root.shape)} tensor does not require grad: call requiresGrad_() on a float leaf it is computed from, outside noGrad()`,
    );
  }
  const seed = seedGradient(root, grad);
  const start = edgeOf(root, "backward")!;
  const order = reverseTopological(start);
  const pending = new Map<GradNode, Summed>([[start, { t: seed, owned: false }]]);
  // the gradients after each hooked node's hooks, for the NaN replay
  const hooked = new Map<GradNode, Tensor>();
  const guard = (node: GradNode, g: Tensor): void => {
    if (hasNaN(g)) throw nanError(order, start, seed, hooked, node);
  };
  try {
    for (const node of order) {
      const summed = pending.get(node)?.t;
      if (!summed) continue;
      pending.delete(node);
      let g = summed;
      if (node.hooks.length) {
        g = await runHooks(node, summed);
        hooked.set(node, g);
        guard(node, g);
      }
      noGradSync(() => {
        if (node instanceof AccumulateGrad) {
          if (!node.hooks.length) guard(node, g);
          accumulate(node.leaf, g);
          return;
        }
        if (node.retained) {
          if (!node.hooks.length) guard(node, g);
          accumulate(node.retained, g);
        }
        propagate(node, g, pending);
      });
    }
  } finally {
    if (!opts.retainGraph) for (const node of order) node.release();
  }
}

/** The gradient after node's hooks (each sees the previous one's result), checked for shape. */
async function runHooks(node: GradNode, g: Tensor): Promise<Tensor> {
  let cur = g;
  for (const hook of [...node.hooks]) {
    const r = await noGrad(() => hook(cur));
    if (r === undefined) continue;
    if (r.ndim !== cur.ndim || r.shape.some((s, i) => s !== cur.shape[i])) {
      throw new GradError(
        `backward: a gradient hook on the output of ${node.name} returned a ${fmtShape(r.shape)} gradient; the gradient there has shape ${fmtShape(cur.shape)}`,
      );
    }
    cur = r.dtype === cur.dtype ? r : r.to(cur.dtype);
  }
  return cur;
}

function seedGradient(root: Tensor, grad: Tensor | undefined): Tensor {
  if (grad === undefined) {
    if (root.numel !== 1) {
      throw new GradError(
        `backward: a gradient can be created implicitly only for a one-element output, this one has shape ${fmtShape(root.shape)}; pass backward(grad) with a ${fmtShape(root.shape)} gradient, or reduce the output first (e.g. .sum())`,
      );
    }
    return ones(root.shape, root.dtype);
  }
  if (grad.ndim !== root.ndim || grad.shape.some((s, i) => s !== root.shape[i])) {
    throw new GradError(
      `backward: the gradient has shape ${fmtShape(grad.shape)} but the output has shape ${fmtShape(root.shape)}`,
    );
  }
  if (hasNaN(grad)) throw new GradError("backward: the gradient passed to backward() contains NaN");
  return grad.to(root.dtype);
}

/** Every node reachable from start, each after all the nodes that feed gradient into it; among the nodes
 *  ready at a time, the most recently recorded first (torch's rule, so gradient hooks fire in TL's order). */
function reverseTopological(start: GradNode): GradNode[] {
  // how many consumers feed gradient into each node
  const consumers = new Map<GradNode, number>([[start, 0]]);
  const walk: GradNode[] = [start];
  while (walk.length) {
    for (const child of walk.pop()!.inputs) {
      if (!child) continue;
      const n = consumers.get(child);
      consumers.set(child, (n ?? 0) + 1);
      if (n === undefined) walk.push(child);
    }
  }
  const order: GradNode[] = [];
  const ready = new SeqHeap();
  ready.push(start);
  while (ready.size) {
    const node = ready.pop();
    order.push(node);
    for (const child of node.inputs) {
      if (!child) continue;
      const left = consumers.get(child)! - 1;
      consumers.set(child, left);
      if (left === 0) ready.push(child);
    }
  }
  return order;
}

/** A max-heap of nodes by seq. */
class SeqHeap {
  private items: GradNode[] = [];
  get size(): number {
    return this.items.length;
  }

  push(node: GradNode): void {
    const a = this.items;
    a.push(node);
    for (let i = a.length - 1; i > 0;) {
      const up = (i - 1) >> 1;
      if (a[up]!.seq >= a[i]!.seq) break;
      [a[up], a[i]] = [a[i]!, a[up]!];
      i = up;
    }
  }

  pop(): GradNode {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let big = i;
        if (l < a.length && a[l]!.seq > a[big]!.seq) big = l;
        if (r < a.length && a[r]!.seq > a[big]!.seq) big = r;
        if (big === i) break;
        [a[big], a[i]] = [a[i]!, a[big]!];
        i = big;
      }
    }
    return top;
  }
}

/** A node's gradient summed so far; `owned`: a buffer backward made, nobody else holds, so the next part is added
 *  into it in place. */
interface Summed {
  t: Tensor;
  owned: boolean;
}

function propagate(node: GradNode, g: Tensor, pending: Map<GradNode, Summed>): void {
  const grads = node.apply(g);
  node.inputs.forEach((edge, i) => {
    const gi = grads[i];
    if (edge && gi) addPart(pending, edge, node, i, gi);
  });
}

/** Adds node's gradient for its input i into the input's pending sum. */
function addPart(
  pending: Map<GradNode, Summed>,
  edge: GradNode,
  node: GradNode,
  i: number,
  gi: Tensor | PartialGrad,
): void {
  const prev = pending.get(edge);
  if (gi instanceof PartialGrad) {
    const buffer = prev ? (prev.owned ? prev.t : prev.t.clone()) : zeros(node.inShapes[i]!, node.inDtypes[i]);
    gi.addInto(buffer);
    pending.set(edge, { t: buffer, owned: true });
    return;
  }
  const fitted = fitToInput(node, i, gi);
  if (!prev) pending.set(edge, { t: fitted, owned: false });
  else if (prev.owned) prev.t.add_(fitted);
  else pending.set(edge, { t: prev.t.add(fitted), owned: true });
}

/** The error for a NaN first seen in the gradient at `at` (after its hooks): the pass up to `at` again, from the
 *  same seed with the hooks' recorded results, every edge checked, names the op (or hook) that made it. */
function nanError(
  order: readonly GradNode[],
  start: GradNode,
  seed: Tensor,
  hooked: ReadonlyMap<GradNode, Tensor>,
  at: GradNode,
): GradError {
  const pending = new Map<GradNode, Summed>([[start, { t: seed, owned: false }]]);
  for (const node of order) {
    const summed = pending.get(node)?.t;
    if (!summed) continue;
    const g = hooked.get(node) ?? summed;
    if (g !== summed && hasNaN(g) && !hasNaN(summed)) {
      return new GradError(
        `backward: a gradient hook on the output of ${node.name} returned a gradient containing NaN`,
      );
    }
    if (node === at) break;
    if (node instanceof AccumulateGrad) continue;
    const grads = noGradSync(() => node.apply(g));
    for (const [i, edge] of node.inputs.entries()) {
      const gi = grads[i];
      if (!edge || !gi) continue;
      const part = new Map<GradNode, Summed>();
      noGradSync(() => addPart(part, edge, node, i, gi));
      if (hasNaN(part.get(edge)!.t)) {
        return new GradError(
          `backward: NaN in the gradient that ${node.name} (output ${fmtShape(node.outShape)}) passes to its input ${i} of shape ${fmtShape(node.inShapes[i]!)}; the upstream gradient had none`,
        );
      }
      noGradSync(() => addPart(pending, edge, node, i, part.get(edge)!.t));
    }
  }
  return new GradError(`backward: NaN in the gradient of ${at.name}'s output (shape ${fmtShape(at.outShape)})`);
}

/** gi summed over the dims the forward broadcast, and cast to the input's dtype. */
function fitToInput(node: GradNode, i: number, gi: Tensor): Tensor {
  const shape = node.inShapes[i]!;
  let g = gi;
  if (g.ndim !== shape.length || g.shape.some((s, d) => s !== shape[d])) {
    let ok = true;
    try {
      ok = broadcastShapes("backward", shape, g.shape).every((s, d) => s === g.shape[d]);
    } catch {
      ok = false;
    }
    if (!ok)
      throw new GradError(
        `backward: ${node.name} produced a ${fmtShape(g.shape)} gradient for its ${fmtShape(shape)} input ${i}`,
      );
    g = sumTo(g, shape);
  }
  return g.dtype === node.inDtypes[i] ? g : g.to(node.inDtypes[i]!);
}

/** Sums g (broadcast from `shape`) back down to `shape`. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let d = 0; d < g.ndim; d++) if (d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1)) dims.push(d);
  return dims.length ? g.sum(dims, true).reshape([...shape]) : g.reshape([...shape]);
}

function accumulate(t: Tensor, g: Tensor): void {
  const fresh = g.to(t.dtype);
  // a copy: g may be shared with other branches of the graph, and users may edit .grad in place
  t.grad = t.grad ? t.grad.add(fresh) : fresh === g ? g.clone() : fresh;
}

export function hasNaN(t: Tensor): boolean {
  if (t.dtype !== "float32" && t.dtype !== "float64") return false;
  // a sum with a NaN in it is NaN: one (threaded, native) reduction clears the common case; a NaN sum may come
  // from +inf and -inf alone, so then look element by element
  if (!Number.isNaN(noGradSync(() => t.sum().item()))) return false;
  if (!t.isContiguous()) return t.isnan().any().item() !== 0;
  const d = t.storage.data;
  for (let i = t.offset, end = t.offset + t.numel; i < end; i++) if (d[i] !== d[i]) return true;
  return false;
}
