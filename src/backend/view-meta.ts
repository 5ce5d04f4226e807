// View metadata of the C op drivers (native/ops_api.h), shared by the native and the wasm backends: the doubles
// [offset, rank, ...shape, ...strides] of one view, or [offsetA, offsetB, rank, ...shape, ...stridesA, ...stridesB]
// of two views over one shape. Offsets are relative to `base` (where element 0 of the buffer the C side sees sits).
import type { View } from "./types.js";

/** The highest rank the drivers take (TL_MAXDIM). */
export const MAX_RANK = 64;

/** Doubles of the metadata of `views` views of this rank. */
export function metaLength(rank: number, views: 1 | 2): number {
  return views + 1 + rank * (1 + views);
}

/** Writes one view's metadata into m from index `at`; returns its length. */
export function writeViewMeta(m: Float64Array, at: number, x: View, base = 0): number {
  const rank = x.shape.length;
  m[at] = x.offset - base;
  m[at + 1] = rank;
  for (let i = 0; i < rank; i++) {
    m[at + 2 + i] = x.shape[i]!;
    m[at + 2 + rank + i] = x.strides[i]!;
  }
  return metaLength(rank, 1);
}

/** Writes the metadata of two views over a's shape into m from index `at`; returns its length. */
export function writePairMeta(m: Float64Array, at: number, a: View, b: View, baseA = 0, baseB = 0): number {
  const rank = a.shape.length;
  m[at] = a.offset - baseA;
  m[at + 1] = b.offset - baseB;
  m[at + 2] = rank;
  for (let i = 0; i < rank; i++) {
    m[at + 3 + i] = a.shape[i]!;
    m[at + 3 + rank + i] = a.strides[i]!;
    m[at + 3 + 2 * rank + i] = b.strides[i]!;
  }
  return metaLength(rank, 2);
}
