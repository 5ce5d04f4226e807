// Kernel-level tests of the native backend's float32 kernels (native/ops*.c) against the JS reference backend and
// float64 math: random shapes (with 0- and 1-sized dims), broadcasting, permuted / stepped / reversed views,
// inputs large enough for the threaded paths, special values. Every instruction set the CPU has is tested
// (AVX-512, AVX2 and the portable C path), selected through the addon's opsSetIsa.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JsBackend, UNARY_FNS } from "../src/backend/js.js";
import { loadNativeAddon, NativeBackend, NATIVE_MIN } from "../src/backend/native.js";
import type { BinaryOp, ReduceOp, UnaryOp, View } from "../src/backend/types.js";

const addon = loadNativeAddon();
const js = new JsBackend();

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
}

const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 3.4e38, -3.4e38, 88.7, -88.7, 104, -104, 1, -1];

type Rng = () => number;

function randn(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(rng() + 1e-300)) * Math.cos(2 * Math.PI * rng());
}

function fillRandom(rng: Rng, a: Float32Array, scale = 3, specials = 0): Float32Array {
  for (let i = 0; i < a.length; i++) {
    a[i] = specials > 0 && rng() < specials ? SPECIALS[Math.floor(rng() * SPECIALS.length)]! : randn(rng) * scale;
  }
  return a;
}

type Layout = "contig" | "any";

/** A view of `shape` inside a larger random buffer: dims permuted in memory, stepped, reversed, offset. */
function randomView(rng: Rng, shape: number[], layout: Layout, scale = 3, specials = 0): View<Float32Array> {
  const rank = shape.length;
  if (layout === "contig") {
    const data = fillRandom(rng, new Float32Array(numel(shape)), scale, specials);
    return { data, offset: 0, shape, strides: contiguousStrides(shape) };
  }
  const perm = [...shape.keys()];
  for (let i = rank - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const steps = shape.map(() => (rng() < 0.4 ? 2 : 1));
  const pshape = perm.map((d) => shape[d]! * steps[d]! + (rng() < 0.3 ? 1 : 0));
  const pstr = contiguousStrides(pshape);
  const strides = new Array<number>(rank);
  perm.forEach((d, j) => {
    strides[d] = pstr[j]! * steps[d]!;
  });
  let offset = Math.floor(rng() * 3);
  for (let d = 0; d < rank; d++) {
    if (shape[d]! > 1 && rng() < 0.25) {
      offset += (shape[d]! - 1) * strides[d]!;
      strides[d] = -strides[d]!;
    }
  }
  const data = fillRandom(rng, new Float32Array(numel(pshape) + 3), scale, specials);
  return { data, offset, shape, strides };
}

/** operand view broadcast to `shape`: some dims are size 1 in memory (stride 0 in the view). */
function broadcastView(
  rng: Rng,
  shape: number[],
  layout: Layout,
  pBroadcast: number,
  specials = 0,
): View<Float32Array> {
  const own = shape.map((s) => (rng() < pBroadcast ? 1 : s));
  const v = randomView(rng, own, layout, 3, specials);
  return { ...v, shape, strides: v.strides.map((s, d) => (own[d] === 1 && shape[d] !== 1 ? 0 : s)) };
}

function randomShape(rng: Rng, maxRank: number, maxDim: number, allowZero = true, maxNumel = 50000): number[] {
  const rank = Math.floor(rng() * (maxRank + 1));
  const shape = Array.from({ length: rank }, () => {
    const r = rng();
    if (allowZero && r < 0.05) return 0;
    if (r < 0.2) return 1;
    return 1 + Math.floor(rng() * maxDim);
  });
  while (numel(shape) > maxNumel) {
    const d = shape.indexOf(Math.max(...shape));
    shape[d] = Math.ceil(shape[d]! / 2);
  }
  return shape;
}

/** |a - b| <= tol * max(1, |b|) elementwise (NaN must match NaN; infinities must be equal). */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) !== Number.isNaN(a)) expect.fail(`${what}: [${i}] got ${a}, expected ${e}`);
      continue;
    }
    if (a === e) continue;
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) expect.fail(`${what}: [${i}] got ${a}, expected ${e}`);
  }
}

function expectEqual(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expectClose(actual, expected, 0, what);
}

const NATIVE_UNARY: UnaryOp[] = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "tanh",
  "abs",
  "relu",
  "sigmoid",
  "silu",
  "gelu_new",
  "gelu",
  "square",
  "reciprocal",
];
const ARITH: BinaryOp[] = ["add", "sub", "mul", "div", "maximum", "minimum", "pow"];
const COMPARE: BinaryOp[] = ["eq", "ne", "lt", "le", "gt", "ge"];

/** Wide-range float32 inputs: ±0, subnormals, 1e-38..3e38 on a log grid, the ±100 region densely, specials. */
function wideInputs(): Float32Array {
  const vals: number[] = [
    0,
    -0,
    NaN,
    Infinity,
    -Infinity,
    1e-45,
    -1e-45,
    1e-40,
    -1e-40,
    1.17549435e-38,
    3.4028234e38,
    -3.4028234e38,
    88.72283,
    88.72284,
    88.8,
    89,
    -87.3,
    -103.9,
    -104,
    -150,
    0.625,
    -0.625,
    2,
    -2,
    9,
    -9,
    20,
    -20,
  ];
  for (let e = -38; e <= 38; e += 0.05) vals.push(10 ** e, -(10 ** e));
  for (let x = -120; x <= 120; x += 0.0173) vals.push(x);
  for (let x = -3; x <= 3; x += 0.000731) vals.push(x);
  return new Float32Array(vals);
}

const ISAS = addon
  ? ["avx512", "avx2", "generic"].filter((isa) => {
      const got = addon.opsSetIsa(isa);
      return got === isa;
    })
  : [];
if (addon) addon.opsSetIsa("auto");

describe("native ops", () => {
  const nb = addon ? new NativeBackend(addon) : (null as unknown as NativeBackend);

  it("reports an instruction set and loads as a backend", () => {
    expect(ISAS).toContain("generic");
    expect(["avx512", "avx2", "generic"]).toContain(nb.isa);
    expect(nb.name).toBe("native");
  });

  it("rejects views outside their buffers and wrong array types", () => {
    const x = new Float32Array(10);
    const out = new Float32Array(10);
    expect(() => addon!.unaryF32(1, x, out, new Float64Array([0, 1, 11, 1]))).toThrow(/bounds/);
    expect(() => addon!.unaryF32(1, x, out, new Float64Array([5, 2, 2, 5, -6, 1]))).toThrow(/bounds/);
    expect(() =>
      addon!.unaryF32(1, new Float64Array(10) as unknown as Float32Array, out, new Float64Array([0, 1, 10, 1])),
    ).toThrow(/Float32Array/);
    expect(() =>
      addon!.binaryF32(9, x, x, out as unknown as Uint8Array, new Float64Array([0, 0, 1, 10, 1, 1])),
    ).toThrow(/Uint8Array/);
    expect(() => addon!.softmaxF32(x, 3, 4, out, false, 0, 0)).toThrow();
    expect(() => addon!.reduceF32(0, x, out, 1, new Float64Array([0, 1, 0, 1]))).toThrow(/empty/);
  });

  it("delegates float64 and tiny inputs to the JS backend", () => {
    const x = new Float64Array([0.5, -1, 2]);
    const out = new Float64Array(3);
    nb.unary("exp", { data: x, offset: 0, shape: [3], strides: [1] }, out);
    expect(Array.from(out)).toEqual([Math.exp(0.5), Math.exp(-1), Math.exp(2)]);
    const s = new Float64Array(4);
    nb.softmax(new Float64Array([1, 2, 3, 4]), 2, 2, s);
    expectClose(
      s,
      [1 / (1 + Math.E), Math.E / (1 + Math.E), 1 / (1 + Math.E), Math.E / (1 + Math.E)],
      1e-15,
      "softmax f64",
    );
    expect(NATIVE_MIN.unary).toBeGreaterThan(0);
  });

  for (const isa of ISAS) {
    describe(`isa ${isa}`, () => {
      beforeAll(() => {
        expect(addon!.opsSetIsa(isa)).toBe(isa);
      });
      afterAll(() => {
        addon!.opsSetIsa("auto");
      });

      it("unary ops match float64 math within 1e-6 * max(1, |y|) over a wide range", () => {
        const x = wideInputs();
        const out = new Float32Array(x.length);
        for (const op of NATIVE_UNARY) {
          addon!.unaryF32(NATIVE_UNARY.indexOf(op), x, out, new Float64Array([0, 1, x.length, 1]));
          const f = UNARY_FNS[op];
          for (let i = 0; i < x.length; i++) {
            const ref = f(x[i]!);
            const y = out[i]!;
            if (Number.isNaN(ref)) {
              if (!Number.isNaN(y)) expect.fail(`${op}(${x[i]}) = ${y}, expected NaN`);
              continue;
            }
            if (y === Math.fround(ref)) continue;
            if (!(Math.abs(y - ref) <= 1e-6 * Math.max(1, Math.abs(ref))))
              expect.fail(`${op}(${x[i]}) = ${y}, expected ${ref}`);
          }
        }
      });

      it("unary ops over random strided views match the JS backend", () => {
        const rng = mulberry32(11);
        for (let t = 0; t < 60; t++) {
          const shape = randomShape(rng, 4, 9);
          const x = randomView(rng, shape, t % 3 === 0 ? "contig" : "any", 3, 0.05);
          for (const op of NATIVE_UNARY) {
            const n = numel(shape);
            const a = new Float32Array(n);
            const b = new Float32Array(n);
            const meta = new Float64Array([x.offset, shape.length, ...shape, ...x.strides]);
            addon!.unaryF32(NATIVE_UNARY.indexOf(op), x.data, a, meta);
            js.unary(op, x, b);
            expectClose(a, b, 2e-6, `${op} ${JSON.stringify(shape)} ${JSON.stringify(x.strides)}`);
          }
        }
      });

      it("unary ops on large inputs (threaded path), contiguous and strided", () => {
        const rng = mulberry32(12);
        for (const layout of ["contig", "any"] as const) {
          const x = randomView(rng, [37, 11, 613], layout, 4, 0.001);
          const n = numel(x.shape);
          for (const op of ["gelu_new", "exp", "tanh", "gelu", "neg"] as UnaryOp[]) {
            const a = new Float32Array(n);
            const b = new Float32Array(n);
            nb.unary(op, x, a);
            js.unary(op, x, b);
            expectClose(a, b, 2e-6, `${op} ${layout}`);
          }
        }
      });

      it("binary ops with broadcasting and strided views match the JS backend", () => {
        const rng = mulberry32(21);
        for (let t = 0; t < 120; t++) {
          const shape = randomShape(rng, 4, t % 2 ? 40 : 6);
          const layout: Layout = t % 4 === 0 ? "contig" : "any";
          const a = broadcastView(rng, shape, layout, t % 5 === 0 ? 0 : 0.3, 0.05);
          const b = broadcastView(rng, shape, layout, t % 3 === 0 ? 1 : 0.3, 0.05);
          const n = numel(shape);
          for (const op of [...ARITH, ...COMPARE]) {
            const cmp = COMPARE.includes(op);
            const x = cmp ? new Uint8Array(n) : new Float32Array(n);
            const y = cmp ? new Uint8Array(n) : new Float32Array(n);
            const meta = new Float64Array([a.offset, b.offset, shape.length, ...shape, ...a.strides, ...b.strides]);
            addon!.binaryF32([...ARITH, ...COMPARE].indexOf(op), a.data, b.data, x, meta);
            js.binary(op, a, b, y);
            if (op === "pow") expectClose(x, y, 1e-6, `${op} ${JSON.stringify(shape)}`);
            else
              expectEqual(
                x,
                y,
                `${op} ${JSON.stringify(shape)} a ${JSON.stringify(a.strides)} b ${JSON.stringify(b.strides)}`,
              );
          }
        }
      });

      it("binary fast paths: same shape, scalar either side, row and column broadcast, transposed, large", () => {
        const rng = mulberry32(22);
        const R = 300;
        const C = 257;
        const full = randomView(rng, [R, C], "contig", 3, 0.01);
        const row = randomView(rng, [C], "contig", 3, 0.01);
        const col = randomView(rng, [R, 1], "contig", 3, 0.01);
        const scalar = randomView(rng, [1], "contig");
        const tbuf = randomView(rng, [C, R], "contig");
        const cases: [string, View<Float32Array>, View<Float32Array>][] = [
          ["same", full, randomView(rng, [R, C], "contig")],
          ["row", full, { ...row, shape: [R, C], strides: [0, 1] }],
          ["row-left", { ...row, shape: [R, C], strides: [0, 1] }, full],
          ["col", full, { ...col, shape: [R, C], strides: [1, 0] }],
          ["scalar-right", full, { ...scalar, shape: [R, C], strides: [0, 0] }],
          ["scalar-left", { ...scalar, shape: [R, C], strides: [0, 0] }, full],
          ["transposed", full, { ...tbuf, shape: [R, C], strides: [1, R] }],
          ["outer", { ...col, shape: [R, C], strides: [1, 0] }, { ...row, shape: [R, C], strides: [0, 1] }],
        ];
        for (const [name, a, b] of cases) {
          for (const op of [...ARITH, ...COMPARE]) {
            const cmp = COMPARE.includes(op);
            const x = cmp ? new Uint8Array(R * C) : new Float32Array(R * C);
            const y = cmp ? new Uint8Array(R * C) : new Float32Array(R * C);
            nb.binary(op, a, b, x);
            js.binary(op, a, b, y);
            if (op === "pow") expectClose(x, y, 1e-6, `${name} ${op}`);
            else expectEqual(x, y, `${name} ${op}`);
          }
        }
      });

      it("copy between strided views matches the JS backend (and leaves the rest of dst alone)", () => {
        const rng = mulberry32(31);
        for (let t = 0; t < 80; t++) {
          const shape = randomShape(rng, 5, t % 2 ? 30 : 5);
          const src = randomView(rng, shape, t % 3 === 0 ? "contig" : "any");
          const dst = randomView(rng, shape, t % 4 === 0 ? "contig" : "any");
          const d1 = dst.data.slice();
          const d2 = dst.data.slice();
          addon!.copyF32(
            src.data,
            d1,
            new Float64Array([src.offset, dst.offset, shape.length, ...shape, ...src.strides, ...dst.strides]),
          );
          js.copy(src, { ...dst, data: d2 });
          expectEqual(d1, d2, `copy ${JSON.stringify(shape)}`);
        }
        const big = randomView(rng, [64, 48, 70], "any");
        const out1 = new Float32Array(numel(big.shape));
        const out2 = new Float32Array(numel(big.shape));
        const c = { data: out1, offset: 0, shape: big.shape, strides: contiguousStrides(big.shape) };
        nb.copy(big, c);
        js.copy(big, { ...c, data: out2 });
        expectEqual(out1, out2, "large copy");
        // transposes (tiled path): contiguous dst from a transposed src, transposed dst from a contiguous src
        for (const [A, B] of [
          [50, 70],
          [64, 96],
          [9, 300],
          [33, 8],
        ]) {
          const base = randomView(rng, [3, B!, A!], "contig");
          const srcT: View<Float32Array> = { ...base, shape: [3, A!, B!], strides: [A! * B!, 1, A!] };
          const o1 = new Float32Array(3 * A! * B!);
          const o2 = new Float32Array(3 * A! * B!);
          const dv = { data: o1, offset: 0, shape: [3, A!, B!], strides: [A! * B!, B!, 1] };
          nb.copy(srcT, dv);
          js.copy(srcT, { ...dv, data: o2 });
          expectEqual(o1, o2, `transpose src ${A}x${B}`);
          const src = randomView(rng, [3, A!, B!], "contig");
          const p1 = new Float32Array(3 * A! * B! + 5);
          const p2 = p1.slice();
          const dT = { data: p1, offset: 5, shape: [3, A!, B!], strides: [A! * B!, 1, A!] };
          nb.copy(src, dT);
          js.copy(src, { ...dT, data: p2 });
          expectEqual(p1, p2, `transpose dst ${A}x${B}`);
        }
      });

      it("reductions over trailing dims of random (permuted) views match the JS backend", () => {
        const rng = mulberry32(41);
        const ops: ReduceOp[] = ["sum", "max", "min", "argmax", "argmin"];
        for (let t = 0; t < 150; t++) {
          const shape = randomShape(rng, 4, t % 2 ? 40 : 7, false);
          const nr = Math.floor(rng() * (shape.length + 1));
          const ints = t % 3 === 0; // small integers: many ties (first-index semantics)
          const x = randomView(rng, shape, t % 4 === 0 ? "contig" : "any", ints ? 1 : 3, t % 5 === 0 ? 0.02 : 0);
          if (ints) for (let i = 0; i < x.data.length; i++) x.data[i] = Math.round(x.data[i]! * 2);
          // ±3.4e38 make float64 sums depend on the summation order; keep the infinities and NaNs
          for (let i = 0; i < x.data.length; i++)
            if (Math.abs(x.data[i]!) > 1e30 && Number.isFinite(x.data[i])) x.data[i] = 0;
          const K = numel(shape.slice(0, shape.length - nr));
          const meta = new Float64Array([x.offset, shape.length, ...shape, ...x.strides]);
          for (const op of ops) {
            const isArg = op.startsWith("arg");
            const a = isArg ? new Int32Array(K) : new Float32Array(K);
            const b = isArg ? new Int32Array(K) : new Float32Array(K);
            addon!.reduceF32(ops.indexOf(op), x.data, a, nr, meta);
            js.reduce(op, x, nr, b);
            if (op === "sum")
              expectClose(
                a,
                b,
                1e-5,
                `sum ${JSON.stringify(shape)} ${JSON.stringify(x.strides)} off ${x.offset} nr ${nr}`,
              );
            else expectEqual(a, b, `${op} ${JSON.stringify(shape)} ${JSON.stringify(x.strides)} nr ${nr}`);
          }
        }
      });

      it("reductions: column mode, chunked whole-tensor mode, NaN handling", () => {
        const rng = mulberry32(42);
        const ops: ReduceOp[] = ["sum", "max", "min", "argmax", "argmin"];
        const cases: [string, View<Float32Array>, number][] = [];
        const m = randomView(rng, [700, 300], "contig", 3, 0.0005);
        cases.push(["columns", { ...m, shape: [300, 700], strides: [1, 300] }, 1]);
        const t3 = randomView(rng, [40, 50, 60], "contig");
        cases.push(["columns-3d", { ...t3, shape: [60, 40, 50], strides: [1, 3000, 60] }, 2]);
        cases.push(["whole", randomView(rng, [1 << 19], "contig", 3, 0), 1]);
        const w2 = randomView(rng, [3, 200000], "contig", 3, 0.00001);
        cases.push(["few-long-rows", w2, 1]);
        cases.push(["whole-2d", w2, 2]);
        cases.push(["rows", randomView(rng, [5000, 64], "contig", 3, 0.001), 1]);
        for (const [name, x, nr] of cases) {
          const K = numel(x.shape.slice(0, x.shape.length - nr));
          for (const op of ops) {
            const isArg = op.startsWith("arg");
            const a = isArg ? new Int32Array(K) : new Float32Array(K);
            const b = isArg ? new Int32Array(K) : new Float32Array(K);
            nb.reduce(op, x, nr, a);
            js.reduce(op, x, nr, b);
            if (op === "sum") expectClose(a, b, 1e-5, `${name} sum`);
            else expectEqual(a, b, `${name} ${op}`);
          }
        }
        // NaN first / last, -inf, +inf
        const v = new Float32Array([1, NaN, 3, NaN, -Infinity, Infinity]);
        for (const [data, exp] of [
          [v, [NaN, NaN, NaN, 1, 1]],
          [new Float32Array([-Infinity, -Infinity, 2, 2]), [-Infinity, 2, -Infinity, 2, 0]],
        ] as const) {
          const big = new Float32Array(4096).fill(0);
          big.set(data);
          const out = new Float32Array(1);
          const idx = new Int32Array(1);
          const x = { data: big, offset: 0, shape: [data.length], strides: [1] };
          addon!.reduceF32(0, big, out, 1, new Float64Array([0, 1, data.length, 1]));
          expect(out[0]).toEqual(exp[0]);
          addon!.reduceF32(1, big, out, 1, new Float64Array([0, 1, data.length, 1]));
          expect(out[0]).toEqual(exp[1]);
          addon!.reduceF32(2, big, out, 1, new Float64Array([0, 1, data.length, 1]));
          expect(out[0]).toEqual(exp[2]);
          addon!.reduceF32(3, big, idx, 1, new Float64Array([0, 1, data.length, 1]));
          expect(idx[0]).toBe(exp[3]);
          addon!.reduceF32(4, big, idx, 1, new Float64Array([0, 1, data.length, 1]));
          expect(idx[0]).toBe(exp[4]);
          const r = new Int32Array(1);
          js.reduce("argmax", x, 1, r);
          expect(r[0]).toBe(exp[3]);
        }
      });

      it("softmax and log-softmax (with and without the causal mask) match the JS backend", () => {
        const rng = mulberry32(51);
        const shapes: [number, number][] = [
          [1, 1],
          [7, 1],
          [3, 5],
          [40, 21],
          [25200, 21],
          [17, 100],
          [5, 1000],
          [2, 50257],
          [64, 64],
        ];
        for (const [rows, cols] of shapes) {
          const x = fillRandom(rng, new Float32Array(rows * cols), 4, rows * cols > 100 ? 0.001 : 0);
          if (rows * cols > 100) for (let i = 0; i < x.length; i += 97) x[i] = -Infinity;
          for (const log of [false, true]) {
            const causals = [
              undefined,
              { qLen: cols, kOffset: 0 },
              { qLen: Math.max(1, Math.min(rows, 7)), kOffset: Math.max(0, cols - 7) },
            ];
            for (const causal of causals) {
              const a = new Float32Array(rows * cols);
              const b = new Float32Array(rows * cols);
              addon!.softmaxF32(x, rows, cols, a, log, causal ? causal.qLen : 0, causal ? causal.kOffset : 0);
              js.softmax(x, rows, cols, b, { log, causal });
              expectClose(a, b, 2e-6, `softmax ${rows}x${cols} log=${log} causal=${JSON.stringify(causal)}`);
            }
          }
        }
        // a NaN poisons its row only; +inf and all -inf rows give NaN like the reference; masked entries stay 0/-inf
        for (const cols of [3, 21, 40]) {
          const rows = 4;
          const x = fillRandom(rng, new Float32Array(rows * cols));
          x[1] = NaN;
          x[cols + 1] = Infinity;
          for (let i = 0; i < cols; i++) x[2 * cols + i] = -Infinity;
          for (const log of [false, true]) {
            for (const causal of [undefined, { qLen: 2, kOffset: 1 }]) {
              const a = new Float32Array(rows * cols);
              const b = new Float32Array(rows * cols);
              addon!.softmaxF32(x, rows, cols, a, log, causal ? causal.qLen : 0, causal ? causal.kOffset : 0);
              js.softmax(x, rows, cols, b, { log, causal });
              expectClose(a, b, 2e-6, `softmax specials ${cols} log=${log} causal=${!!causal}`);
            }
          }
        }
      });

      it("layer norm (with/without w, b, scaleOut; offset means) matches the JS backend", () => {
        const rng = mulberry32(61);
        for (const [rows, d] of [
          [1, 1],
          [3, 7],
          [10, 16],
          [33, 768],
          [2100, 768],
          [4, 1023],
        ] as [number, number][]) {
          const x = fillRandom(rng, new Float32Array(rows * d), 2);
          for (let r = 0; r < rows; r++)
            for (let i = 0; i < d; i++) x[r * d + i]! += r % 3 === 0 ? 50 : r % 3 === 1 ? -1000 : 0;
          const w = fillRandom(rng, new Float32Array(d), 1);
          const b = fillRandom(rng, new Float32Array(d), 1);
          for (const [ww, bb, withScale] of [
            [w, b, true],
            [null, null, false],
            [w, null, true],
            [null, b, false],
          ] as const) {
            const a = new Float32Array(rows * d);
            const e = new Float32Array(rows * d);
            const sa = withScale ? new Float32Array(rows) : null;
            const se = withScale ? new Float32Array(rows) : null;
            addon!.layerNormF32(x, rows, d, 1e-5, ww, bb, a, sa);
            js.layerNorm(x, rows, d, 1e-5, ww, bb, e, se);
            expectClose(a, e, 1e-6, `layerNorm ${rows}x${d}`);
            if (sa && se) expectClose(sa, se, 1e-6, "scale");
          }
        }
      });
    });
  }

  it("gemm goes to sgemm and reuses packed B while the cache key's version is unchanged", () => {
    const rng = mulberry32(71);
    const m = 33;
    const k = 70;
    const n = 45;
    const a = fillRandom(rng, new Float32Array(m * k), 1);
    const b = fillRandom(rng, new Float32Array(k * n), 1);
    let packs = 0;
    const counting = new NativeBackend({
      ...addon!,
      sgemmPackB: (...args: Parameters<NonNullable<NonNullable<typeof addon>["sgemmPackB"]>>) => {
        packs++;
        return addon!.sgemmPackB!(...args);
      },
    } as typeof addon & object);
    const key = {};
    const run = (version: number, backend: NativeBackend | JsBackend) => {
      const out = new Float32Array(m * n);
      backend.gemm({
        batch: 1,
        m,
        n,
        k,
        a,
        aOffsets: new Float64Array([0]),
        aRowStride: k,
        aColStride: 1,
        b,
        bOffsets: new Float64Array([0]),
        bRowStride: n,
        bColStride: 1,
        out,
        bCache: { key, version },
      });
      return out;
    };
    const ref = run(0, js);
    expectClose(run(0, counting), ref, 1e-5, "gemm");
    expectClose(run(0, counting), ref, 1e-5, "gemm cached");
    expect(packs).toBe(1);
    b[0]! += 1;
    const ref2 = run(1, js);
    expectClose(run(1, counting), ref2, 1e-5, "gemm repacked");
    expect(packs).toBe(2);
  });
});
