// Vector-Jacobian products of the view and copy ops: reshape, permute, expand, narrow, diagonal, indexing,
// clone and casts. Each gradient is the gradient of the view placed back where the view reads from.
import { indexAccumulate, type Index } from "../indexing.js";
import type { Tensor } from "../tensor.js";
import { PartialGrad, record } from "./tape.js";

const isView = (x: Tensor, out: Tensor): boolean => out.storage === x.storage;

/** reshape, viewAs, flatten, squeeze, unsqueeze: the gradient takes the input's shape back. */
export function trackReshape(op: string, x: Tensor, out: Tensor): Tensor {
  const [inShape, outShape] = [x.shape, out.shape];
  return record(op, [x], out, (g) => [g.reshape(inShape)], {
    view: isView(x, out),
    replay: (t) => t.reshape(outShape),
  });
}

export function trackPermute(x: Tensor, out: Tensor, order: readonly number[]): Tensor {
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => {
    inverse[d] = i;
  });
  return record("permute", [x], out, (g) => [g.permute(inverse)], { view: true, replay: (t) => t.permute([...order]) });
}

/** expand: the engine sums the gradient over the broadcast dims. */
export function trackExpand(x: Tensor, out: Tensor): Tensor {
  return record("expand", [x], out, (g) => [g], { view: true });
}

/** Ops whose gradient is the output gradient as it is (clone, contiguous copies, dtype casts). */
export function trackCopy(op: string, x: Tensor, out: Tensor): Tensor {
  return record(op, [x], out, (g) => [g], { view: isView(x, out) });
}

/** A view that selects elements of x: the gradient is zero except where the view reads, so it is a part that
 *  `place` adds into a buffer of x's shape (see PartialGrad). */
function trackSelect(
  op: string,
  x: Tensor,
  out: Tensor,
  place: (gx: Tensor, g: Tensor) => void,
  replay?: (t: Tensor) => Tensor,
): Tensor {
  return record(
    op,
    [x],
    out,
    (g) => [
      new PartialGrad((gx) => {
        place(gx, g);
      }),
    ],
    { view: isView(x, out), replay },
  );
}

/** The selection as a view of the gradient buffer, g added into it. */
const addInto =
  (select: (t: Tensor) => Tensor) =>
  (gx: Tensor, g: Tensor): void => {
    select(gx).add_(g);
  };

export function trackNarrow(x: Tensor, out: Tensor, dim: number, start: number, length: number): Tensor {
  const select = (t: Tensor): Tensor => t.narrow(dim, start, length);
  return trackSelect("narrow", x, out, addInto(select), select);
}

export function trackDiagonal(x: Tensor, out: Tensor, offset: number, dim1: number, dim2: number): Tensor {
  const select = (t: Tensor): Tensor => t.diagonal(offset, dim1, dim2);
  return trackSelect("diagonal", x, out, addInto(select), select);
}

/** get(...): basic indices are views; index tensors and masks gather, and a repeated index adds up. */
export function trackIndex(x: Tensor, out: Tensor, idx: readonly Index[]): Tensor {
  return trackSelect(
    "index",
    x,
    out,
    (gx, g) => {
      indexAccumulate(gx, idx, g);
    },
    (t) => t.get(...idx),
  );
}
