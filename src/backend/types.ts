// The kernel interface every backend implements. Kernels take buffers, shapes and strides — never Tensors —
// so that backends stay independent of the tensor layer (DESIGN.md §2).

export type DType = "float32" | "int32" | "bool" | "float64";
export type TypedArray = Float32Array | Int32Array | Uint8Array | Float64Array;

/** A strided view of a buffer: element (i0, i1, ...) lives at data[offset + Σ ik * strides[k]]. */
export interface View<A extends TypedArray = TypedArray> {
  readonly data: A;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

export type UnaryOp =
  | "neg"
  | "exp"
  | "log"
  | "sqrt"
  | "rsqrt"
  | "tanh"
  | "abs"
  | "sign"
  | "relu"
  | "sigmoid"
  | "silu"
  | "gelu_new"
  | "gelu"
  | "sin"
  | "cos"
  | "floor"
  | "ceil"
  | "round"
  | "square"
  | "reciprocal"
  | "log1p"
  | "expm1"
  | "not"
  | "isnan"
  | "isinf";

export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "maximum"
  | "minimum"
  | "atan2"
  | "remainder"
  | "floordiv"
  | "eq"
  | "ne"
  | "lt"
  | "le"
  | "gt"
  | "ge"
  | "and"
  | "or"
  | "xor";

/** Reductions the kernels provide; var/std/norm/logsumexp are composed from these in the tensor layer. */
export type ReduceOp = "sum" | "prod" | "max" | "min" | "argmax" | "argmin" | "any" | "all";

/** Precision of a float32 matrix product: "fp32", or "bf16" — A and B rounded to bfloat16 (8 significant bits),
 *  products accumulated in fp32 (backend/bf16.ts; fast on CPUs with AVX512-BF16, emulated elsewhere). */
export type MatmulPrecision = "fp32" | "bf16";

/** Batched GEMM: out[b] = A[b] @ B[b] for b < batch; A[b] is [M, K], B[b] is [K, N], out is contiguous [batch, M, N]. */
export interface GemmArgs<A extends Float32Array | Float64Array = Float32Array | Float64Array> {
  batch: number;
  m: number;
  n: number;
  k: number;
  a: A;
  /** start of A[b] in `a`, per batch entry */
  aOffsets: Float64Array;
  aRowStride: number;
  aColStride: number;
  b: A;
  bOffsets: Float64Array;
  bRowStride: number;
  bColStride: number;
  out: A;
  /** When B is a reused weight (every bOffsets entry equal), a key under which the backend may cache B packed;
   *  `version` changes whenever B's buffer is written in place. */
  bCache?: { key: object; version: number };
  /** "bf16": round A and B to bfloat16 (float32 products only; default "fp32"). */
  precision?: MatmulPrecision;
}

export interface SoftmaxOptions {
  /** log-softmax instead of softmax */
  log?: boolean;
  /** Causal mask for rows that are query positions of [qLen, cols] score matrices: row r may attend to
   *  columns 0 ..= (r mod qLen) + kOffset; masked entries get probability 0 (log-probability -inf). */
  causal?: { qLen: number; kOffset: number };
}

export interface Backend {
  readonly name: "js" | "native" | "wasm";
  /** out[i] = op(x[i]); x already has out's shape; out is contiguous and of the result dtype. */
  unary(op: UnaryOp, x: View, out: TypedArray): void;
  /** out = a op b; a and b are already broadcast to out's shape (zero strides on broadcast dims). */
  binary(op: BinaryOp, a: View, b: View, out: TypedArray): void;
  /** dst = src elementwise (same shape), converting dtype; dst may be any strided view (in-place edits). */
  copy(src: View, dst: View): void;
  /** Reduces the last `nReduced` dims of x; out is contiguous over the leading dims (argmax/argmin: int32
   *  flat index within the reduced block). */
  reduce(op: ReduceOp, x: View, nReduced: number, out: TypedArray): void;
  /** Batched GEMM out[b] = A[b] · B[b] (GemmArgs), B packed once and cached when it is a reused weight. */
  gemm(args: GemmArgs): void;
  /** Row-wise (log-)softmax of contiguous x viewed as [rows, cols]. */
  softmax(
    x: Float32Array | Float64Array,
    rows: number,
    cols: number,
    out: Float32Array | Float64Array,
    opts?: SoftmaxOptions,
  ): void;
  /** Backward of row-wise (log-)softmax: y is the output and g its gradient, contiguous [rows, cols]; out gets the
   *  input's gradient, y·(g − Σ g·y) (softmax) or g − exp(y)·Σ g (log-softmax). Rows of NaN stay NaN. */
  softmaxBackward(
    y: Float32Array | Float64Array,
    g: Float32Array | Float64Array,
    rows: number,
    cols: number,
    out: Float32Array | Float64Array,
    log: boolean,
  ): void;
  /** out = g · gelu_new'(x) elementwise (the backward of gelu_new); x, g, out contiguous, of one length. */
  geluNewBackward(
    x: Float32Array | Float64Array,
    g: Float32Array | Float64Array,
    out: Float32Array | Float64Array,
  ): void;
  /** Row-wise layer norm of contiguous x [rows, d]: (x - mean) / sqrt(var + eps) * w + b (w, b optional).
   *  scaleOut (optional, [rows]) receives sqrt(var + eps), TransformerLens's hook_scale. */
  layerNorm(
    x: Float32Array,
    rows: number,
    d: number,
    eps: number,
    w: Float32Array | null,
    b: Float32Array | null,
    out: Float32Array,
    scaleOut: Float32Array | null,
  ): void;
}
