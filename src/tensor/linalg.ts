// linalg over tensors: batched over leading dims, computed in float64 (linalg-core), returned in the input's
// float dtype (float32 unless the input is float64).
import { GradError, ShapeError } from "../errors.js";
import { needsGrad } from "./autograd/mode.js";
import { eigvalsGeneral, qr as qrCore, svd as svdCore } from "./linalg-core.js";
import { fmtShape } from "./shape.js";
import { Tensor } from "./tensor.js";
import type { DType } from "./dtype.js";

function matrices(
  op: string,
  m: Tensor,
  square: boolean,
): { batch: number[]; rows: number; cols: number; mats: Float64Array[]; dtype: DType } {
  if (m.ndim < 2) throw new ShapeError(`linalg.${op}: expected a matrix [..., m, n], got shape ${fmtShape(m.shape)}`);
  // the float64 routines are not on the tape: refuse rather than return results that silently carry no gradient
  if (needsGrad(m))
    throw new GradError(`linalg.${op} is not differentiable: detach() its input (or call it inside noGrad)`);
  const [rows, cols] = m.shape.slice(-2) as [number, number];
  if (square && rows !== cols)
    throw new ShapeError(`linalg.${op}: expected square matrices, got shape ${fmtShape(m.shape)}`);
  const batch = m.shape.slice(0, -2);
  const flat = m.to("float64").contiguous().dataSync() as Float64Array;
  const size = rows * cols;
  const count = batch.reduce((a, b) => a * b, 1);
  const mats = Array.from({ length: count }, (_, i) => flat.slice(i * size, (i + 1) * size));
  return { batch, rows, cols, mats, dtype: m.dtype === "float64" ? "float64" : "float32" };
}

function gatherResults(parts: Float64Array[], shape: number[], dtype: DType): Tensor {
  const total = shape.reduce((a, b) => a * b, 1);
  const size = parts.length ? total / parts.length : 0;
  const out = new Float64Array(total);
  parts.forEach((p, i) => out.set(p, i * size));
  return Tensor.fromTypedArray(out, shape).to(dtype);
}

/** Eigenvalues of general real square matrices [..., n, n] as real and imaginary parts [..., n]. */
export function eig(m: Tensor): { re: Tensor; im: Tensor } {
  const { batch, rows, mats, dtype } = matrices("eig", m, true);
  const res = mats.map((a) => eigvalsGeneral(a, rows));
  return {
    re: gatherResults(
      res.map((r) => r.re),
      [...batch, rows],
      dtype,
    ),
    im: gatherResults(
      res.map((r) => r.im),
      [...batch, rows],
      dtype,
    ),
  };
}

/** Thin SVD: [..., m, n] → U [..., m, r], S [..., r], Vh [..., r, n] with r = min(m, n) (numpy's convention). */
export function svd(m: Tensor): { U: Tensor; S: Tensor; Vh: Tensor } {
  const { batch, rows, cols, mats, dtype } = matrices("svd", m, false);
  const r = Math.min(rows, cols);
  const res = mats.map((a) => svdCore(a, rows, cols));
  return {
    U: gatherResults(
      res.map((x) => x.U),
      [...batch, rows, r],
      dtype,
    ),
    S: gatherResults(
      res.map((x) => x.S),
      [...batch, r],
      dtype,
    ),
    Vh: gatherResults(
      res.map((x) => x.Vh),
      [...batch, r, cols],
      dtype,
    ),
  };
}

/** Reduced QR: [..., m, n] → Q [..., m, r], R [..., r, n]. */
export function qr(m: Tensor): { Q: Tensor; R: Tensor } {
  const { batch, rows, cols, mats, dtype } = matrices("qr", m, false);
  const r = Math.min(rows, cols);
  const res = mats.map((a) => qrCore(a, rows, cols));
  return {
    Q: gatherResults(
      res.map((x) => x.Q),
      [...batch, rows, r],
      dtype,
    ),
    R: gatherResults(
      res.map((x) => x.R),
      [...batch, r, cols],
      dtype,
    ),
  };
}
