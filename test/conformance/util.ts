// Helpers of the backend conformance suite: seeded inputs (random shapes, non-contiguous views, special
// values), running one computation on both backends, and comparisons that read tensors element by element
// through their strides (so the check never runs on the backend under test).
import { backendByName, withBackend, type BackendName } from "../../src/backend/index.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { Generator } from "../../src/tensor/random.js";
import type { DType } from "../../src/tensor/dtype.js";

export { Tensor, Generator };
export type { DType };

// ---------------------------------------------------------------------------------------------------------
// backends

/** Whether the native addon loads (it is built by `node scripts/build-native.mjs`). */
export const NATIVE_AVAILABLE: boolean = (() => {
  try {
    backendByName("native");
    return true;
  } catch {
    return false;
  }
})();

/** Set TLENS_SKIP_NATIVE=1 (no C toolchain) to allow running the suite without the native backend. */
export const NATIVE_OPTIONAL = process.env.TLENS_SKIP_NATIVE === "1";

/** True when the native backend is there to compare; throws when it is missing and not declared optional, so
 *  a missing or broken build never turns the suite into a silent js-vs-nothing run. */
export function requireNative(): boolean {
  if (NATIVE_AVAILABLE) return true;
  if (NATIVE_OPTIONAL) return false;
  throw new Error(
    "the native backend is not available (build it with `node scripts/build-native.mjs`); set TLENS_SKIP_NATIVE=1 to run the conformance suite on the js backend only",
  );
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

export function outcome<T>(f: () => T): Outcome<T> {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    return { ok: false, error: e as Error };
  }
}

/** Runs f under one backend. */
export function on<T>(name: BackendName, f: () => T): T {
  return withBackend(name, f);
}

// ---------------------------------------------------------------------------------------------------------
// seeded randomness

/** A stable 32-bit hash of a string (FNV-1a), to derive per-test seeds from names. */
export function hashSeed(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function rng(name: string, i = 0): Generator {
  return new Generator(hashSeed(name) + i * 7919);
}

export function pick<T>(g: Generator, xs: readonly T[]): T {
  return xs[g.int(0, xs.length)]!;
}

/** A random shape: rank in [minRank, maxRank], sizes mostly 1..7 with some 0s and 1s. */
export function randShape(
  g: Generator,
  opts: { minRank?: number; maxRank?: number; allowZero?: boolean; maxSize?: number } = {},
): number[] {
  const minRank = opts.minRank ?? 0;
  const maxRank = opts.maxRank ?? 4;
  const rank = g.int(minRank, maxRank + 1);
  const maxSize = opts.maxSize ?? 7;
  const shape: number[] = [];
  for (let d = 0; d < rank; d++) {
    const r = g.uniform();
    if (opts.allowZero !== false && r < 0.04) shape.push(0);
    else if (r < 0.25) shape.push(1);
    else shape.push(g.int(2, maxSize + 1));
  }
  return shape;
}

/** A shape that broadcasts with `shape`: a suffix of it with some dims set to 1 (or fewer leading dims). */
export function broadcastPartner(g: Generator, shape: readonly number[]): number[] {
  const drop = g.int(0, shape.length + 1);
  return shape.slice(drop).map((s) => (g.uniform() < 0.3 ? 1 : s));
}

export type ValueKind = "normal" | "wide" | "positive" | "int-valued" | "special" | "halves" | "small-int";

const SPECIAL = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  1.5,
  2.5,
  -2.5,
  Infinity,
  -Infinity,
  NaN,
  1e-30,
  -1e-30,
  88.8,
  -88.8,
  100,
  -100,
  1e30,
  -1e30,
  3.4e38,
];

/** One random value of a kind, for a float dtype. */
function floatValue(g: Generator, kind: ValueKind): number {
  switch (kind) {
    case "normal":
      return g.normal();
    case "wide":
      return g.normal() * 8;
    case "positive":
      return Math.abs(g.normal()) * 3 + 1e-3;
    case "int-valued":
      return g.int(-3, 4);
    case "halves":
      return g.int(-8, 9) / 2;
    case "small-int":
      return g.int(-5, 6);
    case "special":
      return g.uniform() < 0.5 ? pick(g, SPECIAL) : g.normal() * 4;
  }
}

/** A contiguous tensor of random values of `dtype` (kind applies to floats; ints are in [-9, 9], bools 50/50). */
export function randData(
  g: Generator,
  shape: readonly number[],
  dtype: DType = "float32",
  kind: ValueKind = "normal",
): Tensor {
  const t = Tensor.empty(shape, dtype);
  const d = t.storage.data;
  for (let i = 0; i < d.length; i++) {
    if (dtype === "bool") d[i] = g.uniform() < 0.5 ? 1 : 0;
    else if (dtype === "int32") d[i] = kind === "positive" ? g.int(1, 10) : g.int(-9, 10);
    else d[i] = floatValue(g, kind);
  }
  return t;
}

export type Layout = "contiguous" | "permuted" | "stepped" | "reversed" | "expanded" | "offset" | "mixed";
export const LAYOUTS: readonly Layout[] = [
  "contiguous",
  "permuted",
  "stepped",
  "reversed",
  "expanded",
  "offset",
  "mixed",
];

/**
 * A tensor of logical shape `shape` laid out as `layout`: a view into a bigger, permuted, stepped (also
 * negatively), offset or broadcast storage. Values come from randData. The storage is filled completely, so
 * kernels that read outside the view see garbage rather than zeros.
 */
export function randTensor(
  g: Generator,
  shape: readonly number[],
  dtype: DType = "float32",
  opts: { layout?: Layout; kind?: ValueKind } = {},
): Tensor {
  const layout = opts.layout ?? pick(g, LAYOUTS);
  const kind = opts.kind ?? "normal";
  const rank = shape.length;
  if (layout === "contiguous" || rank === 0) return randData(g, shape, dtype, kind);
  const all = layout === "mixed";
  // per dim: broadcast (stored size 1), step (±1, ±2, ±3) and a start offset
  const expandDim = shape.map((s) => (layout === "expanded" || all) && s > 1 && g.uniform() < 0.5);
  if (layout === "expanded" && !expandDim.some(Boolean)) {
    const cands = shape.map((s, i) => (s > 1 ? i : -1)).filter((i) => i >= 0);
    if (cands.length) expandDim[pick(g, cands)] = true;
  }
  const steps = shape.map(() => {
    if (layout === "stepped" || (all && g.uniform() < 0.5)) return pick(g, [2, 3, -2]);
    if (layout === "reversed" || (all && g.uniform() < 0.3)) return -1;
    return 1;
  });
  const starts = shape.map(() => (layout === "offset" || all ? g.int(0, 3) : 0));
  const stored = shape.map((s, d) =>
    expandDim[d] ? 1 : s === 0 ? 1 + starts[d]! : (s - 1) * Math.abs(steps[d]!) + 1 + starts[d]! + g.int(0, 2),
  );
  // storage dim order
  const perm = [...shape.keys()];
  if (layout === "permuted" || all || layout === "stepped") {
    for (let i = perm.length - 1; i > 0; i--) {
      const j = g.int(0, i + 1);
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    if (layout === "permuted" && rank > 1 && perm.every((p, i) => p === i)) perm.reverse();
  }
  const base = randData(
    g,
    perm.map((p) => stored[p]!),
    dtype,
    kind,
  );
  const inv = new Array<number>(rank);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  const unpermuted = base.permute(inv);
  const slices = shape.map((s, d) => {
    if (expandDim[d]) return "0:1";
    const st = steps[d]!;
    if (s === 0) return `${starts[d]}:${starts[d]}`;
    if (st > 0) return `${starts[d]}:${starts[d]! + (s - 1) * st + 1}:${st}`;
    const first = starts[d]! + (s - 1) * -st; // walk backwards from here
    const stop = first + (s - 1) * st - 1; // exclusive; may be -1, which would mean "from the end"
    return stop < 0 ? `${first}::${st}` : `${first}:${stop}:${st}`;
  });
  const view = unpermuted.get(...slices);
  const out = expandDim.some(Boolean) ? view.expand(...shape) : view;
  if (out.shape.join() !== shape.join()) throw new Error(`randTensor produced ${out.shape} for ${shape} (${slices})`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// reading and comparing

/** Every element, row-major, read through the strides as float64 numbers (independent of any backend). */
export function values(t: Tensor): Float64Array {
  const n = t.numel;
  const out = new Float64Array(n);
  if (n === 0) return out;
  let contiguous = true;
  for (let d = t.ndim - 1, expected = 1; d >= 0; d--) {
    if (t.shape[d] !== 1 && t.strides[d] !== expected) {
      contiguous = false;
      break;
    }
    expected *= t.shape[d]!;
  }
  if (contiguous) {
    out.set(t.storage.data.subarray(t.offset, t.offset + n));
    return out;
  }
  const rank = t.ndim;
  const idx = new Array<number>(rank).fill(0);
  const data = t.storage.data;
  let off = t.offset;
  for (let i = 0; i < n; i++) {
    out[i] = data[off]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      off += t.strides[d]!;
      if (idx[d]! < t.shape[d]!) break;
      off -= t.strides[d]! * t.shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

/** A contiguous float64 copy (for computing references in plain JS). */
export function asArray(t: Tensor): number[] {
  return Array.from(values(t));
}

export interface Tol {
  /** bitwise-equal values (NaN equals NaN; 0 equals -0) */
  exact?: boolean;
  rtol?: number;
  atol?: number;
  /** extra per-element allowance: |got - want| ≤ atol + rtol·max(|got|, |want|) + scaleTol·scale[i] */
  scale?: ArrayLike<number>;
  scaleTol?: number;
  /** values of 0 and -0 must match in sign */
  signedZero?: boolean;
}

export const EXACT: Tol = { exact: true };

export function describe_(t: Tensor): string {
  return `${t.dtype}${JSON.stringify(t.shape)} strides ${JSON.stringify(t.strides)} offset ${t.offset}`;
}

function coords(i: number, shape: readonly number[]): string {
  const c: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    c.unshift(shape[d] === 0 ? 0 : i % shape[d]!);
    i = shape[d] === 0 ? 0 : Math.floor(i / shape[d]!);
  }
  return `[${c.join(", ")}]`;
}

/** Throws a descriptive error unless `got` matches `want` in dtype, shape and values. */
export function assertClose(got: Tensor, want: Tensor, tol: Tol, ctx: string): void {
  if (got.dtype !== want.dtype) throw new Error(`${ctx}: dtype ${got.dtype}, expected ${want.dtype}`);
  if (got.shape.join() !== want.shape.join() || got.ndim !== want.ndim) {
    throw new Error(`${ctx}: shape ${JSON.stringify(got.shape)}, expected ${JSON.stringify(want.shape)}`);
  }
  assertValues(values(got), values(want), tol, ctx, want.shape);
}

export function assertValues(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  tol: Tol,
  ctx: string,
  shape: readonly number[] = [b.length],
): void {
  if (a.length !== b.length) throw new Error(`${ctx}: ${a.length} values, expected ${b.length}`);
  const bad: string[] = [];
  let count = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    let ok: boolean;
    if (Number.isNaN(x) || Number.isNaN(y)) ok = Number.isNaN(x) && Number.isNaN(y);
    else if (x === y) ok = !tol.signedZero || Object.is(x, y);
    else if (tol.exact || !Number.isFinite(x) || !Number.isFinite(y)) ok = false;
    else {
      const allowed =
        (tol.atol ?? 0) +
        (tol.rtol ?? 0) * Math.max(Math.abs(x), Math.abs(y)) +
        (tol.scale ? (tol.scaleTol ?? 0) * tol.scale[i]! : 0);
      const err = Math.abs(x - y);
      ok = err <= allowed;
      if (!ok) worst = Math.max(worst, allowed > 0 ? err / allowed : Infinity);
    }
    if (!ok) {
      count++;
      if (bad.length < 6) bad.push(`at ${coords(i, shape)}: got ${fmtNum(x)}, expected ${fmtNum(y)}`);
    }
  }
  if (count) {
    throw new Error(
      `${ctx}: ${count} of ${a.length} values differ${worst ? ` (worst ${worst.toPrecision(3)}× the tolerance)` : ""}\n  ${bad.join("\n  ")}`,
    );
  }
}

function fmtNum(x: number): string {
  return Object.is(x, -0) ? "-0" : String(x);
}

// ---------------------------------------------------------------------------------------------------------
// js vs native

export type Result = Tensor | number | boolean | Result[] | { [k: string]: Result };

function flattenResult(r: Result, path: string, out: [string, Tensor | number | boolean][]): void {
  if (r instanceof Tensor || typeof r === "number" || typeof r === "boolean") out.push([path, r]);
  else if (Array.isArray(r)) {
    out.push([`${path}.length`, r.length]);
    r.forEach((x, i) => flattenResult(x, `${path}[${i}]`, out));
  } else for (const k of Object.keys(r).sort()) flattenResult(r[k]!, `${path}.${k}`, out);
}

/** Asserts two outcomes agree: equal results (floats within `tol`; ints, bools, indices exact) or equal errors. */
export function compareOutcomes(
  got: Outcome<Result>,
  want: Outcome<Result>,
  tol: Tol,
  ctx: string,
  gotName: string,
  wantName: string,
): void {
  if (!got.ok || !want.ok) {
    if (want.ok && !got.ok)
      throw new Error(
        `${ctx}: ${gotName} threw ${got.error.name}: ${got.error.message}\n  (${wantName} returned a result)\n${got.error.stack}`,
      );
    if (!want.ok && got.ok)
      throw new Error(
        `${ctx}: ${wantName} threw ${want.error.name}: ${want.error.message}\n  (${gotName} returned a result)`,
      );
    if (!want.ok && !got.ok) {
      const [a, b] = [`${got.error.name}: ${got.error.message}`, `${want.error.name}: ${want.error.message}`];
      if (a !== b)
        throw new Error(
          `${ctx}: ${gotName} and ${wantName} throw different errors:\n  ${gotName}: ${a}\n  ${wantName}: ${b}`,
        );
    }
    return;
  }
  const a: [string, Tensor | number | boolean][] = [];
  const b: [string, Tensor | number | boolean][] = [];
  flattenResult(got.value, "", a);
  flattenResult(want.value, "", b);
  if (a.length !== b.length || a.some(([p], i) => p !== b[i]![0]))
    throw new Error(`${ctx}: result structure differs: ${a.map((x) => x[0])} vs ${b.map((x) => x[0])}`);
  for (let i = 0; i < a.length; i++) {
    const [path, x] = a[i]!;
    const y = b[i]![1];
    const where = `${ctx}${path ? ` ${path}` : ""} (${gotName} vs ${wantName})`;
    if (x instanceof Tensor && y instanceof Tensor) {
      const isFloat = y.dtype === "float32" || y.dtype === "float64";
      assertClose(x, y, isFloat ? tol : EXACT, where);
    } else if (typeof x === "number" && typeof y === "number") {
      assertValues([x], [y], Number.isInteger(y) ? EXACT : tol, where);
    } else if (x !== y) throw new Error(`${where}: got ${String(x)}, expected ${String(y)}`);
  }
}

/**
 * Runs `f` on the JS backend and on the native one and asserts equal results (within `tol` for floats; exact
 * for ints, bools and indices whatever `tol` says). Errors must match too: same class, same message.
 * Returns the JS outcome.
 */
/** How many compared calls returned a result / threw (both backends alike); `cases` watches the ratio. */
export const OUTCOMES = { ok: 0, threw: 0 };

export function cmp<T extends Result>(ctx: string, f: () => T, tol: Tol = EXACT): Outcome<T> {
  const js = outcome(() => on("js", f));
  if (js.ok) OUTCOMES.ok++;
  else OUTCOMES.threw++;
  if (!requireNative()) return js;
  const nat = outcome(() => on("native", f));
  compareOutcomes(nat, js, tol, ctx, "native", "js");
  return js;
}

/** A contiguous copy at offset 0 in fresh storage, made without any backend. */
export function fresh(t: Tensor): Tensor {
  const out = Tensor.empty(t.shape, t.dtype);
  out.storage.data.set(values(t));
  return out;
}

/**
 * cmp plus two checks of the tensor layer that a backend comparison cannot see: the inputs are left
 * unmodified, and the result does not depend on the inputs' layout (the same op on fresh contiguous copies of
 * the inputs, on the JS backend, gives the same result).
 */
export function cmpOp<T extends Result>(
  ctx: string,
  inputs: Tensor[],
  f: (...xs: Tensor[]) => T,
  tol: Tol = EXACT,
): Outcome<T> {
  const before = inputs.map((x) => values(x).slice());
  const js = cmp(ctx, () => f(...inputs), tol);
  inputs.forEach((x, i) =>
    assertValues(values(x), before[i]!, EXACT, `${ctx}: input ${i} was modified by the op`, x.shape),
  );
  const copies = inputs.map(fresh);
  const ref = outcome(() => on("js", () => f(...copies)));
  compareOutcomes(js, ref, tol, ctx, "views", "contiguous copies");
  return js;
}

/** For inputs: a short description for failure messages. */
export function desc(...ts: (Tensor | number | string | null)[]): string {
  return ts.map((t) => (t instanceof Tensor ? describe_(t) : JSON.stringify(t))).join(", ");
}

/** Deep copy of a tensor with the same shape/strides/offset (fresh storage), to check inputs are unmodified. */
export function snapshot(t: Tensor): Float64Array {
  return values(t).slice();
}

/** f32 machine epsilon */
export const EPS32 = 2 ** -23;

/**
 * Runs `n` seeded random cases; case i gets rng(name, i). Failures are collected, so one report shows how
 * many cases fail and the first few messages (each reproducible from the name and the case number).
 */
export function cases(
  name: string,
  n: number,
  body: (g: Generator, i: number) => void,
  opts: { maxThrowRatio?: number } = {},
): void {
  const failures: string[] = [];
  let count = 0;
  const [ok0, threw0] = [OUTCOMES.ok, OUTCOMES.threw];
  for (let i = 0; i < n; i++) {
    try {
      body(rng(name, i), i);
    } catch (e) {
      count++;
      const msg = (e as Error).message;
      if (count <= 3) failures.push(`case ${i}: ${msg}`);
      else if (count <= 12) failures.push(`case ${i}: ${msg.split("\n")[0]!.slice(0, 240)}`);
    }
  }
  if (count) throw new Error(`${name}: ${count} of ${n} cases failed\n${failures.join("\n")}`);
  // the generators must mostly produce valid calls, or the comparisons test little but error messages
  const [ok, threw] = [OUTCOMES.ok - ok0, OUTCOMES.threw - threw0];
  const maxRatio = opts.maxThrowRatio ?? 0.25;
  if (threw > maxRatio * (ok + threw))
    throw new Error(
      `${name}: ${threw} of ${ok + threw} compared calls threw (both backends alike); the generator is off`,
    );
}
