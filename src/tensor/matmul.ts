// matmul with torch's semantics: 1-D operands are promoted and squeezed back, batch dims broadcast; optionally
// in bf16 precision (float32 products only; backend/bf16.ts).
import { getBackend } from "../backend/index.js";
import type { MatmulPrecision } from "../backend/types.js";
import { numel, outerOffsets } from "../backend/strided.js";
import { ShapeError, TensorError } from "../errors.js";
import { broadcastShapes, broadcastStrides, fmtShape } from "./shape.js";
import type { Tensor } from "./tensor.js";
import { emptyTensor } from "./tensor-ref.js";
import { needsGrad, noGradSync } from "./autograd/mode.js";
import { trackMatmul } from "./autograd/vjp-matmul.js";

/** Offsets of every batch entry's matrix in a broadcast batch. */
function batchOffsets(t: Tensor, batchShape: number[]): Float64Array {
  const own = t.shape.slice(0, -2);
  const strides = broadcastStrides(own, t.strides.slice(0, -2), batchShape, "matmul");
  return outerOffsets([...batchShape, 1], [...strides, 0], t.offset);
}

export type { MatmulPrecision };

export interface MatmulOptions {
  /** "bf16": both operands rounded to bfloat16, products accumulated in fp32 — faster on CPUs with AVX512-BF16,
   *  ~3 significant digits (default "fp32"). Float32 products only; the gradient is computed in fp32. */
  precision?: MatmulPrecision;
}

export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const precision = opts.precision ?? "fp32";
  if (precision !== "fp32" && precision !== "bf16")
    throw new TensorError(`matmul: precision must be "fp32" or "bf16", got "${String(precision)}"`);
  // recorded as one op: the reshapes and casts inside are not worth a node each
  return needsGrad(a, b)
    ? trackMatmul(
        a,
        b,
        noGradSync(() => product(a, b, precision)),
      )
    : product(a, b, precision);
}

function product(a: Tensor, b: Tensor, precision: MatmulPrecision): Tensor {
  if (a.ndim === 0 || b.ndim === 0)
    throw new ShapeError(
      `matmul: both operands need at least 1 dim, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  const a2 = a.ndim === 1 ? a.unsqueeze(0) : a;
  const b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
  const [m, k] = a2.shape.slice(-2) as [number, number];
  const [k2, n] = b2.shape.slice(-2) as [number, number];
  if (k !== k2) {
    throw new ShapeError(
      `matmul: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be multiplied (${k} ≠ ${k2}: the last dim of the first must equal the ${b.ndim === 1 ? "size" : "second-to-last dim"} of the second)`,
    );
  }
  if (b2.ndim === 2 && a2.ndim > 2) {
    // [..., m, k] @ [k, n] is one [(... m), k] @ [k, n] GEMM: far better than many small ones
    const lead = a2.shape.slice(0, -1);
    const folded = product(a2.reshape(-1, k), b2, precision).reshape(...lead, n);
    return b.ndim === 1 ? folded.squeeze(-1) : folded;
  }
  const batchShape = broadcastShapes("matmul", a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const floatIn = (t: Tensor): boolean => t.dtype === "float32" || t.dtype === "float64";
  // integer products are exact in float64
  const dtype = a.dtype === "float64" || b.dtype === "float64" || (!floatIn(a) && !floatIn(b)) ? "float64" : "float32";
  const x = a2.to(dtype);
  const y = b2.to(dtype);
  const batch = numel(batchShape);
  const out = emptyTensor([...batchShape, m, n], dtype);
  if (batch > 0 && m > 0 && n > 0) {
    const bOffsets = batchOffsets(y, batchShape);
    const shared = bOffsets.every((o) => o === bOffsets[0]);
    getBackend().gemm({
      batch,
      m,
      n,
      k,
      a: x.storage.data as Float32Array,
      aOffsets: batchOffsets(x, batchShape),
      aRowStride: x.strides[x.ndim - 2]!,
      aColStride: x.strides[x.ndim - 1]!,
      b: y.storage.data as Float32Array,
      bOffsets,
      bRowStride: y.strides[y.ndim - 2]!,
      bColStride: y.strides[y.ndim - 1]!,
      out: out.storage.data as Float32Array,
      bCache: shared && y.storage.reusable ? { key: y.storage, version: y.storage.version } : undefined,
      precision: precision === "bf16" && dtype === "float32" ? "bf16" : undefined,
    });
  }
  let result = out;
  if (a.ndim === 1) result = result.squeeze(-2);
  if (b.ndim === 1) result = result.squeeze(-1);
  return !floatIn(a) && !floatIn(b) ? result.to("int32") : result;
}
