// The bf16 GEMM (GemmArgs.precision "bf16"): inputs rounded to bfloat16, products accumulated in fp32. The
// emulated path (js backend, and the native backend on CPUs without AVX512-BF16) and the AVX512-BF16 kernel
// (native/gemm_bf16*.c, where this CPU has it) against a float64 reference with its own rounding.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { bf16RoundBits, roundToBf16 } from "../../src/backend/bf16.js";
import { JsBackend } from "../../src/backend/js.js";
import { loadNativeAddon, NativeBackend, type NativeAddon } from "../../src/backend/native.js";
import type { GemmArgs } from "../../src/backend/types.js";

/** x rounded to bf16 by float64 arithmetic: nearest multiple of 2^(e-7), ties to even; fp32 subnormals → 0. */
function refBf16(x: number): number {
  const f = Math.fround(x);
  if (Number.isNaN(f) || !Number.isFinite(f) || f === 0) return f;
  const mag = Math.abs(f);
  if (mag < 2 ** -126) return f < 0 ? -0 : 0;
  let e = Math.floor(Math.log2(mag));
  if (2 ** e > mag) e--;
  if (2 ** (e + 1) <= mag) e++;
  const ulp = 2 ** (e - 7);
  const q = f / ulp;
  const fl = Math.floor(q);
  const d = q - fl;
  const r = d > 0.5 ? fl + 1 : d < 0.5 ? fl : fl % 2 === 0 ? fl : fl + 1;
  return Math.fround(r * ulp);
}

let seed = 2024;
function rand(): number {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 2147483648 - 1;
}
const randArray = (len: number): Float32Array => Float32Array.from({ length: len }, rand);

interface Case {
  batch: number;
  m: number;
  n: number;
  k: number;
  ta: boolean;
  tb: boolean;
}

/** GemmArgs for a case: A[q] [m, k] (transposed storage when ta), one B [k, n] shared by the batch (transposed when tb). */
function makeArgs(c: Case): GemmArgs<Float32Array> {
  const pad = 5;
  const a = randArray(c.batch * c.m * c.k + 2 * pad);
  const b = randArray(c.k * c.n + 2 * pad);
  return {
    batch: c.batch,
    m: c.m,
    n: c.n,
    k: c.k,
    a,
    aOffsets: Float64Array.from({ length: c.batch }, (_, q) => pad + q * c.m * c.k),
    aRowStride: c.ta ? 1 : c.k,
    aColStride: c.ta ? c.m : 1,
    b,
    bOffsets: new Float64Array(c.batch).fill(pad),
    bRowStride: c.tb ? 1 : c.n,
    bColStride: c.tb ? c.k : 1,
    out: new Float32Array(c.batch * c.m * c.n),
    precision: "bf16",
  };
}

/** Per output entry: ref = Σ bf16(a)·bf16(b) in float64 and abs = Σ |bf16(a)·bf16(b)|. */
function reference(g: GemmArgs<Float32Array>): { ref: Float64Array; abs: Float64Array } {
  const ref = new Float64Array(g.batch * g.m * g.n),
    abs = new Float64Array(ref.length);
  for (let q = 0; q < g.batch; q++)
    for (let i = 0; i < g.m; i++)
      for (let j = 0; j < g.n; j++) {
        let s = 0,
          sa = 0;
        for (let p = 0; p < g.k; p++) {
          const x =
            refBf16(g.a[g.aOffsets[q]! + i * g.aRowStride + p * g.aColStride]!) *
            refBf16(g.b[g.bOffsets[q]! + p * g.bRowStride + j * g.bColStride]!);
          s += x;
          sa += Math.abs(x);
        }
        ref[(q * g.m + i) * g.n + j] = s;
        abs[(q * g.m + i) * g.n + j] = sa;
      }
  return { ref, abs };
}

/** Max over entries of |out - expected| / (rel · abs): ≤ 1 when every entry is within its bound. */
function worst(out: ArrayLike<number>, expected: ArrayLike<number>, abs: Float64Array, rel: number): number {
  let w = 0;
  for (let i = 0; i < abs.length; i++) {
    const e = Math.abs(out[i]! - expected[i]!) / (rel * abs[i]! + 1e-30);
    if (!(e <= w)) w = Number.isNaN(e) ? Infinity : e;
  }
  return w;
}

const CASES: Case[] = [
  { batch: 1, m: 1, n: 1, k: 1, ta: false, tb: false },
  { batch: 1, m: 1, n: 33, k: 3, ta: false, tb: false },
  { batch: 1, m: 21, n: 100, k: 1100, ta: false, tb: false }, // two K blocks, n tail
  { batch: 1, m: 15, n: 31, k: 31, ta: false, tb: false },
  { batch: 1, m: 14, n: 32, k: 64, ta: false, tb: false },
  { batch: 1, m: 60, n: 300, k: 200, ta: false, tb: false }, // threaded, M parts
  { batch: 1, m: 29, n: 65, k: 33, ta: true, tb: false },
  { batch: 1, m: 7, n: 40, k: 45, ta: false, tb: true },
  { batch: 1, m: 22, n: 17, k: 50, ta: true, tb: true },
  { batch: 3, m: 21, n: 48, k: 77, ta: false, tb: false },
];
const name = (c: Case): string =>
  `${c.batch}x[${c.m}, ${c.k}] @ [${c.k}, ${c.n}]${c.ta ? " Aᵀ" : ""}${c.tb ? " Bᵀ" : ""}`;

// fp32 accumulation of k exact products: |error| ≤ (k + 1) u Σ|products| (u = 2^-24); the js backend sums in
// float64 and rounds once
const FP32_SUMS = (k: number): number => (k + 2) * 2 ** -24;
const ONE_ROUNDING = 2 ** -23;

describe("bf16 rounding", () => {
  it("rounds to nearest even, keeps NaN and ±Infinity, flushes subnormals", () => {
    const special = [
      0,
      -0,
      1,
      1 + 2 ** -8,
      1 + 3 * 2 ** -8,
      1 + 2 ** -8 + 2 ** -20,
      -(1 + 2 ** -8),
      3.4028234663852886e38,
      -3.4028234663852886e38,
      Infinity,
      -Infinity,
      2 ** -126,
      2 ** -127,
      -(2 ** -140),
      1e-40,
      65504,
      Math.PI,
      -Math.E,
    ];
    const xs = Float32Array.from([...special, ...randArray(2000).map((v, i) => v * 2 ** ((i % 60) - 30))]);
    const got = roundToBf16(Float32Array.from(xs));
    xs.forEach((x, i) => expect(Object.is(got[i], refBf16(x)), `${x} → ${got[i]}, expected ${refBf16(x)}`).toBe(true));
    // ties: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 (even: 1); 1 + 3·2^-8 goes up to 1 + 2^-6 (even)
    expect(got[3]).toBe(1);
    expect(got[4]).toBe(1 + 2 ** -6);
    expect(got[7]).toBe(Infinity); // the largest float rounds up past bf16's largest
    const nan = new Float32Array([NaN]);
    expect(Number.isNaN(roundToBf16(nan)[0])).toBe(true);
    expect(bf16RoundBits(0x7f800001)).toBe(0x7fc00000); // a signalling NaN comes back quiet
  });
});

describe("bf16 GEMM, emulated (js backend)", () => {
  const js = new JsBackend();
  for (const c of CASES) {
    it(name(c), () => {
      const g = makeArgs(c);
      js.gemm(g);
      const r = reference(g);
      expect(worst(g.out, r.ref, r.abs, ONE_ROUNDING)).toBeLessThanOrEqual(1);
    });
  }

  it("differs from the fp32 product (the operands really are rounded)", () => {
    const g = makeArgs({ batch: 1, m: 4, n: 8, k: 64, ta: false, tb: false });
    js.gemm(g);
    const fp32 = new Float32Array(g.out.length);
    js.gemm({ ...g, out: fp32, precision: undefined });
    const diff = Math.max(...g.out.map((v, i) => Math.abs(v - fp32[i]!)));
    expect(diff).toBeGreaterThan(1e-3);
    expect(diff).toBeLessThan(0.2);
  });
});

const addon = loadNativeAddon();

describe("bf16 GEMM, native backend", () => {
  it("the addon is built with the bf16 module", () => {
    expect(addon).not.toBeNull();
    expect(typeof addon!.bf16Info).toBe("function");
  });
  const native = (): NativeBackend => new NativeBackend(addon as NativeAddon);

  for (const c of CASES) {
    it(`${name(c)} (${addon?.bf16Info?.().kernel ?? "?"})`, () => {
      const g = makeArgs(c);
      native().gemm(g);
      const r = reference(g);
      expect(worst(g.out, r.ref, r.abs, FP32_SUMS(c.k))).toBeLessThanOrEqual(1);
      // the js backend's emulation: the same numbers up to the order and width of the sums
      const emulated = new Float32Array(g.out.length);
      new JsBackend().gemm({ ...g, out: emulated });
      expect(worst(g.out, emulated, r.abs, FP32_SUMS(c.k) + ONE_ROUNDING)).toBeLessThanOrEqual(1);
    });
  }

  it("a cached weight is packed once and repacked when it is written", () => {
    const be = native();
    const g = makeArgs({ batch: 1, m: 21, n: 70, k: 96, ta: false, tb: false });
    const key = {};
    be.gemm({ ...g, bCache: { key, version: 0 } });
    const first = Float32Array.from(g.out);
    be.gemm({ ...g, bCache: { key, version: 0 } });
    expect(Array.from(g.out)).toEqual(Array.from(first));
    g.b.forEach((v, i) => {
      g.b[i] = -v;
    }); // B written in place: a new version
    be.gemm({ ...g, bCache: { key, version: 1 } });
    const r = reference(g);
    expect(worst(g.out, r.ref, r.abs, FP32_SUMS(g.k))).toBeLessThanOrEqual(1);
    expect(g.out[0]).toBeCloseTo(-first[0]!, 5);
  });

  it("emulates bf16 over the fp32 kernels where the CPU has no AVX512-BF16", () => {
    // the same addon, reporting no bf16 kernel: the path CPUs without AVX512-BF16 take
    const noBf16 = new NativeBackend({ ...(addon as NativeAddon), bf16Info: () => ({ fast: false, kernel: "none" }) });
    expect(noBf16.bf16Fast).toBe(false);
    for (const c of [CASES[2], CASES[6], CASES[9]]) {
      const g = makeArgs(c!);
      noBf16.gemm({ ...g, bCache: { key: {}, version: 0 } });
      const r = reference(g);
      expect(worst(g.out, r.ref, r.abs, FP32_SUMS(c!.k)), name(c!)).toBeLessThanOrEqual(1);
    }
  });

  it("NaN in A reaches only its row", () => {
    const g = makeArgs({ batch: 1, m: 16, n: 40, k: 20, ta: false, tb: false });
    g.a[g.aOffsets[0]! + 3 * g.k + 7] = NaN;
    native().gemm(g);
    for (let i = 0; i < g.m; i++)
      expect(g.out.subarray(i * g.n, (i + 1) * g.n).every((v) => Number.isNaN(v) === (i === 3))).toBe(true);
  });
});

/** Runs cases through the addon's bf16Gemm in a child process with env (kernel choices are made once per process):
 *  its kernel name and each case's output. */
function inChild(env: Record<string, string>, gs: GemmArgs<Float32Array>[]): { kernel: string; outs: number[][] } {
  const addonPath = fileURLToPath(new URL("../../build/Release/tlens_native.node", import.meta.url));
  const script = `const a = require(${JSON.stringify(addonPath)});
    const gs = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const outs = !a.bf16Info().fast ? [] : gs.map((g) => {
      const out = new Float32Array(g.batch * g.m * g.n);
      const packed = a.bf16PackB(Float32Array.from(g.b), g.bOffsets[0], g.bRowStride, g.bColStride, g.k, g.n);
      a.bf16Gemm(g.batch, g.m, g.n, g.k, Float32Array.from(g.a), Float64Array.from(g.aOffsets), g.aRowStride, g.aColStride, out, packed);
      return Array.from(out);
    });
    console.log(JSON.stringify({ kernel: a.bf16Info().kernel, outs }));`;
  const plain = gs.map((g) => ({
    ...g,
    a: Array.from(g.a),
    b: Array.from(g.b),
    aOffsets: Array.from(g.aOffsets),
    bOffsets: Array.from(g.bOffsets),
    out: [],
  }));
  const res = spawnSync(process.execPath, ["-e", script], {
    input: JSON.stringify(plain),
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
  expect(res.status, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as { kernel: string; outs: number[][] };
}

describe("bf16 GEMM, each kernel set of this CPU", () => {
  const picked = [CASES[1]!, CASES[2]!, CASES[6]!, CASES[7]!, CASES[9]!];
  const gs = picked.map(makeArgs);
  for (const [env, kernel] of [
    [{}, /AMX|AVX512-BF16|none/],
    [{ TLENS_GEMM_AMX: "0" }, /AVX512-BF16|none/],
    [{ TLENS_GEMM_BF16: "0" }, /none/],
  ] as const) {
    it(`${JSON.stringify(env)}`, () => {
      const r = inChild(env, gs);
      expect(r.kernel).toMatch(kernel);
      expect(r.outs.length).toBe(r.kernel === "none" ? 0 : gs.length);
      r.outs.forEach((out, i) => {
        const ref = reference(gs[i]!);
        expect(
          worst(out, ref.ref, ref.abs, FP32_SUMS(gs[i]!.k)),
          `${r.kernel} ${name(picked[i]!)}`,
        ).toBeLessThanOrEqual(1);
      });
    });
  }
});

describe("bf16 GEMM, the addon's checks", () => {
  const a = addon as NativeAddon;
  const fast = a.bf16Info?.().fast === true;
  it(fast ? "rejects bad packed buffers and out-of-range A" : "refuses to run without AVX512-BF16", () => {
    const b = randArray(12);
    const out = new Float32Array(6);
    const x = randArray(8);
    if (!fast) {
      expect(() => a.bf16PackB!(b, 0, 3, 1, 4, 3)).toThrow(/AVX512-BF16/);
      return;
    }
    const packed = a.bf16PackB!(b, 0, 3, 1, 4, 3); // [4, 3]
    a.bf16Gemm!(1, 2, 3, 4, x, new Float64Array([0]), 4, 1, out, packed);
    expect(out.every(Number.isFinite)).toBe(true);
    expect(() => a.bf16Gemm!(1, 2, 3, 4, x, new Float64Array([1]), 4, 1, out, packed)).toThrow(
      /A\[0\].*reaches outside a/,
    );
    expect(() => a.bf16Gemm!(1, 2, 3, 5, x, new Float64Array([0]), 4, 1, out, packed)).toThrow(/holds a \[4, 3\] B/);
    expect(() => a.bf16Gemm!(1, 2, 3, 4, x, new Float64Array([0]), 4, 1, out, new ArrayBuffer(200))).toThrow(
      /not a buffer made by bf16PackB/,
    );
    expect(() => a.bf16Gemm!(1, 2, 3, 4, x, new Float64Array([0]), 4, 1, new Float32Array(5), packed)).toThrow(
      /out has 5 elements/,
    );
    expect(() => a.bf16PackB!(b, 1, 3, 1, 4, 3)).toThrow(/reaches outside b/);
  });
});
