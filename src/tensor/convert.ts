// Turning user data (nested arrays, typed arrays) into flat storage with a shape.
import { ShapeError } from "../errors.js";
import { allocate, dtypeOfArray, type DType, type TypedArray } from "./dtype.js";
import type { Tensor } from "./tensor.js";

export type NestedArray = number | boolean | NestedArray[];
export type TensorLike =
  | Tensor
  | number
  | number[]
  | number[][]
  | number[][][]
  | number[][][][]
  | boolean[]
  | boolean[][]
  | NestedArray[]
  | TypedArray;

/** Flattens nested arrays or a typed array; the dtype is `dtype`, else the typed array's, else bool for
 *  booleans and float32 for numbers (torch's default, also for integer values). */
export function flattenNested(
  x: Exclude<TensorLike, Tensor | number>,
  shape?: readonly number[],
  dtype?: DType,
): { data: TypedArray; shape: number[] } {
  if (ArrayBuffer.isView(x)) {
    const src = x as TypedArray;
    const target = dtype ?? dtypeOfArray(src);
    const data = target === dtypeOfArray(src) ? src : copyInto(allocate(target, src.length), src, target);
    return { data, shape: shape ? [...shape] : [src.length] };
  }
  const inferred: number[] = [];
  let probe: unknown = x;
  while (Array.isArray(probe)) {
    inferred.push(probe.length);
    probe = probe[0];
  }
  const flat: (number | boolean)[] = [];
  const walk = (v: unknown, dim: number, path: string): void => {
    if (dim === inferred.length) {
      if (typeof v !== "number" && typeof v !== "boolean")
        throw new ShapeError(
          `tensor: element ${path} is ${Array.isArray(v) ? "an array" : typeof v}; nested arrays must be rectangular arrays of numbers`,
        );
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== inferred[dim]) {
      throw new ShapeError(
        `tensor: ragged nested array: ${path || "the input"} has ${Array.isArray(v) ? `length ${v.length}` : "no array"} where length ${inferred[dim]} was expected at dim ${dim}`,
      );
    }
    v.forEach((e, i) => walk(e, dim + 1, `${path}[${i}]`));
  };
  walk(x, 0, "");
  const target = dtype ?? (typeof flat[0] === "boolean" ? "bool" : "float32");
  const data = allocate(target, flat.length);
  for (let i = 0; i < flat.length; i++) data[i] = Number(flat[i]);
  if (target === "bool")
    for (let i = 0; i < flat.length; i++)
      data[i] = flat[i] === true || (typeof flat[i] === "number" && flat[i] !== 0) ? 1 : 0;
  return { data, shape: shape ? [...shape] : inferred };
}

function copyInto(dst: TypedArray, src: TypedArray, dtype: DType): TypedArray {
  if (dtype === "bool") for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
  else dst.set(src);
  return dst;
}
