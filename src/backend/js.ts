// The pure-TypeScript backend: always available, every dtype, any strides. It is the correctness reference
// the native kernels are tested against, and the fallback where no C compiler was available at install.
import { BackendError } from "../errors.js";
import { emulatedBf16 } from "./bf16.js";
import { collapseDims, numel, outerOffsets } from "./strided.js";
import { gelu, geluNew, roundHalfEven, sigmoid } from "./scalar-math.js";
import type { Backend, BinaryOp, GemmArgs, ReduceOp, SoftmaxOptions, TypedArray, UnaryOp, View } from "./types.js";

type Fn1 = (x: number) => number;
type Fn2 = (a: number, b: number) => number;

export const UNARY_FNS: Record<UnaryOp, Fn1> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  tanh: Math.tanh,
  abs: Math.abs,
  sign: (x) => (Number.isNaN(x) ? NaN : Math.sign(x) + 0),
  relu: (x) => (x > 0 ? x : Number.isNaN(x) ? NaN : 0),
  sigmoid,
  silu: (x) => x * sigmoid(x),
  gelu_new: geluNew,
  gelu,
  sin: Math.sin,
  cos: Math.cos,
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  log1p: Math.log1p,
  expm1: Math.expm1,
  // truthiness as torch: only 0 is false (NaN is true)
  not: (x) => (x !== 0 ? 0 : 1),
  isnan: (x) => (Number.isNaN(x) ? 1 : 0),
  isinf: (x) => (x === Infinity || x === -Infinity ? 1 : 0),
};

/** Integer-result semantics (floordiv, remainder) follow Python/torch: floor division, sign of the divisor. */
export const BINARY_FNS: Record<BinaryOp, Fn2> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  atan2: Math.atan2,
  remainder: (a, b) => a - Math.floor(a / b) * b,
  floordiv: (a, b) => Math.floor(a / b),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  and: (a, b) => (a !== 0 && b !== 0 ? 1 : 0),
  or: (a, b) => (a !== 0 || b !== 0 ? 1 : 0),
  xor: (a, b) => (a !== 0 ? 1 : 0) ^ (b !== 0 ? 1 : 0),
};

/** The function of `op` in `table`; a BackendError naming the known ops for anything else (a caller outside the
 *  types: the op names reach the backend as strings). */
function opFn<F>(table: Record<string, F>, kind: string, op: string): F {
  const f = Object.hasOwn(table, op) ? table[op] : undefined;
  if (f === undefined) throw new BackendError(`unknown ${kind} op "${op}" (known: ${Object.keys(table).join(", ")})`);
  return f;
}

export class JsBackend implements Backend {
  readonly name = "js" as const;

  unary(op: UnaryOp, x: View, out: TypedArray): void {
    const f = opFn(UNARY_FNS, "unary", op);
    const { shape, strides } = collapseDims(x.shape, [x.strides]);
    if (numel(shape) === 0) return;
    const inner = shape[shape.length - 1]!;
    const s = strides[0]![shape.length - 1]!;
    const starts = outerOffsets(shape, strides[0]!, x.offset);
    const xs = x.data;
    let o = 0;
    for (let r = 0; r < starts.length; r++) {
      let p = starts[r]!;
      for (let i = 0; i < inner; i++, p += s) out[o++] = f(xs[p]!);
    }
  }

  binary(op: BinaryOp, a: View, b: View, out: TypedArray): void {
    const f = opFn(BINARY_FNS, "binary", op);
    const { shape, strides } = collapseDims(a.shape, [a.strides, b.strides]);
    if (numel(shape) === 0) return;
    const last = shape.length - 1;
    const inner = shape[last]!;
    const sa = strides[0]![last]!;
    const sb = strides[1]![last]!;
    const aStarts = outerOffsets(shape, strides[0]!, a.offset);
    const bStarts = outerOffsets(shape, strides[1]!, b.offset);
    const ad = a.data;
    const bd = b.data;
    let o = 0;
    for (let r = 0; r < aStarts.length; r++) {
      let pa = aStarts[r]!;
      let pb = bStarts[r]!;
      for (let i = 0; i < inner; i++, pa += sa, pb += sb) out[o++] = f(ad[pa]!, bd[pb]!);
    }
  }

  copy(src: View, dst: View): void {
    const { shape, strides } = collapseDims(src.shape, [src.strides, dst.strides]);
    if (numel(shape) === 0) return;
    const last = shape.length - 1;
    const inner = shape[last]!;
    const ss = strides[0]![last]!;
    const ds = strides[1]![last]!;
    const sStarts = outerOffsets(shape, strides[0]!, src.offset);
    const dStarts = outerOffsets(shape, strides[1]!, dst.offset);
    const sd = src.data;
    const dd = dst.data;
    // bool targets hold 0/1, whatever the source value
    const toBool = dd instanceof Uint8Array && !(sd instanceof Uint8Array);
    for (let r = 0; r < sStarts.length; r++) {
      let ps = sStarts[r]!;
      let pd = dStarts[r]!;
      if (toBool) for (let i = 0; i < inner; i++, ps += ss, pd += ds) dd[pd] = sd[ps] !== 0 ? 1 : 0;
      else for (let i = 0; i < inner; i++, ps += ss, pd += ds) dd[pd] = sd[ps]!;
    }
  }

  reduce(op: ReduceOp, x: View, nReduced: number, out: TypedArray): void {
    const rank = x.shape.length;
    const outerShape = x.shape.slice(0, rank - nReduced);
    const innerShape = x.shape.slice(rank - nReduced);
    const outerCount = numel(outerShape);
    const innerCount = numel(innerShape);
    const outerStarts = outerOffsets([...outerShape, 1], [...x.strides.slice(0, rank - nReduced), 0], x.offset);
    // offsets of the reduced block relative to its first element, in row-major order of the reduced dims
    const innerRel = outerOffsets([...innerShape, 1], [...x.strides.slice(rank - nReduced), 0], 0);
    const xs = x.data;
    for (let r = 0; r < outerCount; r++) {
      const base = outerStarts[r]!;
      out[r] = reduceBlock(op, xs, base, innerRel, innerCount);
    }
  }

  gemm(args: GemmArgs): void {
    const g = emulatedBf16(args);
    const { m, n, k } = g;
    const row = new Float64Array(n);
    for (let bi = 0; bi < g.batch; bi++) {
      const aBase = g.aOffsets[bi]!;
      const bBase = g.bOffsets[bi]!;
      const oBase = bi * m * n;
      for (let i = 0; i < m; i++) {
        row.fill(0);
        for (let p = 0; p < k; p++) {
          const av = g.a[aBase + i * g.aRowStride + p * g.aColStride]!;
          let pb = bBase + p * g.bRowStride;
          for (let j = 0; j < n; j++, pb += g.bColStride) row[j]! += av * g.b[pb]!;
        }
        for (let j = 0; j < n; j++) g.out[oBase + i * n + j] = row[j]!;
      }
    }
  }

  softmax(
    x: Float32Array | Float64Array,
    rows: number,
    cols: number,
    out: Float32Array | Float64Array,
    opts: SoftmaxOptions = {},
  ): void {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      const allowed = opts.causal ? Math.min(cols, (r % opts.causal.qLen) + opts.causal.kOffset + 1) : cols;
      let max = -Infinity;
      for (let c = 0; c < allowed; c++) if (x[base + c]! > max || Number.isNaN(x[base + c])) max = x[base + c]!;
      if (max === -Infinity) max = 0; // a row of -inf gives NaN as in torch: exp(-inf - 0) / 0
      let sum = 0;
      for (let c = 0; c < allowed; c++) sum += Math.exp(x[base + c]! - max);
      if (opts.log) {
        const lse = Math.log(sum);
        for (let c = 0; c < allowed; c++) out[base + c] = x[base + c]! - max - lse;
        for (let c = allowed; c < cols; c++) out[base + c] = -Infinity;
      } else {
        for (let c = 0; c < allowed; c++) out[base + c] = Math.exp(x[base + c]! - max) / sum;
        for (let c = allowed; c < cols; c++) out[base + c] = 0;
      }
    }
  }

  softmaxBackward(
    y: Float32Array | Float64Array,
    g: Float32Array | Float64Array,
    rows: number,
    cols: number,
    out: Float32Array | Float64Array,
    log: boolean,
  ): void {
    for (let base = 0; base < rows * cols; base += cols) {
      let s = 0;
      if (log) {
        for (let c = 0; c < cols; c++) s += g[base + c]!;
        for (let c = 0; c < cols; c++) out[base + c] = g[base + c]! - Math.exp(y[base + c]!) * s;
      } else {
        for (let c = 0; c < cols; c++) s += g[base + c]! * y[base + c]!;
        for (let c = 0; c < cols; c++) out[base + c] = y[base + c]! * (g[base + c]! - s);
      }
    }
  }

  geluNewBackward(
    x: Float32Array | Float64Array,
    g: Float32Array | Float64Array,
    out: Float32Array | Float64Array,
  ): void {
    const c = Math.sqrt(2 / Math.PI);
    for (let i = 0; i < x.length; i++) {
      // d/dx ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³)
      const v = x[i]!;
      const t = Math.tanh(c * (v + 0.044715 * v * v * v));
      out[i] = g[i]! * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v));
    }
  }

  layerNorm(
    x: Float32Array,
    rows: number,
    d: number,
    eps: number,
    w: Float32Array | null,
    b: Float32Array | null,
    out: Float32Array,
    scaleOut: Float32Array | null,
  ): void {
    for (let r = 0; r < rows; r++) {
      const base = r * d;
      let mean = 0;
      for (let i = 0; i < d; i++) mean += x[base + i]!;
      mean /= d;
      let v = 0;
      for (let i = 0; i < d; i++) v += (x[base + i]! - mean) ** 2;
      const scale = Math.sqrt(v / d + eps);
      if (scaleOut) scaleOut[r] = scale;
      for (let i = 0; i < d; i++) {
        let y = (x[base + i]! - mean) / scale;
        if (w) y *= w[i]!;
        if (b) y += b[i]!;
        out[base + i] = y;
      }
    }
  }
}

function reduceBlock(op: ReduceOp, xs: TypedArray, base: number, rel: Float64Array, count: number): number {
  switch (op) {
    case "sum": {
      let s = 0;
      for (let i = 0; i < count; i++) s += xs[base + rel[i]!]!;
      return s;
    }
    case "prod": {
      let s = 1;
      for (let i = 0; i < count; i++) s *= xs[base + rel[i]!]!;
      return s;
    }
    case "max":
    case "min": {
      let best = op === "max" ? -Infinity : Infinity;
      for (let i = 0; i < count; i++) {
        const v = xs[base + rel[i]!]!;
        if (Number.isNaN(v)) return NaN;
        if (op === "max" ? v > best : v < best) best = v;
      }
      return best;
    }
    case "argmax":
    case "argmin": {
      // first index of the extreme value; NaN counts as the extreme (torch semantics)
      let best = xs[base + rel[0]!]!;
      let at = 0;
      for (let i = 1; i < count && !Number.isNaN(best); i++) {
        const v = xs[base + rel[i]!]!;
        if (Number.isNaN(v) || (op === "argmax" ? v > best : v < best)) {
          best = v;
          at = i;
        }
      }
      return at;
    }
    case "any": {
      for (let i = 0; i < count; i++) if (xs[base + rel[i]!] !== 0) return 1;
      return 0;
    }
    case "all": {
      for (let i = 0; i < count; i++) if (xs[base + rel[i]!] === 0) return 0;
      return 1;
    }
    default:
      throw new BackendError(`unknown reduce op "${String(op)}"`);
  }
}
