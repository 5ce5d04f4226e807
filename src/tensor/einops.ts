// einops-style named-axis ops: rearrange, reduce and repeat (einops grammar: groups "(h d)", "1", "()", "...",
// sizes), and einsum (einsum.ts: einops / fancy_einsum spaced names, or torch's compact letters), re-exported here.
// Everything is composed from views (reshape/permute/diagonal/expand), the reduction kernels and one
// batched matmul per contracted pair, so nothing loops over elements in JS.
import { numel } from "../backend/strided.js";
import { ShapeError } from "../errors.js";
import { ellName } from "./axis-names.js";
import {
  groupText,
  knownSizes,
  parsePattern,
  type Group,
  type OpName,
  type ReduceKind,
  type Side,
} from "./einops-pattern.js";
import { fmtShape } from "./shape.js";
import { Tensor } from "./tensor.js";

export { einsum } from "./einsum.js";
export type { ReduceKind } from "./einops-pattern.js";

/** The input split into elementary axes: names, "#k" for anonymous ones, ellipsis names; with every size. */
interface Elementary {
  axes: string[];
  sizes: Map<string, number>;
  ellRank: number;
  /** Anonymous axes named so far. */
  anon: number;
}

/** The shared engine: split input dims into elementary axes, reduce what the output drops, permute, add
 *  new (repeated) axes, and merge into the output groups. */
function transform(
  op: OpName,
  t: Tensor,
  pattern: string,
  sizesArg: Record<string, number> | undefined,
  reduceKind?: ReduceKind,
): Tensor {
  if (!(t instanceof Tensor)) throw new ShapeError(`${op}: expected a Tensor as the first argument`);
  const { lhs, rhs, lhsEll } = parsePattern(op, pattern);
  const known = knownSizes(op, pattern, lhs, rhs, sizesArg);
  const input = splitInput(op, t, lhs, lhsEll, known);
  const elemR = outputAxes(rhs, input, known);
  const flatR = elemR.flat();
  const outputSet = new Set(flatR);
  const { sizes } = input;

  // split, reduce, permute, add new axes, merge
  let x = t.reshape(input.axes.map((a) => sizes.get(a)!));
  let cur = input.axes;
  const dropped = cur.map((a, d) => (outputSet.has(a) ? -1 : d)).filter((d) => d >= 0);
  if (dropped.length) {
    if (op === "reduce") x = reduceDims(x, dropped, reduceKind!);
    else x = x.squeeze(dropped); // anonymous size-1 axes
    cur = cur.filter((a) => outputSet.has(a));
  }
  const present = flatR.filter((a) => cur.includes(a));
  x = x.permute(present.map((a) => cur.indexOf(a)));
  if (flatR.length !== present.length) {
    for (let d = 0; d < flatR.length; d++) if (!cur.includes(flatR[d]!)) x = x.unsqueeze(d);
    // materialise the repeat (no stride-0 views leak out, as torch's repeat)
    x = x.expand(flatR.map((a) => sizes.get(a)!)).contiguous();
  }
  return x.reshape(elemR.map((ids) => numel(ids.map((a) => sizes.get(a)!))));
}

/** Matches the input groups to t's dims and splits them into elementary axes, inferring unknown sizes. */
function splitInput(op: OpName, t: Tensor, lhs: Side, lhsEll: boolean, known: Map<string, number>): Elementary {
  const nGroups = lhs.groups.length - (lhsEll ? 1 : 0);
  if (lhsEll ? t.ndim < nGroups : t.ndim !== nGroups) {
    throw new ShapeError(
      `${op}: the input has ${t.ndim} dims (shape ${fmtShape(t.shape)}) but "${lhs.text}" names ${nGroups}${lhsEll ? ' besides "..."' : ""}`,
    );
  }
  const e: Elementary = { axes: [], sizes: new Map(), ellRank: t.ndim - nGroups, anon: 0 };
  let dim = 0;
  for (const g of lhs.groups) {
    if (g.axes.length === 1 && g.axes[0]!.kind === "ellipsis") {
      for (let j = 0; j < e.ellRank; j++, dim++) {
        e.axes.push(ellName(j));
        e.sizes.set(ellName(j), t.shape[dim]!);
      }
      continue;
    }
    for (const id of splitGroup(op, g, t.shape[dim++]!, known, e)) {
      e.axes.push(id);
      if (!id.startsWith("#")) e.sizes.set(id, known.get(id)!);
    }
  }
  return e;
}

/** The elementary axes of one input group over a dim of `size`; infers its one unknown size into `known`. */
function splitGroup(op: OpName, g: Group, size: number, known: Map<string, number>, e: Elementary): string[] {
  const ids: string[] = [];
  let product = 1;
  const unknown: string[] = [];
  for (const a of g.axes) {
    if (a.kind === "num") {
      const id = `#${e.anon++}`;
      ids.push(id);
      e.sizes.set(id, a.size);
      product *= a.size;
    } else if (a.kind === "name") {
      ids.push(a.name);
      const s = known.get(a.name);
      if (s === undefined) unknown.push(a.name);
      else product *= s;
    }
  }
  if (unknown.length > 1) {
    throw new ShapeError(
      `${op}: cannot infer the sizes of ${unknown.map((u) => `"${u}"`).join(" and ")} in ${groupText(g, known)} (an axis of size ${size}); pass all but one in sizes`,
    );
  }
  if (unknown.length === 1) {
    if (product === 0 || size % product !== 0) {
      throw new ShapeError(`${op}: cannot split axis of size ${size} into ${groupText(g, known)}`);
    }
    known.set(unknown[0]!, size / product);
  } else if (product !== size) {
    if (!g.paren && g.axes.length === 1 && g.axes[0]!.kind === "name") {
      throw new ShapeError(`${op}: axis "${g.axes[0]!.name}" has size ${size} in the input but sizes gives ${product}`);
    }
    throw new ShapeError(`${op}: cannot split axis of size ${size} into ${groupText(g, known)}`);
  }
  return ids;
}

/** The elementary axes of each output dim; records the sizes of repeat's new axes (named or anonymous) in e. */
function outputAxes(rhs: Side, e: Elementary, known: Map<string, number>): string[][] {
  const inputSet = new Set(e.axes);
  const elemR: string[][] = rhs.groups.flatMap((g) => {
    // a bare "..." is one output dim per ellipsis dim; "(...)" merges them
    if (!g.paren && g.axes[0]!.kind === "ellipsis") return [...Array(e.ellRank).keys()].map((j) => [ellName(j)]);
    const ids: string[] = [];
    for (const a of g.axes) {
      if (a.kind === "ellipsis") for (let j = 0; j < e.ellRank; j++) ids.push(ellName(j));
      else if (a.kind === "name") ids.push(a.name);
      else if (a.size !== 1) {
        const id = `#${e.anon++}`;
        ids.push(id);
        e.sizes.set(id, a.size);
      }
      // an anonymous 1 contributes a factor of 1: nothing
    }
    return [ids];
  });
  for (const a of elemR.flat()) if (!inputSet.has(a) && !a.startsWith("#")) e.sizes.set(a, known.get(a)!); // repeat's new axes
  return elemR;
}

function reduceDims(x: Tensor, dims: number[], kind: ReduceKind): Tensor {
  switch (kind) {
    case "sum":
      return x.sum(dims);
    case "mean":
      return x.mean(dims);
    case "max":
      return x.amax(dims);
    case "min":
      return x.amin(dims);
    case "prod":
      return x.prod(dims);
    default:
      throw new ShapeError(
        `reduce: unknown reduction "${String(kind)}" (expected "sum", "mean", "max", "min" or "prod")`,
      );
  }
}

/** rearrange(t, "b (h d) -> b h d", { h: 12 }): split, merge, permute, add or drop unit axes. A view when
 *  possible. */
export function rearrange(t: Tensor, pattern: string, sizes?: Record<string, number>): Tensor {
  return transform("rearrange", t, pattern, sizes);
}

/** reduce(t, "b pos d -> b d", "mean"): reduces the input axes missing from the output (also anonymous
 *  ones such as the 2s in "(h 2) (w 2) -> h w", and "..." when the output has none). */
export function reduce(t: Tensor, pattern: string, op: ReduceKind, sizes?: Record<string, number>): Tensor {
  if (!["sum", "mean", "max", "min", "prod"].includes(op)) {
    throw new ShapeError(`reduce: unknown reduction "${String(op)}" (expected "sum", "mean", "max", "min" or "prod")`);
  }
  return transform("reduce", t, pattern, sizes, op);
}

/** repeat(t, "d -> b d", { b: 4 }): like rearrange, with new axes (named with sizes, or numbers) in the
 *  output. Always returns a fresh tensor when anything is repeated. */
export function repeat(t: Tensor, pattern: string, sizes?: Record<string, number>): Tensor {
  return transform("repeat", t, pattern, sizes);
}
