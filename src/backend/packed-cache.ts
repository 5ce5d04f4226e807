// Packed copies of reused GEMM B operands (weights), shared by the native and wasm backends: per
// GemmArgs.bCache.key, one per layout (a weight is read as W in the forward and as Wᵀ in backward, and the two
// must not evict each other every step); each valid while the key's version, the buffer, the offset and the
// layout are those it was packed from.
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

/** Layouts kept per key: W and Wᵀ. */
const LAYOUTS = 2;

export class PackedBCache<P> {
  private readonly entries = new WeakMap<object, Entry<P>[]>();
  private readonly finalizer: FinalizationRegistry<P> | null;

  /** free: releases a packed copy (wasm memory) when it is replaced or its key is garbage-collected. */
  constructor(private readonly free: ((packed: P) => void) | null = null) {
    this.finalizer = free ? new FinalizationRegistry<P>(free) : null;
  }

  /** The packed B of g (g.bCache set, g.batch > 0, B shared by every batch entry), packing it when needed. */
  get(g: GemmArgs, pack: () => P): P {
    const key = g.bCache!.key;
    const offset = g.bOffsets[0]!;
    const list = this.entries.get(key) ?? [];
    const sameLayout = (e: Entry<P>): boolean =>
      e.rowStride === g.bRowStride && e.colStride === g.bColStride && e.k === g.k && e.n === g.n;
    const hit = list.find(
      (e) => e.version === g.bCache!.version && e.b === g.b && e.offset === offset && sameLayout(e),
    );
    if (hit) return hit.packed;
    // a stale copy of this layout, or the oldest one when every slot is taken, makes room
    const stale = list.findIndex((e) => sameLayout(e) || e.version !== g.bCache!.version || e.b !== g.b);
    const drop = stale >= 0 ? stale : list.length >= LAYOUTS ? 0 : -1;
    if (drop >= 0) {
      const [e] = list.splice(drop, 1);
      this.finalizer?.unregister(e!);
      this.free?.(e!.packed);
    }
    const entry: Entry<P> = {
      version: g.bCache!.version,
      b: g.b,
      offset,
      rowStride: g.bRowStride,
      colStride: g.bColStride,
      k: g.k,
      n: g.n,
      packed: pack(),
    };
    list.push(entry);
    this.entries.set(key, list);
    this.finalizer?.register(key, entry.packed, entry);
    return entry.packed;
  }
}
