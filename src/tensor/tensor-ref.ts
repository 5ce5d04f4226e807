// tensor.ts defines the Tensor class and imports the modules its methods delegate to (creation, indexing, sorting,
// matmul, the autograd). Those modules make Tensors through these late-bound functions instead of importing
// tensor.ts back, so the imports stay acyclic; tensor.ts binds them when it loads, before any op can run.
import type { TensorStorage, Tensor, TensorModule } from "./tensor.js";
import type { DType, TypedArray } from "./dtype.js";
import type { TensorLike } from "./convert.js";
import { TensorError } from "../errors.js";

let bound: TensorModule | undefined;

/** Called once by tensor.ts. */
export function bindTensorModule(m: TensorModule): void {
  bound = m;
}

function mod(): TensorModule {
  if (!bound) throw new TensorError("tensor: an op ran before tensor.ts was loaded (import from tensor/index.js)");
  return bound;
}

export const isTensor = (x: unknown): x is Tensor => x instanceof mod().Tensor;
/** Zero-filled: fresh typed arrays start at zero. */
export const emptyTensor = (shape: readonly number[], dtype: DType = "float32"): Tensor =>
  mod().Tensor.empty(shape, dtype);
export const tensorFromArray = (data: TypedArray, shape: readonly number[]): Tensor =>
  mod().Tensor.fromTypedArray(data, shape);
/** A view of `storage` (no copy). */
export const tensorView = (
  storage: TensorStorage,
  dtype: DType,
  shape: readonly number[],
  strides?: readonly number[],
  offset = 0,
): Tensor => new (mod().Tensor)(storage, dtype, shape, strides, offset);
export const asTensor = (x: TensorLike, like: DType = "float32"): Tensor => mod().asTensor(x, like);
export const where = (cond: Tensor, a: TensorLike, b: TensorLike): Tensor => mod().where(cond, a, b);
