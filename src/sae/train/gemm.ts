// Plain row-major GEMMs on Float32Arrays through the kernel backend (native when built), with transposes as
// strides, and the few elementwise passes around them that the backend runs as well (bias adds, ReLU): the SAE
// trainer's forward and backward write into buffers it reuses from step to step.
import { getBackend } from "../../backend/index.js";
import { ShapeError } from "../../errors.js";

const ZERO = new Float64Array([0]);

/** A row-major matrix [rows, cols] in a Float32Array, used as is or transposed. */
export interface Mat {
  data: Float32Array;
  rows: number;
  cols: number;
  /** use the transpose [cols, rows] */
  t?: boolean;
}

/** out [m, n] = A [m, k] · B [k, n], where A and B are `a` and `b` or their transposes. out is overwritten.
 *  ShapeError when the inner sizes differ or out has fewer than m·n elements. */
export function gemm(out: Float32Array, a: Mat, b: Mat): void {
  const [m, k] = a.t ? [a.cols, a.rows] : [a.rows, a.cols];
  const [k2, n] = b.t ? [b.cols, b.rows] : [b.rows, b.cols];
  if (k !== k2 || out.length < m * n)
    throw new ShapeError(`gemm: [${m}, ${k}] · [${k2}, ${n}] into ${out.length} elements`);
  getBackend().gemm({
    batch: 1,
    m,
    n,
    k,
    a: a.data,
    aOffsets: ZERO,
    aRowStride: a.t ? 1 : a.cols,
    aColStride: a.t ? a.cols : 1,
    b: b.data,
    bOffsets: ZERO,
    bRowStride: b.t ? 1 : b.cols,
    bColStride: b.t ? b.cols : 1,
    out,
  });
}

/** out [rows, cols] = a [rows, cols] op v [cols] on every row (the backend's broadcast op; out may be a). */
export function rowBroadcast(
  op: "add" | "sub",
  out: Float32Array,
  a: Float32Array,
  rows: number,
  cols: number,
  v: Float32Array,
): void {
  const shape = [rows, cols];
  getBackend().binary(
    op,
    { data: a, offset: 0, shape, strides: [cols, 1] },
    { data: v, offset: 0, shape, strides: [0, 1] },
    out,
  );
}

/** out = max(a, 0) over a's first n values (the backend's ReLU). */
export function relu(out: Float32Array, a: Float32Array, n: number): void {
  getBackend().unary("relu", { data: a, offset: 0, shape: [n], strides: [1] }, out);
}
