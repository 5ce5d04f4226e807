// einops patterns ("b (h d) -> b h d"): each side read into groups of axes (names, anonymous sizes, "..."), the rules
// of rearrange / reduce / repeat checked, and the axis sizes given in `sizes` collected.
import { ShapeError } from "../errors.js";
import { NAME_RE } from "./axis-names.js";

export type ReduceKind = "sum" | "mean" | "max" | "min" | "prod";
export type OpName = "rearrange" | "reduce" | "repeat";

export type AxisTok = { kind: "name"; name: string } | { kind: "num"; size: number } | { kind: "ellipsis" };
export interface Group {
  axes: AxisTok[];
  paren: boolean;
}
export interface Side {
  groups: Group[];
  text: string;
}

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
      if (axis.size < 1)
        throw new ShapeError(`${op}: anonymous axis "${tok}" in the ${which} "${trimmed}" must be at least 1`);
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
  const names = groups
    .flatMap((g) => g.axes)
    .filter((a) => a.kind === "name")
    .map((a) => (a as { name: string }).name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined)
    throw new ShapeError(`${op}: axis "${dup}" appears more than once in the ${which} "${trimmed}"`);
  return { groups, text: trimmed };
}

export function groupText(g: Group, sizes: Map<string, number>): string {
  const parts = g.axes.map((a) => {
    if (a.kind === "ellipsis") return "...";
    if (a.kind === "num") return String(a.size);
    const s = sizes.get(a.name);
    return s === undefined ? a.name : `${a.name}=${s}`;
  });
  return g.paren ? `(${parts.join(" ")})` : parts.join(" ");
}

/** Both sides of a pattern, checked for op's rules on anonymous axes and "..."; lhsEll: the input has "...". */
export function parsePattern(op: OpName, pattern: string): { lhs: Side; rhs: Side; lhsEll: boolean } {
  if (typeof pattern !== "string") throw new ShapeError(`${op}: expected a pattern string such as "b (h d) -> b h d"`);
  const halves = pattern.split("->");
  if (halves.length !== 2) throw new ShapeError(`${op}: the pattern "${pattern}" must contain exactly one "->"`);
  const lhs = parseSide(op, halves[0]!, "input");
  const rhs = parseSide(op, halves[1]!, "output");
  for (const g of lhs.groups) {
    for (const a of g.axes) {
      if (a.kind === "ellipsis" && g.paren)
        throw new ShapeError(`${op}: "..." cannot be inside parentheses in the input "${lhs.text}"`);
      if (a.kind === "num" && a.size !== 1 && op !== "reduce") {
        throw new ShapeError(
          `${op}: anonymous axis ${a.size} in the input "${lhs.text}" is not allowed (only 1); name it and pass its size`,
        );
      }
    }
  }
  for (const g of rhs.groups) {
    for (const a of g.axes) {
      if (a.kind === "num" && a.size !== 1 && op !== "repeat") {
        throw new ShapeError(
          `${op}: anonymous axis ${a.size} in the output "${rhs.text}" is not allowed (only 1)${op === "rearrange" ? "; use repeat to add new axes" : ""}`,
        );
      }
    }
  }
  const lhsEll = lhs.groups.some((g) => g.axes.some((a) => a.kind === "ellipsis"));
  const rhsEll = rhs.groups.some((g) => g.axes.some((a) => a.kind === "ellipsis"));
  if (rhsEll && !lhsEll)
    throw new ShapeError(`${op}: the output "${rhs.text}" has "..." but the input "${lhs.text}" does not`);
  if (lhsEll && !rhsEll && op !== "reduce")
    throw new ShapeError(`${op}: the input "${lhs.text}" has "..." but the output "${rhs.text}" does not`);
  return { lhs, rhs, lhsEll };
}

/** The sizes given in `sizesArg`, checked; and which named axes may appear on one side only (repeat's new axes,
 *  reduce's reduced ones). */
export function knownSizes(
  op: OpName,
  pattern: string,
  lhs: Side,
  rhs: Side,
  sizesArg: Record<string, number> | undefined,
): Map<string, number> {
  const known = new Map<string, number>();
  const lhsNames = new Set(lhs.groups.flatMap((g) => g.axes).flatMap((a) => (a.kind === "name" ? [a.name] : [])));
  const rhsNames = new Set(rhs.groups.flatMap((g) => g.axes).flatMap((a) => (a.kind === "name" ? [a.name] : [])));
  for (const [name, size] of Object.entries(sizesArg ?? {})) {
    if (!Number.isInteger(size) || size < 0)
      throw new ShapeError(`${op}: size of axis "${name}" must be a non-negative integer, got ${size}`);
    if (!lhsNames.has(name) && !rhsNames.has(name))
      throw new ShapeError(
        `${op}: sizes gives axis "${name}", which does not appear in the pattern "${pattern.trim()}"`,
      );
    known.set(name, size);
  }
  for (const a of rhsNames) {
    if (lhsNames.has(a)) continue;
    if (op !== "repeat")
      throw new ShapeError(`${op}: axis "${a}" in the output does not appear in the input "${lhs.text}"`);
    if (!known.has(a))
      throw new ShapeError(`repeat: new axis "${a}" in the output "${rhs.text}" needs a size: pass { ${a}: n }`);
  }
  if (op !== "reduce") {
    for (const a of lhsNames) {
      if (rhsNames.has(a)) continue;
      throw new ShapeError(
        `${op}: axis "${a}" of the input "${lhs.text}" does not appear in the output "${rhs.text}"${op === "rearrange" ? "; use reduce to reduce it away" : ""}`,
      );
    }
  }
  return known;
}
