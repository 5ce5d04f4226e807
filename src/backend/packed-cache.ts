// Packed copies of reused GEMM B operands (weights), shared by the native and wasm backends: one per
// GemmArgs.bCache.key, valid while the key's version, the buffer, the offset and the layout are those it was packed from.
import type { GemmArgs } from "./types.js";

interface Entry<P> {
  version: number;
  b: Float32Array | Float64Array;
  offset: number;
  rowStride: number;
  colStride: number;
  k: number;
  n: number;
  packed: P;
}

export class PackedBCache<P> {
  private readonly entries = new WeakMap<object, Entry<P>>();
  private readonly finalizer: FinalizationRegistry<P> | null;

  /** free: releases a packed copy (wasm memory) when it is replaced or its key is garbage-collected. */
  constructor(private readonly free: ((packed: P) => void) | null = null) {
    this.finalizer = free ? new FinalizationRegistry<P>(free) : null;
  }

  /** The packed B of g (g.bCache set, g.batch > 0, B shared by every batch entry), packing it when needed. */
  get(g: GemmArgs, pack: () => P): P {
    const key = g.bCache!.key;
    const offset = g.bOffsets[0];
    const e = this.entries.get(key);
    if (e && e.version === g.bCache!.version && e.b === g.b && e.offset === offset && e.rowStride === g.bRowStride &&
      e.colStride === g.bColStride && e.k === g.k && e.n === g.n) return e.packed;
    if (e) {
      this.entries.delete(key);
      this.finalizer?.unregister(e);
      this.free?.(e.packed);
    }
    const entry: Entry<P> = {
      version: g.bCache!.version, b: g.b, offset, rowStride: g.bRowStride, colStride: g.bColStride, k: g.k, n: g.n, packed: pack(),
    };
    this.entries.set(key, entry);
    this.finalizer?.register(key, entry.packed, entry);
    return entry.packed;
  }
}
