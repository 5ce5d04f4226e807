// The bf16 matmul precision (GemmArgs.precision "bf16"): A and B rounded to bfloat16, the products accumulated in
// fp32 or wider. The native backend runs it with AVX512-BF16 (native/gemm_bf16*.c) where the CPU has it; every
// other backend and CPU emulates it here with the same rounding: the operands are rounded into fp32 copies and
// multiplied by the backend's own GEMM. A product of two bf16 values is exact in fp32, so the emulation differs
// from the fast kernel only in the order (and, on the js backend, the width) of the sums.
//
// Rounding (native/gemm_bf16.h has the same): to nearest even; a NaN stays a quiet NaN; zeros and fp32 subnormals
// become signed zeros (vdpbf16ps treats subnormal inputs as zero).
import type { GemmArgs } from "./types.js";

/** The fp32 bits of x's bits `u` (an unsigned 32-bit integer) rounded to bf16. */
export function bf16RoundBits(u: number): number {
  const mag = u & 0x7fffffff;
  if (mag > 0x7f800000) return (((u >>> 16) | 0x40) << 16) >>> 0;
  if (mag < 0x00800000) return (u & 0x80000000) >>> 0;
  return (((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16) >>> 0;
}

/** x rounded to bf16, in place. */
export function roundToBf16(x: Float32Array): Float32Array {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < u.length; i++) u[i] = bf16RoundBits(u[i]!);
  return x;
}

/** Rounded contiguous copies of `count` strided [rows, cols] matrices (matrix i at offsets[i]): [count, rows, cols]. */
function roundedCopy(
  data: Float32Array,
  offsets: Float64Array,
  count: number,
  rows: number,
  cols: number,
  rs: number,
  cs: number,
): Float32Array {
  const out = new Float32Array(count * rows * cols);
  let o = 0;
  for (let q = 0; q < count; q++) {
    for (let r = 0; r < rows; r++) {
      const base = offsets[q]! + r * rs;
      if (cs === 1) {
        out.set(data.subarray(base, base + cols), o);
        o += cols;
      } else {
        for (let c = 0; c < cols; c++) out[o++] = data[base + c * cs]!;
      }
    }
  }
  return roundToBf16(out);
}

interface RoundedB {
  version: number;
  b: Float32Array;
  offset: number;
  rowStride: number;
  colStride: number;
  value: Float32Array;
}

/** Rounded copies of cached weights, per GemmArgs.bCache key (one layout each). */
const roundedWeights = new WeakMap<object, RoundedB>();

/** Is B the same matrix for every batch entry? */
export function sharedB(g: GemmArgs): boolean {
  for (let i = 1; i < g.batch; i++) if (g.bOffsets[i] !== g.bOffsets[0]) return false;
  return true;
}

function roundedB(g: GemmArgs<Float32Array>, shared: boolean): Float32Array {
  const key = shared ? g.bCache?.key : undefined;
  const hit = key ? roundedWeights.get(key) : undefined;
  if (
    hit &&
    hit.version === g.bCache!.version &&
    hit.b === g.b &&
    hit.offset === g.bOffsets[0] &&
    hit.rowStride === g.bRowStride &&
    hit.colStride === g.bColStride &&
    hit.value.length === g.k * g.n
  )
    return hit.value;
  const value = roundedCopy(g.b, g.bOffsets, shared ? 1 : g.batch, g.k, g.n, g.bRowStride, g.bColStride);
  if (key)
    roundedWeights.set(key, {
      version: g.bCache!.version,
      b: g.b,
      offset: g.bOffsets[0]!,
      rowStride: g.bRowStride,
      colStride: g.bColStride,
      value,
    });
  return value;
}

/** The fp32 GEMM that emulates g's bf16 product (g itself when it asks for none): rounded contiguous copies of A
 *  and B; a rounded cached weight is kept (and, on backends that pack weights, packed) across calls. */
export function emulatedBf16(g: GemmArgs): GemmArgs {
  if (g.precision !== "bf16" || !(g.a instanceof Float32Array) || !(g.b instanceof Float32Array)) return g;
  const f = g as GemmArgs<Float32Array>;
  const { batch, m, n, k } = f;
  const shared = sharedB(f);
  const b = roundedB(f, shared);
  const entries = Float64Array.from({ length: batch }, (_, i) => i);
  return {
    batch,
    m,
    n,
    k,
    a: roundedCopy(f.a, f.aOffsets, batch, m, k, f.aRowStride, f.aColStride),
    aOffsets: entries.map((i) => i * m * k),
    aRowStride: k,
    aColStride: 1,
    b,
    bOffsets: entries.map((i) => (shared ? 0 : i * k * n)),
    bRowStride: n,
    bColStride: 1,
    out: f.out,
    bCache: f.bCache && shared ? { key: b, version: 0 } : undefined,
  };
}
