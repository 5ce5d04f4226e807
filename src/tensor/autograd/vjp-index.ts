// Vector-Jacobian products of gather, scatter, cat and in-place index assignment (set / copy_).
import { indexGet, indexSet, type Index } from "../indexing.js";
import type { Tensor } from "../tensor.js";
import { emptyTensor } from "../tensor-ref.js";
import { record, type Vjp } from "./tape.js";

/** out = x.gather(dim, index): the gradient scatters back, adding where an index repeats. */
export function trackGather(x: Tensor, out: Tensor, dim: number, index: Tensor): Tensor {
  const shape = x.shape;
  return record("gather", [x], out, (g) => [emptyTensor(shape, g.dtype).scatter(dim, index, g, "add")]);
}

/** out = x.scatter(dim, index, src[, "add"]): src gets the gradient at the positions it was written to;
 *  x gets it where it was not overwritten (everywhere, with "add"). src may be larger than index (torch). */
export function trackScatter(x: Tensor, src: Tensor, out: Tensor, dim: number, index: Tensor, add: boolean): Tensor {
  const srcShape = src.shape;
  return record("scatter", [x, src], out, (g, needs) => {
    const gx = needs[0] ? (add ? g : g.scatter(dim, index, 0)) : null;
    let gs: Tensor | null = null;
    if (needs[1]) {
      const taken = g.gather(dim, index); // [index shape]
      gs = srcShape.length === 0 ? taken.sum() : emptyTensor(srcShape, g.dtype);
      if (srcShape.length > 0) gs.get(...index.shape.map((n) => `0:${n}`)).copy_(taken);
    }
    return [gx, gs];
  });
}

/** out = cat(parts, dim): each part's gradient is its slice of g. */
export function trackCat(parts: readonly Tensor[], out: Tensor, dim: number): Tensor {
  const sizes = parts.map((p) => p.shape[dim]);
  const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a! + b!, 0));
  return record("cat", parts, out, (g, needs) =>
    sizes.map((n, i) => (needs[i] ? g.narrow(dim, starts[i]!, n!) : null)),
  );
}

/** t[idx] = value: t's old elements get the gradient outside idx, value gets g[idx]. Returns the vjp. */
export function setVjp(idx: readonly Index[]): Vjp {
  return (g, needs) => {
    let gOld: Tensor | null = null;
    if (needs[0]) {
      gOld = g.clone();
      indexSet(gOld, idx, 0);
    }
    return [gOld, needs[1] ? indexGet(g, idx) : null];
  };
}
