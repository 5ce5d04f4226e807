// The wasm backend: the native build's C kernels (the GEMM core native/gemm_*.c; the strided op drivers of
// native/ops_api.h, the very ones the N-API addon calls, over ops_generic.c via ops_kern.h) compiled to WebAssembly
// with SIMD128 (native/wasm/, scripts/build-wasm.mjs): tlens.wasm runs on one thread;
// tlens-mt.wasm shares its memory with helper workers that take part in GEMM and the other kernels' parallel loops
// (the environment starts them: a Web Worker in the browser, see createWasmBackend's `threads`). Operands live in
// JS typed arrays, so each call stages them in the module's memory and copies the result out; that pays for GEMM,
// softmax, layer norm and the transcendental elementwise ops, not for the cheapest loops. Each staged view travels with
// its metadata (view-meta.ts) and the C drivers walk any layout. float32 only: other dtypes, ops without a kernel,
// copies and small inputs go to the JS backend.
// No Node built-ins: the same file runs in a page, a Web Worker and Node.
import { BackendError } from "../errors.js";
import { emulatedBf16 } from "./bf16.js";
import { JsBackend } from "./js.js";
import { BINARY_CODES, COMPARE_FIRST, REDUCE_CODES, UNARY_CODES } from "./op-codes.js";
import { PackedBCache } from "./packed-cache.js";
import { numel } from "./strided.js";
import type { Backend, BinaryOp, GemmArgs, ReduceOp, SoftmaxOptions, TypedArray, UnaryOp, View } from "./types.js";
import { MAX_RANK, metaLength, writePairMeta, writeViewMeta } from "./view-meta.js";

/** What native/wasm/tlens_wasm.c exports (pointers are byte addresses in `memory`). */
export interface WasmKernels {
  memory: WebAssembly.Memory;
  _initialize?(): void;
  tl_malloc(bytes: number): number;
  tl_free(ptr: number): void;
  // The strided op drivers of native/ops_api.h (lengths in elements; meta: mlen doubles, see view-meta.ts); each
  // returns 0 or the address of a NUL-terminated message.
  tl_unary(op: number, x: number, xLen: number, y: number, yLen: number, meta: number, mLen: number): number;
  tl_binary(
    op: number,
    a: number,
    aLen: number,
    b: number,
    bLen: number,
    y: number,
    yLen: number,
    meta: number,
    mLen: number,
  ): number;
  tl_reduce(
    op: number,
    x: number,
    xLen: number,
    out: number,
    outLen: number,
    nReduced: number,
    meta: number,
    mLen: number,
  ): number;
  tl_softmax(x: number, y: number, rows: number, cols: number, log: number, qLen: number, kOffset: number): number;
  tl_layernorm(x: number, y: number, rows: number, d: number, eps: number, w: number, b: number, scale: number): number;
  tl_sgemm(
    batch: number,
    m: number,
    n: number,
    k: number,
    a: number,
    aOff: number,
    ars: number,
    acs: number,
    b: number,
    bOff: number,
    brs: number,
    bcs: number,
    bPacked: number,
    out: number,
  ): number;
  tl_gemm_packed_floats(k: number, n: number): number;
  tl_gemm_pack(b: number, rs: number, cs: number, k: number, n: number, dst: number): void;
  /** tlens-mt.wasm only: the pool size, and a helper thread's loop (never returns). */
  tl_pool_set_threads?(n: number): void;
  tl_worker_loop?(thread: number): void;
  __stack_pointer?: WebAssembly.Global;
}

/** What a helper thread of tlens-mt.wasm needs: the module, the shared memory, its index and its stack. */
export interface WasmHelperInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  thread: number;
  /** One past the top of the helper's stack (stacks grow down), in the shared memory. */
  stackTop: number;
}

export interface WasmThreadOptions {
  /** Threads in all, the caller included (> 1). */
  count: number;
  /** Starts helper `init.thread` (a Web Worker, a worker_thread) that calls runWasmHelper(init, ready); resolves once
   *  it called ready. */
  spawn(init: WasmHelperInit): Promise<void>;
}

/** Below these element counts the work stays in JS: staging the operands in and out would cost about what the JS
 *  loop does (estimates from the staging copies' cost, not tuned per op). */
export const WASM_MIN = { unary: 256, binary: 1024, reduce: 256, softmax: 64, layerNorm: 64 };
/** Cheap unary ops stay in JS: one staging copy in and one out cost more than the loop. */
const JS_UNARY = new Set<UnaryOp>(["neg", "abs", "relu", "square", "reciprocal"]);

// The module imports three WASI calls that only its (never used) stdio teardown references.
const ENOSYS = 52;
const WASI_STUBS = {
  wasi_snapshot_preview1: { fd_close: () => ENOSYS, fd_seek: () => ENOSYS, fd_write: () => ENOSYS },
};

/** 16 MiB initial, 4 GiB maximum: the memory tlens-mt.wasm was linked for (scripts/build-wasm.mjs). */
const SHARED_MEMORY = { initial: 256, maximum: 65536, shared: true };
const HELPER_STACK = 1 << 20;

/** Whether a module is the threaded build (it imports a shared memory). */
export function isThreadedModule(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(module).some((i) => i.module === "env" && i.name === "memory");
}

async function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory | null): Promise<WasmKernels> {
  const imports = memory ? { ...WASI_STUBS, env: { memory } } : WASI_STUBS;
  const instance = await WebAssembly.instantiate(module, imports);
  const k = instance.exports as unknown as WasmKernels;
  return memory ? { ...k, memory } : k;
}

/** A helper thread's body: instantiates the module over the shared memory on its own stack, calls `ready`, then
 *  serves the pool until the thread is terminated. */
export async function runWasmHelper(init: WasmHelperInit, ready: () => void): Promise<void> {
  const k = await instantiate(init.module, init.memory);
  k.__stack_pointer!.value = init.stackTop;
  ready();
  k.tl_worker_loop!(init.thread);
}

/** A view staged into wasm memory: `ptr` is where element `lo` of the source sits, `len` elements from there;
 *  offsets there are off - lo. */
interface Staged {
  ptr: number;
  lo: number;
  len: number;
}

/** [lo, hi) element range a view touches (inclusive span as a half-open range); numel must be > 0. */
function span(v: View): [number, number] {
  let lo = v.offset;
  let hi = v.offset;
  for (let d = 0; d < v.shape.length; d++) {
    const e = (v.shape[d]! - 1) * v.strides[d]!;
    if (e < 0) lo += e;
    else hi += e;
  }
  return [lo, hi + 1];
}

export class WasmBackend implements Backend {
  readonly name = "wasm" as const;
  readonly js = new JsBackend();
  private f32: Float32Array;
  private f64: Float64Array;
  private u8: Uint8Array;
  private scratch = 0;
  private scratchBytes = 0;
  private used = 0;
  private readonly packedB: PackedBCache<number>;

  /** threads: the pool's size (1 for tlens.wasm). */
  constructor(
    readonly k: WasmKernels,
    readonly threads = 1,
  ) {
    this.packedB = new PackedBCache<number>((ptr) => k.tl_free(ptr));
    this.f32 = new Float32Array(k.memory.buffer);
    this.f64 = new Float64Array(k.memory.buffer);
    this.u8 = new Uint8Array(k.memory.buffer);
  }

  /** Typed views of the module's memory, renewed after it grew (growing detaches the old buffer). */
  private heap(): void {
    if (this.f32.buffer !== this.k.memory.buffer) {
      this.f32 = new Float32Array(this.k.memory.buffer);
      this.f64 = new Float64Array(this.k.memory.buffer);
      this.u8 = new Uint8Array(this.k.memory.buffer);
    }
  }

  /** Starts a call needing at most `bytes` of scratch (each allocation rounded up to 64). */
  private begin(bytes: number): void {
    if (bytes > this.scratchBytes) {
      if (this.scratch) this.k.tl_free(this.scratch);
      const size = Math.max(bytes, this.scratchBytes * 2, 1 << 16);
      this.scratch = this.k.tl_malloc(size);
      if (!this.scratch) throw new BackendError(`tlens wasm: out of memory (${size} bytes)`);
      this.scratchBytes = size;
    }
    this.used = 0;
    this.heap();
  }

  private take(bytes: number): number {
    const p = this.scratch + this.used;
    this.used += Math.ceil(bytes / 64) * 64;
    return p;
  }

  /** Copies the elements a float32 view touches into scratch. */
  private stage(v: View<Float32Array>): Staged {
    const [lo, hi] = span(v);
    const ptr = this.take((hi - lo) * 4);
    this.f32.set(v.data.subarray(lo, hi), ptr >> 2);
    return { ptr, lo, len: hi - lo };
  }

  /** Metadata of one staged view, or of two over one shape, in scratch: [address, doubles]. */
  private meta(a: View, sA: Staged, b?: View, sB?: Staged): [number, number] {
    const len = metaLength(a.shape.length, b ? 2 : 1);
    const ptr = this.take(len * 8);
    if (b && sB) writePairMeta(this.f64, ptr >> 3, a, b, sA.lo, sB.lo);
    else writeViewMeta(this.f64, ptr >> 3, a, sA.lo);
    return [ptr, len];
  }

  /** Throws the message a driver returned (an address in memory), if any: a bug here, the views are checked first. */
  private check(err: number): void {
    this.heap();
    if (!err) return;
    let msg = "";
    for (let p = err; this.u8[p] !== 0; p++) msg += String.fromCharCode(this.u8[p]!);
    throw new BackendError(`tlens wasm: ${msg}`);
  }

  private doubles(xs: ArrayLike<number>, minus = 0): number {
    const ptr = this.take(xs.length * 8);
    const at = ptr >> 3;
    for (let i = 0; i < xs.length; i++) this.f64[at + i] = xs[i]! - minus;
    return ptr;
  }

  private static bytesOf(v: View): number {
    const [lo, hi] = span(v);
    return (hi - lo) * 4 + 64;
  }

  private static metaBytes(v: View, views: 1 | 2): number {
    return metaLength(v.shape.length, views) * 8 + 64;
  }

  unary(op: UnaryOp, x: View, out: TypedArray): void {
    const code = UNARY_CODES[op];
    const n = numel(x.shape);
    if (
      code === undefined ||
      JS_UNARY.has(op) ||
      !(x.data instanceof Float32Array) ||
      !(out instanceof Float32Array) ||
      x.shape.length > MAX_RANK ||
      !(n >= WASM_MIN.unary)
    ) {
      this.js.unary(op, x, out);
      return;
    }
    this.begin(WasmBackend.bytesOf(x) + n * 4 + WasmBackend.metaBytes(x, 1));
    const sX = this.stage(x as View<Float32Array>);
    const [meta, mLen] = this.meta(x, sX);
    const y = this.take(n * 4);
    this.check(this.k.tl_unary(code, sX.ptr, sX.len, y, n, meta, mLen));
    out.set(this.f32.subarray(y >> 2, (y >> 2) + n));
  }

  binary(op: BinaryOp, a: View, b: View, out: TypedArray): void {
    const code = BINARY_CODES[op];
    const n = numel(a.shape);
    const cmp = code !== undefined && code >= COMPARE_FIRST;
    if (
      code === undefined ||
      !(a.data instanceof Float32Array) ||
      !(b.data instanceof Float32Array) ||
      !(cmp ? out instanceof Uint8Array : out instanceof Float32Array) ||
      a.shape.length > MAX_RANK ||
      !(n >= WASM_MIN.binary)
    ) {
      this.js.binary(op, a, b, out);
      return;
    }
    this.begin(WasmBackend.bytesOf(a) + WasmBackend.bytesOf(b) + n * 4 + WasmBackend.metaBytes(a, 2));
    const sA = this.stage(a as View<Float32Array>);
    const sB = this.stage(b as View<Float32Array>);
    const [meta, mLen] = this.meta(a, sA, b, sB);
    const y = this.take(n * 4);
    this.check(this.k.tl_binary(code, sA.ptr, sA.len, sB.ptr, sB.len, y, n, meta, mLen));
    if (cmp) out.set(this.u8.subarray(y, y + n));
    else out.set(this.f32.subarray(y >> 2, (y >> 2) + n));
  }

  copy(src: View, dst: View): void {
    this.js.copy(src, dst); // a copy staged through wasm memory would copy twice
  }

  reduce(op: ReduceOp, x: View, nReduced: number, out: TypedArray): void {
    const code = REDUCE_CODES[op];
    const rank = x.shape.length;
    const isArg = op === "argmax" || op === "argmin";
    const count = numel(x.shape.slice(Math.max(0, rank - nReduced)));
    const n = numel(x.shape);
    if (
      code === undefined ||
      nReduced < 0 ||
      nReduced > rank ||
      count === 0 ||
      rank > MAX_RANK ||
      !(x.data instanceof Float32Array) ||
      !(isArg ? out instanceof Int32Array : out instanceof Float32Array) ||
      !(n >= WASM_MIN.reduce)
    ) {
      this.js.reduce(op, x, nReduced, out);
      return;
    }
    const rows = n / count;
    this.begin(WasmBackend.bytesOf(x) + rows * 4 + 64 + WasmBackend.metaBytes(x, 1));
    const sX = this.stage(x as View<Float32Array>);
    const [meta, mLen] = this.meta(x, sX);
    const y = this.take(rows * 4);
    this.check(this.k.tl_reduce(code, sX.ptr, sX.len, y, rows, nReduced, meta, mLen));
    if (isArg) (out as Int32Array).set(new Int32Array(this.k.memory.buffer, y, rows));
    else out.set(this.f32.subarray(y >> 2, (y >> 2) + rows));
  }

  gemm(args: GemmArgs): void {
    const g = emulatedBf16(args);
    if (
      !(g.a instanceof Float32Array) ||
      !(g.b instanceof Float32Array) ||
      !(g.out instanceof Float32Array) ||
      g.batch === 0 ||
      g.m === 0 ||
      g.n === 0
    ) {
      this.js.gemm(g);
      return;
    }
    const packed = g.bCache && g.k > 0 ? this.packed(g as GemmArgs<Float32Array>) : 0;
    const aView = gemmView(g.a, g.aOffsets, g.batch, g.m, g.k, g.aRowStride, g.aColStride);
    const bView = packed ? null : gemmView(g.b, g.bOffsets, g.batch, g.k, g.n, g.bRowStride, g.bColStride);
    const outN = g.batch * g.m * g.n;
    this.begin(aView.bytes + (bView?.bytes ?? 0) + 16 * g.batch + outN * 4 + 256);
    const aPtr = this.stageRange(g.a, aView.lo, aView.hi);
    const aOff = this.doubles(g.aOffsets.subarray(0, g.batch), aView.lo);
    const bPtr = bView ? this.stageRange(g.b, bView.lo, bView.hi) : 0;
    const bOff = bView ? this.doubles(g.bOffsets.subarray(0, g.batch), bView.lo) : 0;
    const y = this.take(outN * 4);
    const rc = this.k.tl_sgemm(
      g.batch,
      g.m,
      g.n,
      g.k,
      aPtr,
      aOff,
      g.aRowStride,
      g.aColStride,
      bPtr,
      bOff,
      g.bRowStride,
      g.bColStride,
      packed,
      y,
    );
    if (rc !== 0) throw new BackendError("tlens wasm: GEMM scratch allocation failed (out of memory)");
    this.heap();
    g.out.set(this.f32.subarray(y >> 2, (y >> 2) + outN));
  }

  private stageRange(data: Float32Array, lo: number, hi: number): number {
    const ptr = this.take((hi - lo) * 4);
    this.f32.set(data.subarray(lo, hi), ptr >> 2);
    return ptr;
  }

  /** B packed once into its own block of wasm memory (freed when replaced or when the key object is collected). */
  private packed(g: GemmArgs<Float32Array>): number {
    return this.packedB.get(g, () => {
      const bView = gemmView(g.b, g.bOffsets, 1, g.k, g.n, g.bRowStride, g.bColStride);
      const ptr = this.k.tl_malloc(this.k.tl_gemm_packed_floats(g.k, g.n) * 4);
      if (!ptr) throw new BackendError("tlens wasm: out of memory packing a weight");
      this.begin(bView.bytes);
      const src = this.stageRange(g.b, bView.lo, bView.hi);
      this.k.tl_gemm_pack(src + (g.bOffsets[0]! - bView.lo) * 4, g.bRowStride, g.bColStride, g.k, g.n, ptr);
      return ptr;
    });
  }

  softmax(
    x: Float32Array | Float64Array,
    rows: number,
    cols: number,
    out: Float32Array | Float64Array,
    opts: SoftmaxOptions = {},
  ): void {
    const c = opts.causal;
    if (
      !(x instanceof Float32Array) ||
      !(out instanceof Float32Array) ||
      !(rows * cols >= WASM_MIN.softmax) ||
      (c && !(c.qLen > 0))
    ) {
      this.js.softmax(x, rows, cols, out, opts);
      return;
    }
    const n = rows * cols;
    this.begin(n * 4 + 64);
    const p = this.stageRange(x, 0, n);
    this.check(this.k.tl_softmax(p, p, rows, cols, opts.log ? 1 : 0, c ? c.qLen : 0, c ? c.kOffset : 0));
    out.set(this.f32.subarray(p >> 2, (p >> 2) + n));
  }

  /** Not in the wasm kernels yet: the JS loops. */
  softmaxBackward(
    y: Float32Array | Float64Array,
    g: Float32Array | Float64Array,
    rows: number,
    cols: number,
    out: Float32Array | Float64Array,
    log: boolean,
  ): void {
    this.js.softmaxBackward(y, g, rows, cols, out, log);
  }

  geluNewBackward(
    x: Float32Array | Float64Array,
    g: Float32Array | Float64Array,
    out: Float32Array | Float64Array,
  ): void {
    this.js.geluNewBackward(x, g, out);
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
    if (!(rows * d >= WASM_MIN.layerNorm) || d === 0) {
      this.js.layerNorm(x, rows, d, eps, w, b, out, scaleOut);
      return;
    }
    const n = rows * d;
    this.begin(n * 4 + 2 * d * 4 + rows * 4 + 256);
    const p = this.stageRange(x, 0, n);
    const wp = w ? this.stageRange(w, 0, d) : 0;
    const bp = b ? this.stageRange(b, 0, d) : 0;
    const sp = scaleOut ? this.take(rows * 4) : 0;
    this.check(this.k.tl_layernorm(p, p, rows, d, eps, wp, bp, sp));
    out.set(this.f32.subarray(p >> 2, (p >> 2) + n));
    if (scaleOut) scaleOut.set(this.f32.subarray(sp >> 2, (sp >> 2) + rows));
  }
}

/** The element range [lo, hi) the operands of a batched GEMM touch ([rows, cols] per batch entry), and its bytes. */
function gemmView(
  data: Float32Array,
  offsets: Float64Array,
  batch: number,
  rows: number,
  cols: number,
  rs: number,
  cs: number,
): { lo: number; hi: number; bytes: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < batch; i++) {
    const [l, h] = span({ data, offset: offsets[i]!, shape: [rows, cols], strides: [rs, cs] });
    lo = Math.min(lo, l);
    hi = Math.max(hi, h);
  }
  if (rows === 0 || cols === 0) hi = lo = 0;
  return { lo, hi, bytes: (hi - lo) * 4 + 64 };
}

/**
 * The wasm backend over tlens.wasm, or over tlens-mt.wasm with `threads` (its memory is a SharedArrayBuffer: in a
 * page that needs cross-origin isolation). Helpers are started before the pool counts them.
 */
export async function createWasmBackend(
  source: BufferSource | WebAssembly.Module,
  opts: { threads?: WasmThreadOptions } = {},
): Promise<WasmBackend> {
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
  const threaded = isThreadedModule(module);
  const memory = threaded ? new WebAssembly.Memory(SHARED_MEMORY) : null;
  const k = await instantiate(module, memory);
  k._initialize?.();
  const count = threaded ? Math.max(1, Math.floor(opts.threads?.count ?? 1)) : 1;
  if (count > 1) {
    const helpers = [];
    for (let thread = 1; thread < count; thread++) {
      const stack = k.tl_malloc(HELPER_STACK);
      if (!stack) throw new BackendError("tlens wasm: out of memory for a helper's stack");
      helpers.push(opts.threads!.spawn({ module, memory: memory!, thread, stackTop: stack + HELPER_STACK }));
    }
    await Promise.all(helpers);
    k.tl_pool_set_threads!(count);
  }
  return new WasmBackend(k, count);
}
