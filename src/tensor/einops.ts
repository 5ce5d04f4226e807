// einops-style named-axis ops: einsum (einops / fancy_einsum spaced names, or torch's compact letters),
// rearrange, reduce and repeat (einops grammar: groups "(h d)", "1", "()", "...", sizes).
// Everything is composed from views (reshape/permute/diagonal/expand), the reduction kernels and one
// batched matmul per contracted pair, so nothing loops over elements in JS.
import { ShapeError } from "../errors.js";
import { numel } from "../backend/strided.js";
import { fmtShape } from "./shape.js";
import { Tensor } from "./tensor.js";

// ====================================================================================================
// einsum
// ====================================================================================================

/** An ellipsis dim gets an internal name that no pattern can spell. */
const ELL = "\u2026";
const ellName = (i: number): string => `${ELL}${i}`;
const isEll = (name: string): boolean => name.startsWith(ELL);

interface Term {
  /** names in order; "..." is kept as the token "..." until expanded */
  tokens: string[];
  text: string;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function tokenizeSpaced(text: string, where: string): string[] {
  const out: string[] = [];
  const re = /\.\.\.|[A-Za-z_][A-Za-z0-9_]*|\S/g;
  for (const m of text.matchAll(re)) {
    const tok = m[0];
    if (tok !== "..." && !NAME_RE.test(tok)) {
      throw new ShapeError(`einsum: unexpected "${tok}" in ${where} "${text.trim()}" (axis names are identifiers separated by spaces; parentheses are not supported in einsum)`);
    }
    out.push(tok);
  }
  return out;
}

function tokenizeCompact(text: string): string[] | null {
  const out: string[] = [];
  const s = text.trim();
  for (let i = 0; i < s.length; ) {
    if (s.startsWith("...", i)) { out.push("..."); i += 3; continue; }
    if (!/[A-Za-z]/.test(s[i])) return null;
    out.push(s[i]);
    i++;
  }
  return out;
}

interface ParsedEinsum { inputs: Term[]; output: Term | null }

function parseEinsum(pattern: string, ranks: number[]): ParsedEinsum {
  const arrow = pattern.split("->");
  if (arrow.length > 2) throw new ShapeError(`einsum: the pattern "${pattern}" has more than one "->"`);
  const inputTexts = arrow[0].split(",");
  const outputText = arrow.length === 2 ? arrow[1] : null;
  if (inputTexts.length !== ranks.length) {
    throw new ShapeError(`einsum: the pattern "${pattern}" names ${inputTexts.length} operand${inputTexts.length === 1 ? "" : "s"} but ${ranks.length} ${ranks.length === 1 ? "was" : "were"} given`);
  }
  const all = outputText === null ? inputTexts : [...inputTexts, outputText];
  // torch-style compact terms ("bij,bjk->bik"): no whitespace inside any term, letters and "..." only, and
  // the operand ranks fit one letter per dim. Anything else reads as space-separated names.
  const noInnerSpace = all.every((t) => !/\S\s+\S/.test(t.trim()));
  let compact: string[][] | null = null;
  if (noInnerSpace) {
    const toks = all.map(tokenizeCompact);
    if (toks.every((t) => t !== null)) {
      const fits = inputTexts.every((_, i) => rankFits(toks[i]!, ranks[i]));
      const spacedFits = inputTexts.every((t, i) => rankFits(tokenizeSpaced(t, "operand"), ranks[i]));
      if (fits || !spacedFits) compact = toks as string[][];
    }
  }
  const tokenized = compact ?? all.map((t, i) => tokenizeSpaced(t, i < inputTexts.length ? `operand ${i}` : "the output"));
  const terms = tokenized.map((tokens, i) => ({ tokens, text: all[i].trim() }));
  for (const t of terms) {
    if (t.tokens.filter((x) => x === "...").length > 1) throw new ShapeError(`einsum: "${t.text}" has more than one "..."`);
  }
  return { inputs: terms.slice(0, inputTexts.length), output: outputText === null ? null : terms[inputTexts.length] };
}

function rankFits(tokens: string[], rank: number): boolean {
  const named = tokens.filter((t) => t !== "...").length;
  return tokens.includes("...") ? rank >= named : rank === named;
}

/** An operand in flight: a tensor and one axis name per dim. */
interface Operand { t: Tensor; axes: string[] }

/** einsum(pattern, ...operands): "batch pos d_model, d_model d_head -> batch pos d_head", or torch's
 *  "bij,bjk->bik". `...` stands for broadcast leading dims. Also accepts einops' argument order
 *  einsum(a, b, pattern). Without "->" the output is the ellipsis dims, then the axes that appear exactly
 *  once, in alphabetical order (numpy/torch implicit mode). */
export function einsum(pattern: string, ...operands: Tensor[]): Tensor;
export function einsum(...args: [...Tensor[], string]): Tensor;
export function einsum(...args: (string | Tensor)[]): Tensor {
  let pattern: string;
  let ts: Tensor[];
  if (typeof args[0] === "string") {
    pattern = args[0];
    ts = args.slice(1) as Tensor[];
  } else if (typeof args[args.length - 1] === "string") {
    pattern = args[args.length - 1] as string;
    ts = args.slice(0, -1) as Tensor[];
  } else {
    throw new ShapeError("einsum: expected a pattern string, e.g. einsum(\"b i, i j -> b j\", x, w)");
  }
  for (const [i, t] of ts.entries()) {
    if (!(t instanceof Tensor)) throw new ShapeError(`einsum: operand ${i} is not a Tensor`);
  }
  if (ts.length === 0) throw new ShapeError(`einsum: no operands given for "${pattern}"`);
  const parsed = parseEinsum(pattern, ts.map((t) => t.ndim));

  // ---- expand "...", check ranks ----
  let ellRank = 0;
  for (const [i, term] of parsed.inputs.entries()) {
    const named = term.tokens.filter((x) => x !== "...").length;
    const rank = ts[i].ndim;
    if (term.tokens.includes("...")) {
      if (rank < named) throw new ShapeError(`einsum: operand ${i} has ${rank} dims but "${term.text}" names ${named} besides "..."`);
      ellRank = Math.max(ellRank, rank - named);
    } else if (rank !== named) {
      throw new ShapeError(`einsum: operand ${i} has ${rank} dims but "${term.text}" names ${named}`);
    }
  }
  const expand = (term: Term, rank: number): string[] => {
    const out: string[] = [];
    for (const tok of term.tokens) {
      if (tok !== "...") { out.push(tok); continue; }
      const k = rank - (term.tokens.length - 1);
      // right-aligned: an operand with fewer ellipsis dims gets the last ones
      for (let j = ellRank - k; j < ellRank; j++) out.push(ellName(j));
    }
    return out;
  };
  let ops: Operand[] = parsed.inputs.map((term, i) => ({ t: ts[i], axes: expand(term, ts[i].ndim) }));

  // ---- repeated axes within one operand: take diagonals ----
  ops = ops.map((op, i) => takeDiagonals(op, i, parsed.inputs[i].text));

  // ---- sizes: named axes must agree exactly; ellipsis dims broadcast ----
  const sizes = new Map<string, number>();
  const seenIn = new Map<string, number>();
  for (const [i, op] of ops.entries()) {
    op.axes.forEach((a, d) => {
      const s = op.t.shape[d];
      const prev = sizes.get(a);
      if (prev === undefined) { sizes.set(a, s); seenIn.set(a, i); return; }
      if (prev === s) return;
      if (isEll(a) && (prev === 1 || s === 1)) { sizes.set(a, Math.max(prev, s)); return; }
      const what = isEll(a) ? `the "..." dims (${fmtShape(ts[seenIn.get(a)!].shape)} vs ${fmtShape(ts[i].shape)}) cannot be broadcast:` : `axis "${a}" has`;
      throw new ShapeError(`einsum: ${what} size ${prev} in operand ${seenIn.get(a)} but ${s} in operand ${i}`);
    });
  }
  // an ellipsis dim of size 1 that broadcasts against a larger one is dropped from that operand
  ops = ops.map((op) => {
    const drop = op.axes.map((a, d) => (isEll(a) && op.t.shape[d] === 1 && sizes.get(a)! > 1 ? d : -1)).filter((d) => d >= 0);
    return drop.length ? { t: op.t.squeeze(drop), axes: op.axes.filter((_, d) => !drop.includes(d)) } : op;
  });

  // ---- output axes ----
  const ells = [...Array(ellRank).keys()].map(ellName);
  let out: string[];
  if (parsed.output) {
    // "..." dims missing from the output are summed, as numpy does
    const o = parsed.output;
    out = [];
    for (const tok of o.tokens) {
      if (tok === "...") out.push(...ells);
      else out.push(tok);
    }
    const seen = new Set<string>();
    for (const a of out) {
      if (seen.has(a)) throw new ShapeError(`einsum: axis "${a}" appears more than once in the output "${o.text}"`);
      seen.add(a);
      if (!sizes.has(a)) throw new ShapeError(`einsum: axis "${a}" in the output "${o.text}" does not appear in any operand`);
    }
  } else {
    const count = new Map<string, number>();
    for (const op of ops) for (const a of new Set(op.axes)) if (!isEll(a)) count.set(a, (count.get(a) ?? 0) + 1);
    // an axis repeated inside one operand is summed too in implicit mode
    for (const term of parsed.inputs) {
      const names = term.tokens.filter((x) => x !== "...");
      for (const a of names) if (names.indexOf(a) !== names.lastIndexOf(a)) count.set(a, 2);
    }
    out = [...ells, ...[...count.keys()].filter((a) => count.get(a) === 1).sort()];
  }
  const outSet = new Set(out);

  // ---- contract ----
  // sum away axes that occur in one operand only and not in the output
  const keepFor = (others: Operand[]): Set<string> => {
    const s = new Set(outSet);
    for (const o of others) for (const a of o.axes) s.add(a);
    return s;
  };
  ops = ops.map((op, i) => sumAway(op, keepFor(ops.filter((_, j) => j !== i))));
  while (ops.length > 1) {
    // greedy: the pair whose contraction touches the fewest elements (product of all its axes)
    let best: [number, number] = [0, 1];
    let bestCost = Infinity;
    let bestSize = Infinity;
    for (let i = 0; i < ops.length; i++) {
      for (let j = i + 1; j < ops.length; j++) {
        const union = new Set([...ops[i].axes, ...ops[j].axes]);
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
    const [i, j] = best;
    const rest = ops.filter((_, k) => k !== i && k !== j);
    const merged = contractPair(ops[i], ops[j], keepFor(rest));
    ops = [...rest.slice(0, i), merged, ...rest.slice(i)];
  }
  const final = sumAway(ops[0], outSet);
  return final.t.permute(out.map((a) => final.axes.indexOf(a)));
}

/** Replaces each axis repeated within an operand by its diagonal. */
function takeDiagonals(op: Operand, index: number, text: string): Operand {
  let { t, axes } = op;
  for (;;) {
    const dup = axes.findIndex((a, d) => axes.indexOf(a) !== d);
    if (dup < 0) return { t, axes };
    const first = axes.indexOf(axes[dup]);
    const name = axes[dup];
    if (t.shape[first] !== t.shape[dup]) {
      throw new ShapeError(`einsum: axis "${name}" appears twice in operand ${index} "${text}" with different sizes ${t.shape[first]} and ${t.shape[dup]}`);
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
  const sizeOf = (op: Operand, names: string[]): number[] => names.map((a) => op.t.shape[op.axes.indexOf(a)]);
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
    const xt = x.t.permute([...dimsOf(x, batch), ...dimsOf(x, left), ...dimsOf(x, contracted)]).reshape([...batchShape, K]);
    const yt = y.t.permute([...dimsOf(y, batch), ...dimsOf(y, right), ...dimsOf(y, contracted)]).reshape([...batchShape, K]);
    return { t: xt.mul(yt).sum(-1).reshape([...batchShape, ...leftShape, ...rightShape]), axes };
  }
  const xm = x.t.permute([...dimsOf(x, batch), ...dimsOf(x, left), ...dimsOf(x, contracted)]).reshape([...batchShape, M, K]);
  const ym = y.t.permute([...dimsOf(y, batch), ...dimsOf(y, contracted), ...dimsOf(y, right)]).reshape([...batchShape, K, N]);
  const prod = xm.matmul(ym);
  return { t: prod.reshape([...batchShape, ...leftShape, ...rightShape]), axes };
}

// ====================================================================================================
// rearrange / reduce / repeat
// ====================================================================================================

export type ReduceKind = "sum" | "mean" | "max" | "min" | "prod";
type OpName = "rearrange" | "reduce" | "repeat";

type AxisTok = { kind: "name"; name: string } | { kind: "num"; size: number } | { kind: "ellipsis" };
interface Group { axes: AxisTok[]; paren: boolean }
interface Side { groups: Group[]; text: string }

function parseSide(op: OpName, text: string, which: "input" | "output"): Side {
  const groups: Group[] = [];
  let current: Group | null = null;
  const re = /\.\.\.|[A-Za-z_][A-Za-z0-9_]*|\d+|\S/g;
  const trimmed = text.trim();
  let ellipses = 0;
  for (const m of trimmed.matchAll(re)) {
    const tok = m[0];
    if (tok === "(") {
      if (current) throw new ShapeError(`${op}: nested parentheses in the ${which} "${trimmed}"`);
      current = { axes: [], paren: true };
      continue;
    }
    if (tok === ")") {
      if (!current) throw new ShapeError(`${op}: unmatched ")" in the ${which} "${trimmed}"`);
      groups.push(current);
      current = null;
      continue;
    }
    let axis: AxisTok;
    if (tok === "...") {
      axis = { kind: "ellipsis" };
      ellipses++;
    } else if (/^\d+$/.test(tok)) {
      axis = { kind: "num", size: Number(tok) };
      if (axis.size < 1) throw new ShapeError(`${op}: anonymous axis "${tok}" in the ${which} "${trimmed}" must be at least 1`);
    } else if (NAME_RE.test(tok)) {
      axis = { kind: "name", name: tok };
    } else {
      throw new ShapeError(`${op}: unexpected "${tok}" in the ${which} "${trimmed}"`);
    }
    if (current) current.axes.push(axis);
    else groups.push({ axes: [axis], paren: false });
  }
  if (current) throw new ShapeError(`${op}: unclosed "(" in the ${which} "${trimmed}"`);
  if (ellipses > 1) throw new ShapeError(`${op}: the ${which} "${trimmed}" has more than one "..."`);
  const names = groups.flatMap((g) => g.axes).filter((a) => a.kind === "name").map((a) => (a as { name: string }).name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new ShapeError(`${op}: axis "${dup}" appears more than once in the ${which} "${trimmed}"`);
  return { groups, text: trimmed };
}

function groupText(g: Group, sizes: Map<string, number>): string {
  const parts = g.axes.map((a) => {
    if (a.kind === "ellipsis") return "...";
    if (a.kind === "num") return String(a.size);
    const s = sizes.get(a.name);
    return s === undefined ? a.name : `${a.name}=${s}`;
  });
  return g.paren ? `(${parts.join(" ")})` : parts.join(" ");
}

/** The shared engine: split input dims into elementary axes, reduce what the output drops, permute, add
 *  new (repeated) axes, and merge into the output groups. */
function transform(op: OpName, t: Tensor, pattern: string, sizesArg: Record<string, number> | undefined, reduceKind?: ReduceKind): Tensor {
  if (!(t instanceof Tensor)) throw new ShapeError(`${op}: expected a Tensor as the first argument`);
  if (typeof pattern !== "string") throw new ShapeError(`${op}: expected a pattern string such as "b (h d) -> b h d"`);
  const halves = pattern.split("->");
  if (halves.length !== 2) throw new ShapeError(`${op}: the pattern "${pattern}" must contain exactly one "->"`);
  const lhs = parseSide(op, halves[0], "input");
  const rhs = parseSide(op, halves[1], "output");

  // ---- anonymous axes and ellipsis placement ----
  for (const g of lhs.groups) {
    for (const a of g.axes) {
      if (a.kind === "ellipsis" && g.paren) throw new ShapeError(`${op}: "..." cannot be inside parentheses in the input "${lhs.text}"`);
      if (a.kind === "num" && a.size !== 1 && op !== "reduce") {
        throw new ShapeError(`${op}: anonymous axis ${a.size} in the input "${lhs.text}" is not allowed (only 1); name it and pass its size`);
      }
    }
  }
  for (const g of rhs.groups) {
    for (const a of g.axes) {
      if (a.kind === "num" && a.size !== 1 && op !== "repeat") {
        throw new ShapeError(`${op}: anonymous axis ${a.size} in the output "${rhs.text}" is not allowed (only 1)${op === "rearrange" ? "; use repeat to add new axes" : ""}`);
      }
    }
  }
  const lhsEll = lhs.groups.some((g) => g.axes.some((a) => a.kind === "ellipsis"));
  const rhsEll = rhs.groups.some((g) => g.axes.some((a) => a.kind === "ellipsis"));
  if (rhsEll && !lhsEll) throw new ShapeError(`${op}: the output "${rhs.text}" has "..." but the input "${lhs.text}" does not`);
  if (lhsEll && !rhsEll && op !== "reduce") throw new ShapeError(`${op}: the input "${lhs.text}" has "..." but the output "${rhs.text}" does not`);

  // ---- known sizes ----
  const known = new Map<string, number>();
  const lhsNames = new Set(lhs.groups.flatMap((g) => g.axes).flatMap((a) => (a.kind === "name" ? [a.name] : [])));
  const rhsNames = new Set(rhs.groups.flatMap((g) => g.axes).flatMap((a) => (a.kind === "name" ? [a.name] : [])));
  for (const [name, size] of Object.entries(sizesArg ?? {})) {
    if (!Number.isInteger(size) || size < 0) throw new ShapeError(`${op}: size of axis "${name}" must be a non-negative integer, got ${size}`);
    if (!lhsNames.has(name) && !rhsNames.has(name)) throw new ShapeError(`${op}: sizes gives axis "${name}", which does not appear in the pattern "${pattern.trim()}"`);
    known.set(name, size);
  }

  // ---- which named axes may appear on one side only ----
  for (const a of rhsNames) {
    if (lhsNames.has(a)) continue;
    if (op !== "repeat") throw new ShapeError(`${op}: axis "${a}" in the output does not appear in the input "${lhs.text}"`);
    if (!known.has(a)) throw new ShapeError(`repeat: new axis "${a}" in the output "${rhs.text}" needs a size: pass { ${a}: n }`);
  }
  if (op !== "reduce") {
    for (const a of lhsNames) {
      if (rhsNames.has(a)) continue;
      throw new ShapeError(`${op}: axis "${a}" of the input "${lhs.text}" does not appear in the output "${rhs.text}"${op === "rearrange" ? "; use reduce to reduce it away" : ""}`);
    }
  }

  // ---- match input groups to dims ----
  const nGroups = lhs.groups.length - (lhsEll ? 1 : 0);
  if (lhsEll ? t.ndim < nGroups : t.ndim !== nGroups) {
    throw new ShapeError(`${op}: the input has ${t.ndim} dims (shape ${fmtShape(t.shape)}) but "${lhs.text}" names ${nGroups}${lhsEll ? ' besides "..."' : ""}`);
  }
  const ellRank = t.ndim - nGroups;
  const elemL: string[] = []; // elementary input axes (names, "#k" anonymous, ellipsis names)
  const elemSize = new Map<string, number>();
  let anon = 0;
  let dim = 0;
  for (const g of lhs.groups) {
    if (g.axes.length === 1 && g.axes[0].kind === "ellipsis") {
      for (let j = 0; j < ellRank; j++, dim++) {
        elemL.push(ellName(j));
        elemSize.set(ellName(j), t.shape[dim]);
      }
      continue;
    }
    const size = t.shape[dim++];
    const ids: string[] = [];
    let product = 1;
    const unknown: string[] = [];
    for (const a of g.axes) {
      if (a.kind === "num") {
        const id = `#${anon++}`;
        ids.push(id);
        elemSize.set(id, a.size);
        product *= a.size;
      } else if (a.kind === "name") {
        ids.push(a.name);
        const s = known.get(a.name);
        if (s === undefined) unknown.push(a.name);
        else product *= s;
      }
    }
    if (unknown.length > 1) {
      throw new ShapeError(`${op}: cannot infer the sizes of ${unknown.map((u) => `"${u}"`).join(" and ")} in ${groupText(g, known)} (an axis of size ${size}); pass all but one in sizes`);
    }
    if (unknown.length === 1) {
      if (product === 0 || size % product !== 0) {
        throw new ShapeError(`${op}: cannot split axis of size ${size} into ${groupText(g, known)}`);
      }
      known.set(unknown[0], size / product);
    } else if (product !== size) {
      if (!g.paren && g.axes.length === 1 && g.axes[0].kind === "name") {
        throw new ShapeError(`${op}: axis "${g.axes[0].name}" has size ${size} in the input but sizes gives ${product}`);
      }
      throw new ShapeError(`${op}: cannot split axis of size ${size} into ${groupText(g, known)}`);
    }
    for (const id of ids) {
      elemL.push(id);
      if (!id.startsWith("#")) elemSize.set(id, known.get(id)!);
    }
  }

  // ---- elementary output axes ----
  const inputSet = new Set(elemL);
  const elemR: string[][] = rhs.groups.flatMap((g) => {
    // a bare "..." is one output dim per ellipsis dim; "(...)" merges them
    if (!g.paren && g.axes[0].kind === "ellipsis") return [...Array(ellRank).keys()].map((j) => [ellName(j)]);
    const ids: string[] = [];
    for (const a of g.axes) {
      if (a.kind === "ellipsis") for (let j = 0; j < ellRank; j++) ids.push(ellName(j));
      else if (a.kind === "name") ids.push(a.name);
      else if (a.size !== 1) {
        const id = `#${anon++}`;
        ids.push(id);
        elemSize.set(id, a.size);
      }
      // an anonymous 1 contributes a factor of 1: nothing
    }
    return [ids];
  });
  const flatR = elemR.flat();
  const outputSet = new Set(flatR);
  for (const a of flatR) if (!inputSet.has(a) && !a.startsWith("#")) elemSize.set(a, known.get(a)!); // repeat's new axes

  // ---- split, reduce, permute, add new axes, merge ----
  let x = t.reshape(elemL.map((a) => elemSize.get(a)!));
  let cur = elemL;
  const dropped = cur.map((a, d) => (outputSet.has(a) ? -1 : d)).filter((d) => d >= 0);
  if (dropped.length) {
    if (op === "reduce") x = reduceDims(x, dropped, reduceKind!);
    else x = x.squeeze(dropped); // anonymous size-1 axes
    cur = cur.filter((a) => outputSet.has(a));
  }
  const present = flatR.filter((a) => cur.includes(a));
  x = x.permute(present.map((a) => cur.indexOf(a)));
  const hasNew = flatR.length !== present.length;
  if (hasNew) {
    for (let d = 0; d < flatR.length; d++) if (!cur.includes(flatR[d])) x = x.unsqueeze(d);
    // materialise the repeat (no stride-0 views leak out, as torch's repeat)
    x = x.expand(flatR.map((a) => elemSize.get(a)!)).contiguous();
  }
  return x.reshape(elemR.map((ids) => numel(ids.map((a) => elemSize.get(a)!))));
}

function reduceDims(x: Tensor, dims: number[], kind: ReduceKind): Tensor {
  switch (kind) {
    case "sum": return x.sum(dims);
    case "mean": return x.mean(dims);
    case "max": return x.amax(dims);
    case "min": return x.amin(dims);
    case "prod": return x.prod(dims);
    default: throw new ShapeError(`reduce: unknown reduction "${String(kind)}" (expected "sum", "mean", "max", "min" or "prod")`);
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
