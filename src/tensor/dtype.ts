// Dtypes: storage arrays and type promotion (torch's rules, restricted to tlens's four dtypes).
import type { DType, TypedArray } from "../backend/types.js";

export type { DType, TypedArray };

export const DTYPES: readonly DType[] = ["float32", "int32", "bool", "float64"];

export function allocate(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(n);
    case "int32":
      return new Int32Array(n);
    case "bool":
      return new Uint8Array(n);
    case "float64":
      return new Float64Array(n);
  }
}

export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Uint8Array) return "bool";
  return "float64";
}

export function isFloat(d: DType): boolean {
  return d === "float32" || d === "float64";
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** Result dtype of a binary op between tensors. */
export function promote(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Result dtype of tensor ∘ JS number: a number never widens a float tensor; a non-integer makes ints float32. */
export function promoteWithScalar(a: DType, scalar: number): DType {
  if (isFloat(a)) return a;
  if (!Number.isInteger(scalar)) return "float32";
  return a === "bool" ? "int32" : a;
}
