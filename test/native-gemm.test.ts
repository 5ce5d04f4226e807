// Native sgemm / sgemmPackB against a float64 JS reference: edge sizes, transposed and broadcast strides,
// batches, packed B, and the errors thrown for bad arguments.
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import type { NativeGemmAddon } from "../src/backend/native.js";

const require = createRequire(import.meta.url);
const addonPath = "../build/Release/tlens_native.node";

let seed = 12345;
function rand(): number {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 2147483648 - 1;
}
function randArray(len: number): Float32Array {
  const x = new Float32Array(len);
  for (let i = 0; i < len; i++) x[i] = rand();
  return x;
}

interface Case {
  batch: number;
  m: number;
  n: number;
  k: number;
  a: Float32Array;
  aOff: Float64Array;
  ars: number;
  acs: number;
  b: Float32Array;
  bOff: Float64Array;
  brs: number;
  bcs: number;
}

// max over entries of |out - ref| / (sum |a*b| + tiny)
function check(c: Case, out: Float32Array): number {
  let worst = 0;
  for (let q = 0; q < c.batch; q++)
    for (let i = 0; i < c.m; i++)
      for (let j = 0; j < c.n; j++) {
        let s = 0,
          sa = 0;
        for (let kk = 0; kk < c.k; kk++) {
          const x = c.a[c.aOff[q]! + i * c.ars + kk * c.acs]! * c.b[c.bOff[q]! + kk * c.brs + j * c.bcs]!;
          s += x;
          sa += Math.abs(x);
        }
        const got = out[(q * c.m + i) * c.n + j]!;
        const err = Math.abs(got - s) / (sa + 1e-30);
        if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
      }
  return worst;
}

type Layout = "nn" | "tn" | "nt" | "tt";
function makeCase(batch: number, m: number, n: number, k: number, layout: Layout, shareB = false, pad = 3): Case {
  const ta = layout[0] === "t",
    tb = layout[1] === "t";
  const a = randArray(batch * m * k + pad * 2);
  const nb = shareB ? 1 : batch;
  const b = randArray(nb * k * n + pad * 2);
  const aOff = new Float64Array(batch),
    bOff = new Float64Array(batch);
  for (let q = 0; q < batch; q++) {
    aOff[q] = pad + q * m * k;
    bOff[q] = pad + (shareB ? 0 : q * k * n);
  }
  return {
    batch,
    m,
    n,
    k,
    a,
    aOff,
    ars: ta ? 1 : k,
    acs: ta ? m : 1,
    b,
    bOff,
    brs: tb ? 1 : n,
    bcs: tb ? k : 1,
  };
}

function run(nat: NativeGemmAddon, c: Case, packed: ArrayBuffer | null = null): Float32Array {
  const out = new Float32Array(c.batch * c.m * c.n).fill(777);
  nat.sgemm(c.batch, c.m, c.n, c.k, c.a, c.aOff, c.ars, c.acs, c.b, c.bOff, c.brs, c.bcs, out, packed);
  return out;
}

const TOL = 1e-5;

describe("native sgemm", () => {
  const nat = require(addonPath) as NativeGemmAddon;

  it("matches the float64 reference on edge sizes and every transpose layout", () => {
    const sizes = [0, 1, 2, 3, 13, 14, 15, 17, 31, 32, 33, 47, 64, 97];
    const layouts: Layout[] = ["nn", "tn", "nt", "tt"];
    let n = 0;
    for (const m of sizes)
      for (const nn of sizes)
        for (const k of [0, 1, 3, 16, 33, 64, 97]) {
          const c = makeCase(1, m, nn, k, layouts[n++ % 4]!);
          expect(check(c, run(nat, c)), `m=${m} n=${nn} k=${k}`).toBeLessThan(TOL);
        }
  });

  it("matches on larger shapes (threaded path, several K blocks, partial panels)", () => {
    for (const [m, n, k] of [
      [300, 530, 800],
      [129, 1000, 70],
      [1, 2000, 300],
      [700, 33, 600],
      [45, 77, 1200],
    ]) {
      for (const layout of ["nn", "tn", "nt", "tt"] as Layout[]) {
        const c = makeCase(1, m!, n!, k!, layout);
        expect(check(c, run(nat, c)), `${m}x${k}x${n} ${layout}`).toBeLessThan(TOL);
      }
    }
  });

  it("k = 0 gives zeros, and m = 0 or n = 0 writes nothing", () => {
    const c = makeCase(3, 5, 7, 0, "nn");
    expect(Array.from(run(nat, c)).every((x) => x === 0)).toBe(true);
    const out = new Float32Array(4).fill(5);
    nat.sgemm(
      2,
      0,
      7,
      3,
      new Float32Array(0),
      new Float64Array(2),
      3,
      1,
      new Float32Array(21),
      new Float64Array(2),
      7,
      1,
      out,
    );
    nat.sgemm(
      2,
      7,
      0,
      3,
      new Float32Array(21),
      new Float64Array(2),
      3,
      1,
      new Float32Array(0),
      new Float64Array(2),
      0,
      1,
      out,
    );
    expect(Array.from(out)).toEqual([5, 5, 5, 5]);
  });

  it("handles batches: many small attention-like products, and larger ones", () => {
    for (const [batch, m, n, k, layout] of [
      [1200, 21, 21, 64, "nt"],
      [37, 21, 64, 21, "nn"],
      [12, 100, 100, 64, "nt"],
      [3, 300, 200, 500, "tn"],
    ] as [number, number, number, number, Layout][]) {
      const c = makeCase(batch, m, n, k, layout);
      expect(check(c, run(nat, c)), `${batch}x${m}x${k}x${n}`).toBeLessThan(TOL);
    }
  });

  it("supports broadcast (zero) strides and shared / repeated offsets", () => {
    // B shared by every batch entry through equal offsets; A rows all equal (row stride 0)
    const c = makeCase(5, 40, 50, 60, "nn", true);
    c.ars = 0;
    expect(check(c, run(nat, c))).toBeLessThan(TOL);
    // B columns broadcast (col stride 0), A columns broadcast
    const d = makeCase(2, 33, 35, 20, "nn");
    d.bcs = 0;
    d.acs = 0;
    expect(check(d, run(nat, d))).toBeLessThan(TOL);
    // odd strides (a view with gaps)
    const e: Case = {
      batch: 2,
      m: 19,
      n: 23,
      k: 29,
      a: randArray(2 * 19 * 29 * 3 + 10),
      aOff: new Float64Array([1, 19 * 29 * 3 + 2]),
      ars: 29 * 3,
      acs: 3,
      b: randArray(2 * 29 * 23 * 2 + 10),
      bOff: new Float64Array([0, 29 * 23 * 2]),
      brs: 2,
      bcs: 29 * 2,
    };
    expect(check(e, run(nat, e))).toBeLessThan(TOL);
  });

  it("supports negative strides (flipped views)", () => {
    const m = 17,
      k = 40,
      n = 35;
    const a = randArray(m * k),
      b = randArray(k * n);
    const c: Case = {
      batch: 1,
      m,
      n,
      k,
      a,
      aOff: new Float64Array([(m - 1) * k]),
      ars: -k,
      acs: 1,
      b,
      bOff: new Float64Array([n - 1]),
      brs: n,
      bcs: -1,
    };
    expect(check(c, run(nat, c))).toBeLessThan(TOL);
  });

  it("uses a packed B shared by every batch entry", () => {
    for (const [batch, m, n, k, layout] of [
      [1, 300, 530, 800, "nn"],
      [4, 33, 100, 70, "nt"],
      [2, 1, 1000, 300, "tn"],
      [3, 14, 32, 256, "tt"],
      [1, 5, 3, 1, "nn"],
      // few rows (one prompt): the tall kernel (15..28 rows, column remainders above and below 16, two K blocks)
      // and the B-sliver-outer order (3-4 A slivers)
      [1, 21, 1010, 1500, "nn"],
      [1, 15, 40, 768, "nt"],
      [2, 28, 1000, 300, "tn"],
      [1, 22, 2304, 768, "nn"],
      [1, 50, 530, 800, "nn"],
      [1, 42, 100, 70, "tt"],
    ] as [number, number, number, number, Layout][]) {
      const c = makeCase(batch, m, n, k, layout, true);
      const packed = nat.sgemmPackB(c.b, c.bOff[0]!, c.brs, c.bcs, k, n);
      const out = new Float32Array(batch * m * n);
      // b / bOffsets are ignored when packedB is given
      nat.sgemm(batch, m, n, k, c.a, c.aOff, c.ars, c.acs, null, null, 0, 0, out, packed);
      expect(check(c, out), `${batch}x${m}x${k}x${n}`).toBeLessThan(TOL);
      expect(Array.from(run(nat, c, packed))).toEqual(Array.from(out));
    }
  });

  it("throws instead of reading or writing out of range", () => {
    const a = randArray(6),
      b = randArray(6),
      out = new Float32Array(4);
    const z = new Float64Array([0]);
    expect(() => nat.sgemm(1, 2, 2, 3, a, new Float64Array([1]), 3, 1, b, z, 2, 1, out)).toThrow(/outside a/);
    expect(() => nat.sgemm(1, 2, 2, 3, a, z, 3, 1, b, new Float64Array([1]), 2, 1, out)).toThrow(/outside b/);
    expect(() => nat.sgemm(1, 2, 2, 3, a, z, 3, 1, b, z, 3, 1, out)).toThrow(/outside b/);
    expect(() => nat.sgemm(1, 2, 2, 3, a, z, 3, 1, b, z, -2, 1, out)).toThrow(/outside b/);
    expect(() =>
      nat.sgemm(2, 2, 2, 3, a, new Float64Array([0, 0]), 3, 1, b, new Float64Array([0, 0]), 2, 1, out),
    ).toThrow(/out has/);
    expect(() => nat.sgemm(2, 2, 2, 3, a, z, 3, 1, b, new Float64Array([0, 0]), 2, 1, new Float32Array(8))).toThrow(
      /aOffsets/,
    );
    expect(() => nat.sgemm(1, 2, 2, 3, a, new Float64Array([0.5]), 3, 1, b, z, 2, 1, out)).toThrow(/outside a/);
    expect(() => nat.sgemm(1, 2.5, 2, 3, a, z, 3, 1, b, z, 2, 1, out)).toThrow(/m must be/);
    expect(() => nat.sgemm(1, -1, 2, 3, a, z, 3, 1, b, z, 2, 1, out)).toThrow(/m must be/);
    expect(() => nat.sgemm(1, 2, 2, 3, a, z, 3, 1e300, b, z, 2, 1, out)).toThrow();
    expect(() =>
      nat.sgemm(1, 2, 2, 3, new Float64Array(6) as unknown as Float32Array, z, 3, 1, b, z, 2, 1, out),
    ).toThrow(/Float32Array/);
    const packed = nat.sgemmPackB(b, 0, 2, 1, 3, 2);
    expect(() => nat.sgemm(1, 2, 2, 2, a, z, 3, 1, null, null, 0, 0, out, packed)).toThrow(/packedB/);
    expect(() => nat.sgemm(1, 2, 2, 3, a, z, 3, 1, null, null, 0, 0, out, new ArrayBuffer(64))).toThrow(/packedB/);
    expect(() =>
      nat.sgemm(1, 2, 2, 3, a, z, 3, 1, null, null, 0, 0, out, packed.slice(0, packed.byteLength - 4)),
    ).toThrow(/packedB/);
    expect(() =>
      nat.sgemm(1, 2, 2, 3, a, z, 3, 1, null, null, 0, 0, out, new Float32Array(4) as unknown as ArrayBuffer),
    ).toThrow(/packedB/);
    expect(() => nat.sgemmPackB(b, 1, 2, 1, 3, 2)).toThrow(/outside b/);
    // a copy of a packed buffer (other alignment) still works
    const copy = new ArrayBuffer(packed.byteLength);
    new Uint8Array(copy).set(new Uint8Array(packed));
    nat.sgemm(1, 2, 2, 3, a, z, 3, 1, null, null, 0, 0, out, copy);
    const ref = new Float32Array(4);
    nat.sgemm(1, 2, 2, 3, a, z, 3, 1, b, z, 2, 1, ref);
    expect(Array.from(out)).toEqual(Array.from(ref));
  });
});
