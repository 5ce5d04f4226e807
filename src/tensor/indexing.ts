// torch/numpy indexing: ints, slices ("1:5", "::2", "-1:"), "..." , null (new axis) give views; int32 index
// tensors and bool masks ("advanced" indices) gather copies, placed as numpy places them.
import { getBackend } from "../backend/index.js";
import { contiguousStrides, numel } from "../backend/strided.js";
import type { View } from "../backend/types.js";
import { IndexError } from "../errors.js";
import { broadcastShapes, broadcastStrides, fmtShape, resolveIndex, resolveSlice } from "./shape.js";
import type { Tensor } from "./tensor.js";
import { asTensor, emptyTensor, isTensor, tensorFromArray, tensorView } from "./tensor-ref.js";
import type { TensorLike } from "./convert.js";

/** One index per dim: a number, a slice string, "...", null (new axis), or an int32/bool index tensor. */
export type Index = number | string | null | Tensor;

interface Advanced {
  /** dim of the basic-indexed view the index applies to */
  dim: number;
  /** int32 indices, already bounds-checked and made non-negative */
  index: Tensor;
}

interface Resolved {
  view: Tensor;
  advanced: Advanced[];
}

const INT_STRING = /^\s*-?\d+\s*$/;

/** Applies the basic indices as a view; collects advanced ones against the view's dims. */
function resolve(t: Tensor, idx: readonly Index[]): Resolved {
  const consumed = (i: Index): number =>
    i === null || i === "..." ? 0 : isTensor(i) && i.dtype === "bool" ? i.ndim : 1;
  const used = idx.reduce((n: number, i) => n + consumed(i), 0);
  const ellipses = idx.filter((i) => i === "...").length;
  if (ellipses > 1) throw new IndexError(`an index can only have a single ellipsis ("...")`);
  if (used > t.ndim)
    throw new IndexError(`too many indices for a tensor of ${t.ndim} dims (shape ${fmtShape(t.shape)}): got ${used}`);
  const expanded: Index[] = [];
  for (const i of idx) {
    if (i === "...") for (let k = 0; k < t.ndim - used; k++) expanded.push(":");
    else expanded.push(i);
  }
  if (!ellipses) while (expanded.reduce((n: number, i) => n + consumed(i), 0) < t.ndim) expanded.push(":");

  const shape: number[] = [];
  const strides: number[] = [];
  let offset = t.offset;
  const advanced: Advanced[] = [];
  let src = 0;
  for (const i of expanded) {
    if (i === null) {
      shape.push(1);
      strides.push(0);
    } else if (typeof i === "number" || (typeof i === "string" && INT_STRING.test(i))) {
      const k = resolveIndex(Number(i), t.shape[src]!, src);
      offset += k * t.strides[src]!;
      src++;
    } else if (typeof i === "string") {
      const { start, step, count } = resolveSlice(i, t.shape[src]!, src);
      if (count > 0) offset += start * t.strides[src]!;
      shape.push(count);
      strides.push(t.strides[src]! * step);
      src++;
    } else if (i.dtype === "bool") {
      const maskShape = t.shape.slice(src, src + i.ndim);
      if (i.shape.some((s, k) => s !== maskShape[k])) {
        throw new IndexError(
          `bool mask of shape ${fmtShape(i.shape)} does not match dims ${src}..${src + i.ndim - 1} of shape ${fmtShape(t.shape)}`,
        );
      }
      for (const [k, index] of nonzero(i).entries()) {
        advanced.push({ dim: shape.length, index });
        shape.push(t.shape[src + k]!);
        strides.push(t.strides[src + k]!);
      }
      src += i.ndim;
    } else {
      if (i.dtype === "float32" || i.dtype === "float64") {
        throw new IndexError(`index tensors must be int32 or bool, got ${i.dtype} (convert with .to("int32"))`);
      }
      advanced.push({ dim: shape.length, index: checkIndices(i, t.shape[src]!, src) });
      shape.push(t.shape[src]!);
      strides.push(t.strides[src]!);
      src++;
    }
  }
  return { view: tensorView(t.storage, t.dtype, shape, strides, offset), advanced };
}

function checkIndices(index: Tensor, size: number, dim: number): Tensor {
  const data = index.to("int32").contiguous().dataSync();
  const out = new Int32Array(data.length);
  for (let k = 0; k < data.length; k++) {
    const v = data[k]!;
    if (v < -size || v >= size) throw new IndexError(`index ${v} is out of range for dim ${dim} with size ${size}`);
    out[k] = v < 0 ? v + size : v;
  }
  return tensorFromArray(out, index.shape);
}

/** One int32 index tensor per dim of the mask, listing the true positions (torch.nonzero(as_tuple=True)). */
export function nonzero(mask: Tensor): Tensor[] {
  const m = mask.contiguous().dataSync();
  const strides = contiguousStrides(mask.shape);
  const hits: number[] = [];
  for (let k = 0; k < m.length; k++) if (m[k]) hits.push(k);
  return mask.shape.map((size, d) => {
    const out = new Int32Array(hits.length);
    hits.forEach((flat, j) => {
      out[j] = Math.floor(flat / strides[d]!) % size;
    });
    return tensorFromArray(out, [hits.length]);
  });
}

/** Layout of an advanced-index result: the broadcast index shape goes where the indexed dims were when they
 *  are adjacent, else first (numpy's rule). `gathered` is the [...indexShape, ...restDims] order we compute in. */
interface Plan {
  indexShape: number[];
  indexOffsets: Float64Array;
  rest: { shape: number[]; strides: number[] };
  /** permutation taking [...indexShape, ...rest] to the result's dim order */
  toResult: number[];
  resultShape: number[];
}

function plan(r: Resolved): Plan {
  const { view, advanced } = r;
  const indexShape = broadcastShapes("index", ...advanced.map((a) => a.index.shape));
  const n = numel(indexShape);
  const indexOffsets = new Float64Array(n).fill(view.offset);
  for (const a of advanced) {
    const idx = a.index.expand(indexShape).contiguous().dataSync();
    const stride = view.strides[a.dim]!;
    for (let k = 0; k < n; k++) indexOffsets[k]! += idx[k]! * stride;
  }
  const advDims = advanced.map((a) => a.dim);
  const restDims = [...view.shape.keys()].filter((d) => !advDims.includes(d));
  const rest = { shape: restDims.map((d) => view.shape[d]!), strides: restDims.map((d) => view.strides[d]!) };
  const adjacent = advDims.every((d, i) => i === 0 || d === advDims[i - 1]! + 1);
  const insertAt = adjacent ? restDims.filter((d) => d < advDims[0]!).length : 0;
  const ni = indexShape.length;
  const restOrder = rest.shape.map((_, i) => ni + i);
  const toResult = [...restOrder.slice(0, insertAt), ...indexShape.map((_, i) => i), ...restOrder.slice(insertAt)];
  const gatheredShape = [...indexShape, ...rest.shape];
  return { indexShape, indexOffsets, rest, toResult, resultShape: toResult.map((d) => gatheredShape[d]!) };
}

export function indexGet(t: Tensor, idx: readonly Index[]): Tensor {
  const r = resolve(t, idx);
  if (r.advanced.length === 0) return r.view;
  const p = plan(r);
  const restCount = numel(p.rest.shape);
  const out = emptyTensor([...p.indexShape, ...p.rest.shape], t.dtype);
  const src = t.storage.data;
  const dst = out.storage.data;
  const restStrides = contiguousStrides(p.rest.shape);
  if (p.rest.shape.length === 0) {
    for (let k = 0; k < p.indexOffsets.length; k++) dst[k] = src[p.indexOffsets[k]!]!;
  } else if (p.rest.strides.every((st, i) => st === restStrides[i] || p.rest.shape[i] === 1)) {
    // contiguous rows (an embedding lookup): plain block copies
    for (let k = 0; k < p.indexOffsets.length; k++) {
      const from = p.indexOffsets[k]!;
      dst.set(src.subarray(from, from + restCount) as ArrayLike<number>, k * restCount);
    }
  } else {
    const backend = getBackend();
    for (let k = 0; k < p.indexOffsets.length; k++) {
      backend.copy(
        { data: src, offset: p.indexOffsets[k]!, shape: p.rest.shape, strides: p.rest.strides },
        { data: dst, offset: k * restCount, shape: p.rest.shape, strides: restStrides },
      );
    }
  }
  return out.permute(p.toResult).contiguous();
}

/** Writes one block of values into a strided target. */
type Write = (src: View, dst: View) => void;

export function indexSet(t: Tensor, idx: readonly Index[], value: TensorLike): void {
  const backend = getBackend();
  writeAt(t, idx, value, (src, dst) => backend.copy(src, dst));
}

/** t[idx] += value, adding up where an index repeats (torch's index_put_ with accumulate): the backward of get. */
export function indexAccumulate(t: Tensor, idx: readonly Index[], value: Tensor): void {
  const backend = getBackend();
  writeAt(t, idx, value, (src, dst) => {
    const tmp = emptyTensor(dst.shape, t.dtype);
    backend.binary("add", dst, src, tmp.storage.data);
    backend.copy(tmp.view, dst);
  });
}

function writeAt(t: Tensor, idx: readonly Index[], value: TensorLike, write: Write): void {
  const r = resolve(t, idx);
  let v = asTensor(value, t.dtype);
  // reading from the storage we write to would see half-written data
  if (v.storage === t.storage) v = v.clone();
  if (r.advanced.length === 0) {
    const target = r.view;
    const vv: View = {
      data: v.storage.data,
      offset: v.offset,
      shape: target.shape,
      strides: broadcastStrides(v.shape, v.strides, target.shape, "set"),
    };
    write(vv, target.view);
    t.touch();
    return;
  }
  const p = plan(r);
  // broadcast the value to the result's shape, then view it in the gathered order [...indexShape, ...rest]
  const inv = new Array<number>(p.toResult.length);
  p.toResult.forEach((d, i) => {
    inv[d] = i;
  });
  const vRes = tensorView(
    v.storage,
    v.dtype,
    p.resultShape,
    broadcastStrides(v.shape, v.strides, p.resultShape, "set"),
    v.offset,
  );
  const vGathered = vRes.permute(inv);
  const ni = p.indexShape.length;
  const outerStrides = vGathered.strides.slice(0, ni);
  const innerStrides = vGathered.strides.slice(ni);
  const idxStrides = contiguousStrides(p.indexShape);
  for (let k = 0; k < p.indexOffsets.length; k++) {
    let vOff = vGathered.offset;
    for (let d = 0; d < ni; d++) vOff += (Math.floor(k / idxStrides[d]!) % p.indexShape[d]!) * outerStrides[d]!;
    write(
      { data: v.storage.data, offset: vOff, shape: p.rest.shape, strides: innerStrides },
      { data: t.storage.data, offset: p.indexOffsets[k]!, shape: p.rest.shape, strides: p.rest.strides },
    );
  }
  t.touch();
}
