// einsum over named axes: each operand's "..." expanded, repeated axes taken as diagonals, axes found in one
// operand only summed away, then the pair contractions (one batched matmul each) in a greedy order.
import { numel } from "../backend/strided.js";
import { ShapeError } from "../errors.js";
import { ellName, isEll } from "./axis-names.js";
import { parseEinsum, type ParsedEinsum, type Term } from "./einsum-parse.js";
import { fmtShape } from "./shape.js";
import { Tensor } from "./tensor.js";

/** An operand in flight: a tensor and one axis name per dim. */
interface Operand {
  t: Tensor;
  axes: string[];
}

/** einsum(pattern, ...operands): "batch pos d_model, d_model d_head -> batch pos d_head", or torch's
 *  "bij,bjk->bik". `...` stands for broadcast leading dims. Also accepts einops' argument order
 *  einsum(a, b, pattern). Without "->" the output is the ellipsis dims, then the axes that appear exactly
 *  once, in alphabetical order (numpy/torch implicit mode). */
export function einsum(pattern: string, ...operands: Tensor[]): Tensor;
export function einsum(...args: [...Tensor[], string]): Tensor;
export function einsum(...args: (string | Tensor)[]): Tensor {
  const [pattern, ts] = splitArgs(args);
  const parsed = parseEinsum(
    pattern,
    ts.map((t) => t.ndim),
  );
  const ellRank = ellipsisRank(parsed, ts);
  let ops: Operand[] = parsed.inputs.map((term, i) => ({
    t: ts[i]!,
    axes: expandEllipsis(term, ts[i]!.ndim, ellRank),
  }));
  ops = ops.map((op, i) => takeDiagonals(op, i, parsed.inputs[i]!.text));
  const sizes = axisSizes(ops, ts);
  // an ellipsis dim of size 1 that broadcasts against a larger one is dropped from that operand
  ops = ops.map((op) => {
    const drop = op.axes
      .map((a, d) => (isEll(a) && op.t.shape[d] === 1 && sizes.get(a)! > 1 ? d : -1))
      .filter((d) => d >= 0);
    return drop.length ? { t: op.t.squeeze(drop), axes: op.axes.filter((_, d) => !drop.includes(d)) } : op;
  });
  const out = outputAxes(parsed, ops, ellRank, sizes);
  const final = contractAll(ops, new Set(out), sizes);
  return final.t.permute(out.map((a) => final.axes.indexOf(a)));
}

/** [pattern, operands] from either argument order. */
function splitArgs(args: (string | Tensor)[]): [string, Tensor[]] {
  let pattern: string;
  let ts: Tensor[];
  if (typeof args[0] === "string") {
    pattern = args[0];
    ts = args.slice(1) as Tensor[];
  } else if (typeof args[args.length - 1] === "string") {
    pattern = args[args.length - 1] as string;
    ts = args.slice(0, -1) as Tensor[];
  } else {
    throw new ShapeError('einsum: expected a pattern string, e.g. einsum("b i, i j -> b j", x, w)');
  }
  for (const [i, t] of ts.entries()) {
    if (!(t instanceof Tensor)) throw new ShapeError(`einsum: operand ${i} is not a Tensor`);
  }
  if (ts.length === 0) throw new ShapeError(`einsum: no operands given for "${pattern}"`);
  return [pattern, ts];
}

/** The number of dims "..." stands for (the most any operand gives it), checking every operand's rank. */
function ellipsisRank(parsed: ParsedEinsum, ts: Tensor[]): number {
  let ellRank = 0;
  for (const [i, term] of parsed.inputs.entries()) {
    const named = term.tokens.filter((x) => x !== "...").length;
    const rank = ts[i]!.ndim;
    if (term.tokens.includes("...")) {
      if (rank < named)
        throw new ShapeError(`einsum: operand ${i} has ${rank} dims but "${term.text}" names ${named} besides "..."`);
      ellRank = Math.max(ellRank, rank - named);
    } else if (rank !== named) {
      throw new ShapeError(`einsum: operand ${i} has ${rank} dims but "${term.text}" names ${named}`);
    }
  }
  return ellRank;
}

/** One axis name per dim of a rank-`rank` operand; its "..." dims are right-aligned with the others'. */
function expandEllipsis(term: Term, rank: number, ellRank: number): string[] {
  const out: string[] = [];
  for (const tok of term.tokens) {
    if (tok !== "...") {
      out.push(tok);
      continue;
    }
    const k = rank - (term.tokens.length - 1);
    // right-aligned: an operand with fewer ellipsis dims gets the last ones
    for (let j = ellRank - k; j < ellRank; j++) out.push(ellName(j));
  }
  return out;
}

/** Every axis's size: named axes must agree exactly; ellipsis dims broadcast. */
function axisSizes(ops: Operand[], ts: Tensor[]): Map<string, number> {
  const sizes = new Map<string, number>();
  const seenIn = new Map<string, number>();
  for (const [i, op] of ops.entries()) {
    op.axes.forEach((a, d) => {
      const s = op.t.shape[d]!;
      const prev = sizes.get(a);
      if (prev === undefined) {
        sizes.set(a, s);
        seenIn.set(a, i);
        return;
      }
      if (prev === s) return;
      if (isEll(a) && (prev === 1 || s === 1)) {
        sizes.set(a, Math.max(prev, s));
        return;
      }
      const what = isEll(a)
        ? `the "..." dims (${fmtShape(ts[seenIn.get(a)!]!.shape)} vs ${fmtShape(ts[i]!.shape)}) cannot be broadcast:`
        : `axis "${a}" has`;
      throw new ShapeError(`einsum: ${what} size ${prev} in operand ${seenIn.get(a)} but ${s} in operand ${i}`);
    });
  }
  return sizes;
}

/** The output axes: the pattern's (its "..." expanded), or numpy's implicit ones. */
function outputAxes(parsed: ParsedEinsum, ops: Operand[], ellRank: number, sizes: Map<string, number>): string[] {
  const ells = [...Array(ellRank).keys()].map(ellName);
  if (!parsed.output) {
    const count = new Map<string, number>();
    for (const op of ops) for (const a of new Set(op.axes)) if (!isEll(a)) count.set(a, (count.get(a) ?? 0) + 1);
    // an axis repeated inside one operand is summed too in implicit mode
    for (const term of parsed.inputs) {
      const names = term.tokens.filter((x) => x !== "...");
      for (const a of names) if (names.indexOf(a) !== names.lastIndexOf(a)) count.set(a, 2);
    }
    return [...ells, ...[...count.keys()].filter((a) => count.get(a) === 1).sort()];
  }
  // "..." dims missing from the output are summed, as numpy does
  const o = parsed.output;
  const out = o.tokens.flatMap((tok) => (tok === "..." ? ells : [tok]));
  const seen = new Set<string>();
  for (const a of out) {
    if (seen.has(a)) throw new ShapeError(`einsum: axis "${a}" appears more than once in the output "${o.text}"`);
    seen.add(a);
    if (!sizes.has(a))
      throw new ShapeError(`einsum: axis "${a}" in the output "${o.text}" does not appear in any operand`);
  }
  return out;
}

/** Contracts every operand into one holding (at least) the output axes. */
function contractAll(ops: Operand[], outSet: Set<string>, sizes: Map<string, number>): Operand {
  // sum away axes that occur in one operand only and not in the output
  const keepFor = (others: Operand[]): Set<string> => {
    const s = new Set(outSet);
    for (const o of others) for (const a of o.axes) s.add(a);
    return s;
  };
  ops = ops.map((op, i) => sumAway(op, keepFor(ops.filter((_, j) => j !== i))));
  while (ops.length > 1) {
    const [i, j] = cheapestPair(ops, sizes, keepFor);
    const rest = ops.filter((_, k) => k !== i && k !== j);
    const merged = contractPair(ops[i]!, ops[j]!, keepFor(rest));
    ops = [...rest.slice(0, i), merged, ...rest.slice(i)];
  }
  return sumAway(ops[0]!, outSet);
}

/** Greedy order: the pair whose contraction touches the fewest elements (product of all its axes), then the one
 *  with the smallest result. */
function cheapestPair(
  ops: Operand[],
  sizes: Map<string, number>,
  keepFor: (others: Operand[]) => Set<string>,
): [number, number] {
  let best: [number, number] = [0, 1];
  let bestCost = Infinity;
  let bestSize = Infinity;
  for (let i = 0; i < ops.length; i++) {
    for (let j = i + 1; j < ops.length; j++) {
      const union = new Set([...ops[i]!.axes, ...ops[j]!.axes]);
      const keep = keepFor(ops.filter((_, k) => k !== i && k !== j));
      let cost = 1;
      let size = 1;
      for (const a of union) {
        cost *= sizes.get(a)!;
        if (keep.has(a)) size *= sizes.get(a)!;
      }
      if (cost < bestCost || (cost === bestCost && size < bestSize)) {
        best = [i, j];
        bestCost = cost;
        bestSize = size;
      }
    }
  }
  return best;
}

/** Replaces each axis repeated within an operand by its diagonal. */
function takeDiagonals(op: Operand, index: number, text: string): Operand {
  let { t, axes } = op;
  for (;;) {
    const dup = axes.findIndex((a, d) => axes.indexOf(a) !== d);
    if (dup < 0) return { t, axes };
    const first = axes.indexOf(axes[dup]!);
    const name = axes[dup]!;
    if (t.shape[first] !== t.shape[dup]) {
      throw new ShapeError(
        `einsum: axis "${name}" appears twice in operand ${index} "${text}" with different sizes ${t.shape[first]} and ${t.shape[dup]}`,
      );
    }
    t = t.diagonal(0, first, dup);
    axes = [...axes.filter((_, d) => d !== first && d !== dup), name];
  }
}

function sumAway(op: Operand, keep: Set<string>): Operand {
  const drop = op.axes.map((a, d) => (keep.has(a) ? -1 : d)).filter((d) => d >= 0);
  if (drop.length === 0) return op;
  return { t: op.t.sum(drop), axes: op.axes.filter((a) => keep.has(a)) };
}

/** Contracts two operands, keeping the axes in `keep`: batch axes (in both, kept), contracted (in both, not
 *  kept), left-only and right-only. One matmul of [...batch, M, K] by [...batch, K, N]; with nothing to
 *  contract it is a broadcast multiply instead, and batched dot products (M = N = 1) multiply and sum. */
function contractPair(x0: Operand, y0: Operand, keep: Set<string>): Operand {
  const x = sumAway(x0, new Set([...keep, ...y0.axes]));
  const y = sumAway(y0, new Set([...keep, ...x.axes]));
  const inY = new Set(y.axes);
  const inX = new Set(x.axes);
  const batch = x.axes.filter((a) => inY.has(a) && keep.has(a));
  const contracted = x.axes.filter((a) => inY.has(a) && !keep.has(a));
  const left = x.axes.filter((a) => !inY.has(a));
  const right = y.axes.filter((a) => !inX.has(a));
  const dimsOf = (op: Operand, names: string[]): number[] => names.map((a) => op.axes.indexOf(a));
  const sizeOf = (op: Operand, names: string[]): number[] => names.map((a) => op.t.shape[op.axes.indexOf(a)]!);
  const batchShape = sizeOf(x, batch);
  const leftShape = sizeOf(x, left);
  const rightShape = sizeOf(y, right);
  const axes = [...batch, ...left, ...right];

  if (contracted.length === 0) {
    // outer product over left × right for each batch entry: broadcast multiply of views, no copies
    let xt = x.t.permute([...dimsOf(x, batch), ...dimsOf(x, left)]);
    for (let k = 0; k < right.length; k++) xt = xt.unsqueeze(-1);
    let yt = y.t.permute([...dimsOf(y, batch), ...dimsOf(y, right)]);
    for (let k = 0; k < left.length; k++) yt = yt.unsqueeze(batch.length);
    return { t: xt.mul(yt), axes };
  }

  const M = numel(leftShape);
  const N = numel(rightShape);
  const K = numel(sizeOf(x, contracted));
  if (M === 1 && N === 1) {
    // batched dot products: a GEMM per batch entry of [1, K] @ [K, 1] is slower than multiply-and-sum
    // (left and right axes, if any, all have size 1)
    const xt = x.t
      .permute([...dimsOf(x, batch), ...dimsOf(x, left), ...dimsOf(x, contracted)])
      .reshape([...batchShape, K]);
    const yt = y.t
      .permute([...dimsOf(y, batch), ...dimsOf(y, right), ...dimsOf(y, contracted)])
      .reshape([...batchShape, K]);
    return {
      t: xt
        .mul(yt)
        .sum(-1)
        .reshape([...batchShape, ...leftShape, ...rightShape]),
      axes,
    };
  }
  const xm = x.t
    .permute([...dimsOf(x, batch), ...dimsOf(x, left), ...dimsOf(x, contracted)])
    .reshape([...batchShape, M, K]);
  const ym = y.t
    .permute([...dimsOf(y, batch), ...dimsOf(y, contracted), ...dimsOf(y, right)])
    .reshape([...batchShape, K, N]);
  const prod = xm.matmul(ym);
  return { t: prod.reshape([...batchShape, ...leftShape, ...rightShape]), axes };
}
