// The native backend: N-API kernels (native/*.c) for float32 — GEMM (packed, AVX-512/AVX2) and the elementwise,
// copy, reduction, softmax and layer-norm kernels — with everything else (other dtypes, ops without a native
// kernel, and inputs so small that the N-API call costs more than the loop) delegated to the JS backend.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { BackendError } from "../errors.js";
import { emulatedBf16, sharedB } from "./bf16.js";
import { JsBackend } from "./js.js";
import { BINARY_CODES, COMPARE_FIRST, REDUCE_CODES, UNARY_CODES } from "./op-codes.js";
import { PackedBCache } from "./packed-cache.js";
import type { Backend, BinaryOp, GemmArgs, ReduceOp, SoftmaxOptions, TypedArray, UnaryOp, View } from "./types.js";
import { MAX_RANK, metaLength, writePairMeta, writeViewMeta } from "./view-meta.js";

/** The functions the addon exports (build/Release/tlens_native.node). GEMM ones may be missing in old builds. */
export interface NativeAddon {
  cpuFeatures(): { avx2: boolean; fma: boolean; avx512f: boolean };
  numThreads(): number;
  /** Whether the addon set glibc to serve large blocks from the heap (reused, not re-faulted); see native/addon.c. */
  mallocTuned?(): boolean;
  unaryF32(op: number, x: Float32Array, out: Float32Array, meta: Float64Array): void;
  binaryF32(op: number, a: Float32Array, b: Float32Array, out: Float32Array | Uint8Array, meta: Float64Array): void;
  copyF32(src: Float32Array, dst: Float32Array, meta: Float64Array): void;
  reduceF32(op: number, x: Float32Array, out: Float32Array | Int32Array, nReduced: number, meta: Float64Array): void;
  softmaxF32(
    x: Float32Array,
    rows: number,
    cols: number,
    out: Float32Array,
    log: boolean,
    qLen: number,
    kOffset: number,
  ): void;
  /** native/grad.c; missing in builds from before it. */
  softmaxBackwardF32?(
    y: Float32Array,
    g: Float32Array,
    rows: number,
    cols: number,
    out: Float32Array,
    log: boolean,
  ): void;
  geluNewBackwardF32?(x: Float32Array, g: Float32Array, out: Float32Array): void;
  layerNormF32(
    x: Float32Array,
    rows: number,
    d: number,
    eps: number,
    w: Float32Array | null,
    b: Float32Array | null,
    out: Float32Array,
    scaleOut: Float32Array | null,
  ): void;
  opsIsa(): string;
  opsSetIsa(name: string): string;
  /** b and bOffsets may be null when packedB (from sgemmPackB) stands in for B. */
  sgemm?(
    batch: number,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    aOffsets: Float64Array,
    aRowStride: number,
    aColStride: number,
    b: Float32Array | null,
    bOffsets: Float64Array | null,
    bRowStride: number,
    bColStride: number,
    out: Float32Array,
    packedB?: ArrayBuffer | null,
  ): void;
  sgemmPackB?(b: Float32Array, offset: number, rowStride: number, colStride: number, k: number, n: number): ArrayBuffer;
  sgemmInfo?(): { kernel: string; isa: string; nr: number; kc: number };
  /** The bf16 GEMM (native/gemm_bf16*.c); missing in builds from before it. fast: this CPU has AVX512-BF16 (the
   *  other two throw when it is false). */
  bf16Info?(): { fast: boolean; kernel: string };
  bf16PackB?(b: Float32Array, offset: number, rowStride: number, colStride: number, k: number, n: number): ArrayBuffer;
  bf16Gemm?(
    batch: number,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    aOffsets: Float64Array,
    aRowStride: number,
    aColStride: number,
    out: Float32Array,
    packedB: ArrayBuffer,
  ): void;
}

/** An addon built with the GEMM module. */
export type NativeGemmAddon = NativeAddon & Required<Pick<NativeAddon, "sgemm" | "sgemmPackB">>;

/** Ops cheap enough per element that the JS loop wins until the N-API call overhead is amortised. */
const CHEAP_UNARY = new Set<UnaryOp>(["neg", "abs", "relu", "square", "sqrt", "rsqrt", "reciprocal"]);

/** Below these element counts (or when a count is not a number) the JS backend is used: the N-API call with its argument packing costs ≈ 0.3–0.4 µs,
 *  about what the JS loop needs for this many elements (measured with `npm run bench -- ops thresholds`). */
export const NATIVE_MIN = { unaryCheap: 32, unary: 16, binary: 16, copy: 64, reduce: 16, softmax: 16, layerNorm: 64 };

function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
}

export class NativeBackend implements Backend {
  readonly name = "native" as const;
  readonly js = new JsBackend();
  private readonly meta = new Float64Array(metaLength(MAX_RANK, 2));
  private readonly packedB = new PackedBCache<ArrayBuffer>();
  private readonly packedBf16 = new PackedBCache<ArrayBuffer>();
  private readonly hasGemm: boolean;
  /** The bf16 precision runs on the AVX512-BF16 kernel (else it is emulated over the fp32 GEMM). */
  readonly bf16Fast: boolean;

  constructor(readonly addon: NativeAddon) {
    this.hasGemm = typeof addon.sgemm === "function" && typeof addon.sgemmPackB === "function";
    this.bf16Fast = this.hasGemm && addon.bf16Info?.().fast === true && typeof addon.bf16Gemm === "function";
  }

  /** The instruction set the elementwise kernels use ("avx512" | "avx2" | "generic"). */
  get isa(): string {
    return this.addon.opsIsa();
  }

  unary(op: UnaryOp, x: View, out: TypedArray): void {
    const code = UNARY_CODES[op];
    const rank = x.shape.length;
    if (
      code === undefined ||
      !(x.data instanceof Float32Array) ||
      !(out instanceof Float32Array) ||
      rank > MAX_RANK ||
      !(numelOf(x.shape) >= (CHEAP_UNARY.has(op) ? NATIVE_MIN.unaryCheap : NATIVE_MIN.unary))
    ) {
      this.js.unary(op, x, out);
      return;
    }
    this.addon.unaryF32(code, x.data, out, this.viewMeta(x));
  }

  binary(op: BinaryOp, a: View, b: View, out: TypedArray): void {
    const code = BINARY_CODES[op];
    const rank = a.shape.length;
    if (
      code === undefined ||
      !(a.data instanceof Float32Array) ||
      !(b.data instanceof Float32Array) ||
      !(code >= COMPARE_FIRST ? out instanceof Uint8Array : out instanceof Float32Array) ||
      rank > MAX_RANK ||
      !(numelOf(a.shape) >= NATIVE_MIN.binary)
    ) {
      this.js.binary(op, a, b, out);
      return;
    }
    this.addon.binaryF32(code, a.data, b.data, out as Float32Array | Uint8Array, this.pairMeta(a, b));
  }

  /** [offset, rank, ...shape, ...strides] of one view, in the reused buffer. */
  private viewMeta(x: View): Float64Array {
    writeViewMeta(this.meta, 0, x);
    return this.meta;
  }

  /** [offsetA, offsetB, rank, ...shape, ...stridesA, ...stridesB] of two views over one shape, in the reused buffer. */
  private pairMeta(a: View, b: View): Float64Array {
    writePairMeta(this.meta, 0, a, b);
    return this.meta;
  }

  copy(src: View, dst: View): void {
    const rank = src.shape.length;
    if (
      !(src.data instanceof Float32Array) ||
      !(dst.data instanceof Float32Array) ||
      rank > MAX_RANK ||
      !(numelOf(src.shape) >= NATIVE_MIN.copy)
    ) {
      this.js.copy(src, dst);
      return;
    }
    this.addon.copyF32(src.data, dst.data, this.pairMeta(src, dst));
  }

  reduce(op: ReduceOp, x: View, nReduced: number, out: TypedArray): void {
    const code = REDUCE_CODES[op];
    const rank = x.shape.length;
    const isArg = op === "argmax" || op === "argmin";
    let reduced = 1;
    for (let i = Math.max(0, rank - nReduced); i < rank; i++) reduced *= x.shape[i]!;
    if (
      code === undefined ||
      nReduced > rank ||
      nReduced < 0 ||
      !(x.data instanceof Float32Array) ||
      !(isArg ? out instanceof Int32Array : out instanceof Float32Array) ||
      rank > MAX_RANK ||
      reduced === 0 ||
      !(numelOf(x.shape) >= NATIVE_MIN.reduce)
    ) {
      this.js.reduce(op, x, nReduced, out);
      return;
    }
    this.addon.reduceF32(code, x.data, out as Float32Array | Int32Array, nReduced, this.viewMeta(x));
  }

  gemm(args: GemmArgs): void {
    if (args.precision === "bf16" && this.bf16Fast && this.gemmBf16(args)) return;
    const g = emulatedBf16(args);
    if (
      !this.hasGemm ||
      !(g.a instanceof Float32Array) ||
      !(g.b instanceof Float32Array) ||
      !(g.out instanceof Float32Array)
    ) {
      this.js.gemm(g);
      return;
    }
    const packed =
      g.bCache && g.batch > 0 && g.k > 0 && g.n > 0
        ? this.packedB.get(g, () =>
            this.addon.sgemmPackB!(g.b as Float32Array, g.bOffsets[0]!, g.bRowStride, g.bColStride, g.k, g.n),
          )
        : null;
    this.addon.sgemm!(
      g.batch,
      g.m,
      g.n,
      g.k,
      g.a,
      g.aOffsets,
      g.aRowStride,
      g.aColStride,
      g.b,
      g.bOffsets,
      g.bRowStride,
      g.bColStride,
      g.out,
      packed,
    );
  }

  /** The bf16 product on the AVX512-BF16 kernel: float32, B shared by the batch (packed once when cached); false
   *  when g is not such a product. */
  private gemmBf16(g: GemmArgs): boolean {
    if (
      !(g.a instanceof Float32Array) ||
      !(g.b instanceof Float32Array) ||
      !(g.out instanceof Float32Array) ||
      g.batch === 0 ||
      g.m === 0 ||
      g.n === 0 ||
      g.k === 0 ||
      !sharedB(g)
    )
      return false;
    const b = g.b;
    const pack = (): ArrayBuffer => this.addon.bf16PackB!(b, g.bOffsets[0]!, g.bRowStride, g.bColStride, g.k, g.n);
    const packed = g.bCache ? this.packedBf16.get(g, pack) : pack();
    this.addon.bf16Gemm!(g.batch, g.m, g.n, g.k, g.a, g.aOffsets, g.aRowStride, g.aColStride, g.out, packed);
    return true;
  }

  softmax(
    x: Float32Array | Float64Array,
    rows: number,
    cols: number,
    out: Float32Array | Float64Array,
    opts: SoftmaxOptions = {},
  ): void {
    if (!(x instanceof Float32Array) || !(out instanceof Float32Array) || !(rows * cols >= NATIVE_MIN.softmax)) {
      this.js.softmax(x, rows, cols, out, opts);
      return;
    }
    const c = opts.causal;
    if (c && !(c.qLen > 0)) {
      this.js.softmax(x, rows, cols, out, opts);
      return;
    }
    this.addon.softmaxF32(x, rows, cols, out, !!opts.log, c ? c.qLen : 0, c ? c.kOffset : 0);
  }

  softmaxBackward(
    y: Float32Array | Float64Array,
    g: Float32Array | Float64Array,
    rows: number,
    cols: number,
    out: Float32Array | Float64Array,
    log: boolean,
  ): void {
    if (
      !(y instanceof Float32Array) ||
      !(g instanceof Float32Array) ||
      !(out instanceof Float32Array) ||
      !(rows * cols >= NATIVE_MIN.softmax) ||
      !this.addon.softmaxBackwardF32
    ) {
      this.js.softmaxBackward(y, g, rows, cols, out, log);
      return;
    }
    this.addon.softmaxBackwardF32(y, g, rows, cols, out, log);
  }

  geluNewBackward(
    x: Float32Array | Float64Array,
    g: Float32Array | Float64Array,
    out: Float32Array | Float64Array,
  ): void {
    if (
      !(x instanceof Float32Array) ||
      !(g instanceof Float32Array) ||
      !(out instanceof Float32Array) ||
      !(x.length >= NATIVE_MIN.unary) ||
      !this.addon.geluNewBackwardF32
    ) {
      this.js.geluNewBackward(x, g, out);
      return;
    }
    this.addon.geluNewBackwardF32(x, g, out);
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
    if (!(rows * d >= NATIVE_MIN.layerNorm) || d === 0) {
      this.js.layerNorm(x, rows, d, eps, w, b, out, scaleOut);
      return;
    }
    this.addon.layerNormF32(x, rows, d, eps, w, b, out, scaleOut);
  }
}

let addonCache: NativeAddon | null | undefined;

/** The addon with each function's throws (the type and bounds checks of native/*.c throw a plain Error or
 *  TypeError) re-thrown as BackendErrors with the same message and the original as `cause`. */
function guarded(addon: NativeAddon): NativeAddon {
  const raw = addon as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(raw)) {
    const fn = raw[key];
    out[key] =
      typeof fn !== "function"
        ? fn
        : (...args: unknown[]): unknown => {
            try {
              return (fn as (...a: unknown[]) => unknown)(...args);
            } catch (e) {
              throw new BackendError(e instanceof Error ? e.message : String(e), { cause: e });
            }
          };
  }
  return out as unknown as NativeAddon;
}

/** Loads build/Release/tlens_native.node (two levels above this module, in src/ and dist/ alike), its functions
 *  throwing BackendErrors; null when it is missing or fails to load (then the JS backend is used). */
export function loadNativeAddon(): NativeAddon | null {
  if (addonCache !== undefined) return addonCache;
  addonCache = null;
  try {
    const require = createRequire(import.meta.url);
    const addon = require(
      fileURLToPath(new URL("../../build/Release/tlens_native.node", import.meta.url)),
    ) as NativeAddon;
    if (typeof addon?.unaryF32 === "function" && typeof addon.softmaxF32 === "function") addonCache = guarded(addon);
  } catch {
    addonCache = null;
  }
  return addonCache;
}

export function loadNativeBackend(): Backend | null {
  const addon = loadNativeAddon();
  return addon ? new NativeBackend(addon) : null;
}
