// Sorting, gather and scatter along one dim. They work on the dim moved last and made contiguous.
import { IndexError, ShapeError } from "../errors.js";
import { fmtShape, normDim } from "./shape.js";
import type { Tensor } from "./tensor.js";
import { asTensor, emptyTensor } from "./tensor-ref.js";
import type { TensorLike } from "./convert.js";

/** Stable sort along `dim`; NaN sorts as the largest value (torch). */
export function sortAlong(t: Tensor, dim: number, descending: boolean): { values: Tensor; indices: Tensor } {
  const x = t.movedim(dim, -1).contiguous();
  const n = x.shape[x.ndim - 1] ?? 1;
  const src = x.dataSync();
  const values = emptyTensor(x.shape, t.dtype);
  const indices = emptyTensor(x.shape, "int32");
  const vd = values.storage.data;
  const id = indices.storage.data;
  const order = new Int32Array(n);
  for (let base = 0; base + n <= src.length && n > 0; base += n) {
    for (let i = 0; i < n; i++) order[i] = i;
    const cmp = (a: number, b: number): number => {
      const va = src[base + a]!;
      const vb = src[base + b]!;
      const na = Number.isNaN(va);
      const nb = Number.isNaN(vb);
      if (na || nb) return na === nb ? a - b : (na ? 1 : -1) * (descending ? -1 : 1);
      if (va === vb) return a - b;
      return (va < vb ? -1 : 1) * (descending ? -1 : 1);
    };
    order.sort(cmp);
    for (let i = 0; i < n; i++) {
      id[base + i] = order[i]!;
      vd[base + i] = src[base + order[i]!]!;
    }
  }
  return { values: values.movedim(-1, dim), indices: indices.movedim(-1, dim) };
}

/** The k largest (or smallest) entries along `dim`, ordered, with a k-sized heap per row: O(n log k) instead of a
 *  full sort (top tokens over a 50k vocabulary). Ties keep the lower index first; NaN counts as the largest. */
export function topkAlong(t: Tensor, dim: number, k: number, largest: boolean): { values: Tensor; indices: Tensor } {
  const x = t.movedim(dim, -1).contiguous();
  const n = x.shape[x.ndim - 1]!;
  const src = x.dataSync();
  const outShape = [...x.shape.slice(0, -1), k];
  const values = emptyTensor(outShape, t.dtype);
  const indices = emptyTensor(outShape, "int32");
  const vd = values.storage.data;
  const id = indices.storage.data;
  // "a ranks before b": larger first (or smaller), NaN first when largest, lower index first on ties
  const before = (va: number, ia: number, vb: number, ib: number): boolean => {
    const na = Number.isNaN(va);
    const nb = Number.isNaN(vb);
    if (na || nb) return na && nb ? ia < ib : na === largest;
    if (va !== vb) return largest ? va > vb : va < vb;
    return ia < ib;
  };
  const heap = new Int32Array(k); // min-heap by rank: the root is the worst kept entry
  for (let row = 0, base = 0; base + n <= src.length && n > 0; row++, base += n) {
    let size = 0;
    const worse = (a: number, b: number): boolean => before(src[base + b]!, b, src[base + a]!, a);
    for (let i = 0; i < n; i++) {
      if (size < k) {
        let c = size++;
        heap[c] = i;
        while (c > 0) {
          const parent = (c - 1) >> 1;
          if (!worse(heap[c]!, heap[parent]!)) break;
          [heap[c], heap[parent]] = [heap[parent]!, heap[c]!];
          c = parent;
        }
      } else if (k > 0 && before(src[base + i]!, i, src[base + heap[0]!]!, heap[0]!)) {
        heap[0] = i;
        let c = 0;
        for (;;) {
          const l = 2 * c + 1;
          const r = l + 1;
          let m = c;
          if (l < k && worse(heap[l]!, heap[m]!)) m = l;
          if (r < k && worse(heap[r]!, heap[m]!)) m = r;
          if (m === c) break;
          [heap[c], heap[m]] = [heap[m]!, heap[c]!];
          c = m;
        }
      }
    }
    const kept = Array.from(heap.subarray(0, size)).sort((a, b) =>
      before(src[base + a]!, a, src[base + b]!, b) ? -1 : 1,
    );
    kept.forEach((i, j) => {
      vd[row * k + j] = src[base + i]!;
      id[row * k + j] = i;
    });
  }
  return { values: values.movedim(-1, dim).contiguous(), indices: indices.movedim(-1, dim).contiguous() };
}

function checkIndexShape(op: string, t: Tensor, d: number, index: Tensor): void {
  if (index.ndim !== t.ndim)
    throw new ShapeError(
      `${op}: index has ${index.ndim} dims but the tensor has ${t.ndim} (shapes ${fmtShape(index.shape)} and ${fmtShape(t.shape)})`,
    );
  for (let k = 0; k < t.ndim; k++) {
    if (k !== d && index.shape[k]! > t.shape[k]!) {
      throw new ShapeError(
        `${op}: index shape ${fmtShape(index.shape)} exceeds tensor shape ${fmtShape(t.shape)} at dim ${k}`,
      );
    }
  }
}

/** out[..., i, ...] = t[..., index[..., i, ...], ...] along dim (torch.gather). */
export function gatherAlong(t: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim(dim, t.ndim, "gather");
  checkIndexShape("gather", t, d, index);
  const idx = index.to("int32").contiguous().dataSync();
  const out = emptyTensor(index.shape, t.dtype);
  const od = out.storage.data;
  const src = t.storage.data;
  const size = t.shape[d]!;
  forEachIndexPosition(index.shape, (k, coord) => {
    const i = idx[k]!;
    if (i < -size || i >= size)
      throw new IndexError(`gather: index ${i} is out of range for dim ${d} with size ${size}`);
    let off = t.offset;
    for (let q = 0; q < coord.length; q++) off += (q === d ? (i < 0 ? i + size : i) : coord[q]!) * t.strides[q]!;
    od[k] = src[off]!;
  });
  return out;
}

/** A copy of t with src written at index along dim (torch.scatter; reduce "add" accumulates). */
export function scatterAlong(t: Tensor, dim: number, index: Tensor, src: TensorLike, reduce?: "add"): Tensor {
  const d = normDim(dim, t.ndim, "scatter");
  checkIndexShape("scatter", t, d, index);
  const out = t.clone();
  const od = out.storage.data;
  const values = asTensor(src, t.dtype);
  const vfull = values.ndim === 0 ? values.expand(index.shape) : values;
  if (vfull.ndim !== index.ndim || vfull.shape.some((s, k) => s < index.shape[k]!)) {
    throw new ShapeError(
      `scatter: src of shape ${fmtShape(values.shape)} is smaller than index ${fmtShape(index.shape)}`,
    );
  }
  const idx = index.to("int32").contiguous().dataSync();
  const size = t.shape[d]!;
  forEachIndexPosition(index.shape, (k, coord) => {
    const i = idx[k]!;
    if (i < -size || i >= size)
      throw new IndexError(`scatter: index ${i} is out of range for dim ${d} with size ${size}`);
    let off = 0;
    let voff = vfull.offset;
    for (let q = 0; q < coord.length; q++) {
      off += (q === d ? (i < 0 ? i + size : i) : coord[q]!) * out.strides[q]!;
      voff += coord[q]! * vfull.strides[q]!;
    }
    const v = vfull.storage.data[voff]!;
    od[off] = reduce === "add" ? od[off]! + v : v;
  });
  return out;
}

/** Visits every position of `shape` in row-major order with its flat number and coordinates. */
function forEachIndexPosition(shape: readonly number[], visit: (flat: number, coord: number[]) => void): void {
  const coord = new Array<number>(shape.length).fill(0);
  const total = shape.reduce((a, b) => a * b, 1);
  for (let k = 0; k < total; k++) {
    visit(k, coord);
    for (let q = shape.length - 1; q >= 0; q--) {
      if (++coord[q]! < shape[q]!) break;
      coord[q] = 0;
    }
  }
}
