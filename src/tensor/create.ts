// Tensor factories and joins: tensor(), zeros, ones, full, arange, linspace, eye, cat, stack.
import { getBackend } from "../backend/index.js";
import { ShapeError } from "../errors.js";
import { flattenNested, type TensorLike } from "./convert.js";
import { allocate, promote, type DType } from "./dtype.js";
import { fmtShape, normDim } from "./shape.js";
import type { Tensor } from "./tensor.js";
import { asTensor, emptyTensor, isTensor, tensorFromArray } from "./tensor-ref.js";
import { numel } from "../backend/strided.js";
import { needsGrad } from "./autograd/mode.js";
import { trackCat } from "./autograd/vjp-index.js";

/** tensor(data, shape?, dtype?): nested arrays, typed arrays or a number; dtype defaults to float32 (int32 for
 *  Int32Array, bool for booleans). A Tensor argument is copied (converted when dtype is given). */
export function tensor(data: TensorLike, shape?: number[], dtype?: DType): Tensor {
  if (isTensor(data)) {
    const t = dtype && dtype !== data.dtype ? data.to(dtype) : data.clone();
    return shape ? t.reshape(shape) : t;
  }
  if (typeof data === "number") {
    const arr = allocate(dtype ?? "float32", 1);
    arr[0] = data;
    const t = tensorFromArray(arr, []);
    return shape ? t.reshape(shape) : t;
  }
  const flat = flattenNested(data, undefined, dtype);
  const t = tensorFromArray(flat.data, flat.shape);
  if (!shape) return t;
  if (numel(shape) !== flat.data.length)
    throw new ShapeError(`tensor: ${flat.data.length} values do not fill shape ${fmtShape(shape)}`);
  return t.reshape(shape);
}

/** A tensor of `shape` with every element `value` (dtype default float32). */
export function full(shape: readonly number[], value: number, dtype: DType = "float32"): Tensor {
  const data = allocate(dtype, numel(shape));
  if (value !== 0) data.fill(dtype === "bool" ? 1 : value); // fresh typed arrays are already zeros
  return tensorFromArray(data, shape);
}

/** A tensor of `shape` filled with 0 (dtype default float32). */
export function zeros(shape: readonly number[], dtype: DType = "float32"): Tensor {
  return full(shape, 0, dtype);
}
/** A tensor of `shape` filled with 1 (dtype default float32). */
export function ones(shape: readonly number[], dtype: DType = "float32"): Tensor {
  return full(shape, 1, dtype);
}
/** Zeros with t's shape and dtype. */
export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape, t.dtype);
}
/** Ones with t's shape and dtype. */
export function onesLike(t: Tensor): Tensor {
  return ones(t.shape, t.dtype);
}

/** arange(end) or arange(start, end, step); int32 when all arguments are integers, else float32. */
export function arange(start: number, end?: number, step = 1, dtype?: DType): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (step === 0) throw new ShapeError("arange: step must be nonzero");
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  const type = dtype ?? ([lo, hi, step].every(Number.isInteger) ? "int32" : "float32");
  const data = allocate(type, n);
  for (let i = 0; i < n; i++) data[i] = lo + i * step;
  return tensorFromArray(data, [n]);
}

/** `steps` evenly spaced values from start to end inclusive (torch.linspace). */
export function linspace(start: number, end: number, steps: number, dtype: DType = "float32"): Tensor {
  const data = allocate(dtype, steps);
  for (let i = 0; i < steps; i++) data[i] = steps === 1 ? start : start + ((end - start) * i) / (steps - 1);
  return tensorFromArray(data, [steps]);
}

/** The n × m identity matrix (m defaults to n). */
export function eye(n: number, m = n, dtype: DType = "float32"): Tensor {
  const t = zeros([n, m], dtype);
  for (let i = 0; i < Math.min(n, m); i++) t.storage.data[i * m + i] = 1;
  return t;
}

/** Concatenates along an existing dim; every other dim must match. */
export function cat(tensors: readonly TensorLike[], dim = 0): Tensor {
  const ts = tensors.map((t) => asTensor(t));
  if (ts.length === 0) throw new ShapeError("cat: expected a non-empty list of tensors");
  // torch skips 1-D empty tensors in cat
  const parts = ts.filter((t) => !(t.ndim === 1 && t.shape[0] === 0));
  if (parts.length === 0) return ts[0]!.clone();
  const ref = parts[0]!;
  const d = normDim(dim, ref.ndim, "cat");
  for (const t of parts) {
    if (t.ndim !== ref.ndim || t.shape.some((s, k) => k !== d && s !== ref.shape[k])) {
      throw new ShapeError(`cat: shapes ${parts.map((p) => fmtShape(p.shape)).join(", ")} differ outside dim ${dim}`);
    }
  }
  const dtype = parts.map((t) => t.dtype).reduce(promote);
  const shape = [...ref.shape];
  shape[d] = parts.reduce((n, t) => n + t.shape[d]!, 0);
  const out = emptyTensor(shape, dtype);
  let start = 0;
  const backend = getBackend();
  for (const t of parts) {
    backend.copy(t.view, out.narrow(d, start, t.shape[d]!).view);
    start += t.shape[d]!;
  }
  return parts.some((t) => needsGrad(t)) ? trackCat(parts, out, d) : out;
}

/** Joins equal-shaped tensors along a new dim. */
export function stack(tensors: readonly TensorLike[], dim = 0): Tensor {
  const ts = tensors.map((t) => asTensor(t));
  if (ts.length === 0) throw new ShapeError("stack: expected a non-empty list of tensors");
  const ref = ts[0]!;
  for (const t of ts) {
    if (t.ndim !== ref.ndim || t.shape.some((s, k) => s !== ref.shape[k])) {
      throw new ShapeError(
        `stack: all tensors must have the same shape, got ${ts.map((p) => fmtShape(p.shape)).join(", ")}`,
      );
    }
  }
  const d = normDim(dim, ref.ndim + 1, "stack");
  return cat(
    ts.map((t) => t.unsqueeze(d)),
    d,
  );
}
