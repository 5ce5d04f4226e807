// Iteration over strided views for the JS backend's kernels (and GEMM's batch offsets): merge dims that are laid out
// contiguously for every operand, then walk the outer dims once and let each kernel run a tight loop over the
// innermost one. The native and wasm backends walk views in C (native/ops_api.h's drivers) instead.

/** Drops size-1 dims and merges neighbours that are contiguous for every operand. A rank-0 input becomes [1]. */
export function collapseDims(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    const mergeable = last >= 0 && strides.every((s, i) => outStrides[i]![last] === s[d]! * shape[d]!);
    if (mergeable) {
      outShape[last]! *= shape[d]!;
      strides.forEach((s, i) => {
        outStrides[i]![last] = s[d]!;
      });
    } else {
      outShape.push(shape[d]!);
      strides.forEach((s, i) => outStrides[i]!.push(s[d]!));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [1]) };
  return { shape: outShape, strides: outStrides };
}

/** Offsets of the first element of every innermost run: all dims but the last, in row-major order. */
export function outerOffsets(shape: readonly number[], strides: readonly number[], base: number): Float64Array {
  const rank = shape.length - 1;
  let count = 1;
  for (let d = 0; d < rank; d++) count *= shape[d]!;
  const out = new Float64Array(count);
  if (count === 0) return out;
  const idx = new Array<number>(rank).fill(0);
  let off = base;
  for (let i = 0; i < count; i++) {
    out[i] = off;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      off += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      off -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Row-major strides of a contiguous tensor of this shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}
