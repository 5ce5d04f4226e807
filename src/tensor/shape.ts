// Shape arithmetic shared by the tensor ops: broadcasting, dim normalisation, slice parsing.
import { IndexError, ShapeError } from "../errors.js";

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** numpy/torch broadcasting of any number of shapes; `op` names the op in the error. */
export function broadcastShapes(op: string, ...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const d = rank - s.length + i;
      if (s[i] === out[d] || s[i] === 1) continue;
      if (out[d] === 1) out[d] = s[i]!;
      else
        throw new ShapeError(
          `${op}: shapes ${shapes.map(fmtShape).join(" and ")} cannot be broadcast together (dim ${d - rank}: ${out[d]} vs ${s[i]})`,
        );
    }
  }
  return out;
}

/** Strides that make a view of (shape, strides) appear with `target` shape (0 on broadcast dims). */
export function broadcastStrides(
  shape: readonly number[],
  strides: readonly number[],
  target: readonly number[],
  op: string,
): number[] {
  const out = new Array<number>(target.length).fill(0);
  const lead = target.length - shape.length;
  if (lead < 0) throw new ShapeError(`${op}: cannot broadcast shape ${fmtShape(shape)} to ${fmtShape(target)}`);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === target[lead + i]) out[lead + i] = shape[i] === 1 ? 0 : strides[i]!;
    else if (shape[i] === 1) out[lead + i] = 0;
    else throw new ShapeError(`${op}: cannot broadcast shape ${fmtShape(shape)} to ${fmtShape(target)}`);
  }
  return out;
}

/** A dim index in [-rank, rank) made non-negative. */
export function normDim(dim: number, rank: number, op: string): number {
  if (!Number.isInteger(dim)) throw new IndexError(`${op}: dim must be an integer, got ${dim}`);
  const r = Math.max(rank, 1);
  if (dim < -r || dim >= r)
    throw new IndexError(
      `${op}: dim ${dim} is out of range for a tensor with ${rank} dims (expected -${r} ≤ dim < ${r})`,
    );
  return dim < 0 ? dim + r : dim;
}

export function normDims(dims: number | readonly number[] | undefined, rank: number, op: string): number[] {
  if (dims === undefined) return [...Array(rank).keys()];
  const list = typeof dims === "number" ? [dims] : [...dims];
  const out = list.map((d) => normDim(d, rank, op));
  if (new Set(out).size !== out.length) throw new IndexError(`${op}: dim ${list.join(", ")} repeats a dim`);
  return out.sort((a, b) => a - b);
}

/** A Python-style slice of a dim of `size`: start, step and element count. */
export function resolveSlice(spec: string, size: number, dim: number): { start: number; step: number; count: number } {
  const parts = spec.split(":");
  if (parts.length > 3) throw new IndexError(`bad slice "${spec}" for dim ${dim}`);
  const num = (s: string | undefined): number | undefined => {
    if (s === undefined || s.trim() === "") return undefined;
    const v = Number(s);
    if (!Number.isInteger(v)) throw new IndexError(`bad slice "${spec}" for dim ${dim}: "${s}" is not an integer`);
    return v;
  };
  const step = num(parts[2]) ?? 1;
  if (step === 0) throw new IndexError(`slice "${spec}" for dim ${dim}: step cannot be zero`);
  let start = num(parts[0]);
  let stop = num(parts[1]);
  if (step > 0) {
    start = start === undefined ? 0 : start < 0 ? Math.max(0, start + size) : Math.min(start, size);
    stop = stop === undefined ? size : stop < 0 ? Math.max(0, stop + size) : Math.min(stop, size);
    return { start, step, count: Math.max(0, Math.ceil((stop - start) / step)) };
  }
  start = start === undefined ? size - 1 : start < 0 ? Math.max(-1, start + size) : Math.min(start, size - 1);
  stop = stop === undefined ? -1 : stop < 0 ? Math.max(-1, stop + size) : Math.min(stop, size - 1);
  return { start, step, count: Math.max(0, Math.ceil((stop - start) / step)) };
}

/** An integer index into a dim of `size`, negative from the end, checked. */
export function resolveIndex(i: number, size: number, dim: number): number {
  if (!Number.isInteger(i)) throw new IndexError(`index ${i} for dim ${dim} is not an integer`);
  if (i < -size || i >= size) throw new IndexError(`index ${i} is out of range for dim ${dim} with size ${size}`);
  return i < 0 ? i + size : i;
}
