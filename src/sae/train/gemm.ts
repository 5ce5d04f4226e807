// Plain row-major GEMMs on Float32Arrays through the kernel backend (native when built), with transposes as
// strides, and the bias add after one: the SAE trainer's forward and backward write into buffers it reuses from step
// to step.
import { getBackend } from "../../backend/index.js";

const ZERO = new Float64Array([0]);

/** A row-major matrix [rows, cols] in a Float32Array, used as is or transposed. */
export interface Mat {
  data: Float32Array;
  rows: number;
  cols: number;
  /** use the transpose [cols, rows] */
  t?: boolean;
}

/** out [m, n] = A [m, k] · B [k, n], where A and B are `a` and `b` or their transposes. out is overwritten. */
export function gemm(out: Float32Array, a: Mat, b: Mat): void {
  const [m, k] = a.t ? [a.cols, a.rows] : [a.rows, a.cols];
  const [k2, n] = b.t ? [b.cols, b.rows] : [b.rows, b.cols];
  if (k !== k2 || out.length < m * n) throw new RangeError(`gemm: [${m}, ${k}] · [${k2}, ${n}] into ${out.length} elements`);
  getBackend().gemm({
    batch: 1, m, n, k,
    a: a.data, aOffsets: ZERO, aRowStride: a.t ? 1 : a.cols, aColStride: a.t ? a.cols : 1,
    b: b.data, bOffsets: ZERO, bRowStride: b.t ? 1 : b.cols, bColStride: b.t ? b.cols : 1,
    out,
  });
}

/** out [rows, cols] += bias [cols] on every row (the backend's broadcast add, in place). */
export function addRowBias(out: Float32Array, rows: number, cols: number, bias: Float32Array): void {
  const shape = [rows, cols];
  getBackend().binary("add", { data: out, offset: 0, shape, strides: [cols, 1] }, { data: bias, offset: 0, shape, strides: [0, 1] }, out);
}
