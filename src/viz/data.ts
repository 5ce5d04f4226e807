// Turning tensors and arrays into the plain nested number arrays a plotly figure holds.
import { VizError } from "../errors.js";
import { Tensor } from "../tensor/index.js";

/** Anything 1-D: a Tensor, a number array or a typed array. */
export type Values1D = Tensor | readonly number[] | ArrayLike<number>;
/** Anything n-D: a Tensor or nested number arrays. */
export type ValuesND = Tensor | readonly unknown[] | ArrayLike<number>;

// viz's error (src/errors.ts, where the viewers' page script can reach it), re-exported for the figure modules
export { VizError };

/** A finite number, or null (plotly's gap) for NaN/±Inf. */
function clean(v: unknown): number | null {
  const n = typeof v === "bigint" ? Number(v) : typeof v === "boolean" ? Number(v) : (v as number);
  if (typeof n !== "number") throw new VizError(`expected numbers, got ${typeof v}`);
  return Number.isFinite(n) ? n : null;
}

/** Shape of a tensor or a rectangular nested array (throws on ragged arrays). */
export function shapeOf(x: ValuesND): number[] {
  if (x instanceof Tensor) return [...x.shape];
  const shape: number[] = [];
  let cur: unknown = x;
  while (cur !== null && typeof cur === "object" && "length" in (cur as object)) {
    const arr = cur as ArrayLike<unknown>;
    shape.push(arr.length);
    if (arr.length === 0) break;
    cur = arr[0];
  }
  return shape;
}

/** Nested arrays of (number | null), NaN/Inf as null. */
export function toNested(x: ValuesND): unknown {
  if (x instanceof Tensor) {
    const t = x.dtype === "float32" || x.dtype === "float64" ? x : x.to("float64");
    return toNested(t.toArray() as unknown[]);
  }
  const walk = (v: unknown, depth: number, want: number[]): unknown => {
    if (depth === want.length) return clean(v);
    const arr = v as ArrayLike<unknown>;
    if (arr === null || typeof arr !== "object" || !("length" in arr))
      throw new VizError(`ragged array: expected ${want.length} dims`);
    if (arr.length !== want[depth])
      throw new VizError(`ragged array: dim ${depth} has length ${arr.length}, expected ${want[depth]}`);
    const out = new Array<unknown>(arr.length);
    for (let i = 0; i < arr.length; i++) out[i] = walk(arr[i], depth + 1, want);
    return out;
  };
  return walk(x, 0, shapeOf(x));
}

export function to1D(x: Values1D, what = "values"): (number | null)[] {
  const shape = shapeOf(x as ValuesND);
  const n = shape.reduce((a, b) => a * b, 1);
  if (shape.length !== 1 && !(shape.length > 1 && shape.filter((d) => d !== 1).length <= 1)) {
    throw new VizError(`${what}: expected a 1-D array, got shape [${shape}]`);
  }
  const nested = toNested(x as ValuesND);
  const flat =
    shape.length === 1
      ? (nested as (number | null)[])
      : ((nested as unknown[]).flat(shape.length) as (number | null)[]);
  if (flat.length !== n) throw new VizError(`${what}: could not flatten shape [${shape}]`);
  return flat;
}

export function to2D(x: ValuesND, what = "values"): (number | null)[][] {
  const shape = shapeOf(x);
  if (shape.length === 1) return [toNested(x) as (number | null)[]];
  if (shape.length !== 2) throw new VizError(`${what}: expected a 2-D array, got shape [${shape}]`);
  return toNested(x) as (number | null)[][];
}

/** Moves axis `axis` of a nested array to the front (for facets and animation frames). */
export function moveAxisToFront(nested: unknown, shape: number[], axis: number): unknown[] {
  if (axis === 0) return nested as unknown[];
  const get = (arr: unknown, idx: number[]): unknown => idx.reduce((a: unknown, i) => (a as unknown[])[i], arr);
  const rest = shape.filter((_, i) => i !== axis);
  const build = (fixed: number, depth: number, prefix: number[]): unknown => {
    if (depth === rest.length) {
      const full = [...prefix];
      full.splice(axis, 0, fixed);
      return get(nested, full);
    }
    return Array.from({ length: rest[depth]! }, (_, i) => build(fixed, depth + 1, [...prefix, i]));
  };
  return Array.from({ length: shape[axis]! }, (_, i) => build(i, 0, []));
}

export function flatNumbers(nested: unknown): number[] {
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (typeof v === "number" && Number.isFinite(v)) out.push(v);
  };
  walk(nested);
  return out;
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export function toStrings(x: readonly unknown[] | undefined): string[] | undefined {
  return x === undefined ? undefined : x.map((v) => String(v));
}
