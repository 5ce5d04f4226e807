// Conformance at the kernel interface (src/backend/types.ts): raw strided views (negative, zero and odd
// strides, offsets), the kernels the tensor layer does not reach directly (layerNorm, causal softmax), sizes
// around the vector widths and the threading thresholds — native vs js, under every instruction set the
// native elementwise kernels can be switched to (opsSetIsa).
import { afterAll, describe, expect, it } from "vitest";
import { backendByName } from "../../src/backend/index.js";
import { contiguousStrides, numel } from "../../src/backend/strided.js";
import type { Backend, BinaryOp, ReduceOp, TypedArray, UnaryOp, View } from "../../src/backend/types.js";
import type { NativeBackend } from "../../src/backend/native.js";
import { assertValues, cases, EPS32, NATIVE_AVAILABLE, pick, requireNative, type Tol } from "./util.js";
import type { Generator } from "../../src/tensor/random.js";

const js = backendByName("js");
const native: Backend | null = NATIVE_AVAILABLE ? backendByName("native") : null;
const addon = native ? (native as NativeBackend).addon : null;

/** The instruction sets the native elementwise kernels can run on this CPU. */
const ISAS: string[] = (() => {
  if (!addon || typeof addon.opsSetIsa !== "function") return ["default"];
  const found = new Set<string>();
  for (const name of ["generic", "avx2", "avx512"]) found.add(addon.opsSetIsa(name));
  addon.opsSetIsa("auto");
  return [...found];
})();

afterAll(() => {
  addon?.opsSetIsa?.("auto");
});

function withIsa(isa: string, body: () => void): void {
  if (addon && isa !== "default") {
    const now = addon.opsSetIsa(isa);
    expect(now).toBe(isa);
  }
  try {
    body();
  } finally {
    if (addon && isa !== "default") addon.opsSetIsa("auto");
  }
}

function floats(g: Generator, n: number, kind: "normal" | "special" | "wide" = "normal"): Float32Array {
  const a = new Float32Array(n);
  const special = [0, -0, Infinity, -Infinity, NaN, 1e30, -1e30, 88.7, -103, 1e-40];
  for (let i = 0; i < n; i++)
    a[i] = kind === "special" && g.uniform() < 0.1 ? pick(g, special) : g.normal() * (kind === "wide" ? 6 : 1);
  return a;
}

/** A random strided view of `shape` into a fresh buffer: each dim gets stride ±(1..3)·inner or 0 (broadcast). */
function randView(g: Generator, shape: number[], opts: { allowZero?: boolean } = {}): View<Float32Array> {
  const order = [...shape.keys()];
  for (let i = order.length - 1; i > 0; i--) {
    const j = g.int(0, i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const strides = new Array<number>(shape.length).fill(0);
  let span = 1;
  let offset = g.int(0, 3);
  for (let k = order.length - 1; k >= 0; k--) {
    const d = order[k]!;
    if (opts.allowZero !== false && shape[d]! > 1 && g.uniform() < 0.15) {
      strides[d] = 0;
      continue;
    }
    const step = span * (g.uniform() < 0.3 ? g.int(2, 4) : 1);
    const neg = g.uniform() < 0.25;
    strides[d] = neg ? -step : step;
    if (neg) offset += step * (shape[d]! - 1);
    span = step * shape[d]! + (g.uniform() < 0.3 ? 1 : 0);
  }
  const data = floats(g, offset + span + g.int(0, 3));
  return { data, offset, shape, strides };
}

function desc(v: View): string {
  return `shape ${JSON.stringify(v.shape)} strides ${JSON.stringify(v.strides)} offset ${v.offset} (buffer ${v.data.length})`;
}

/** Runs a kernel on both backends into separate outputs and compares them. */
function both(ctx: string, alloc: () => TypedArray, run: (b: Backend, out: TypedArray) => void, tol: Tol): void {
  const want = alloc();
  run(js, want);
  if (!requireNative() || !native) return;
  const got = alloc();
  run(native, got);
  assertValues(got, want, tol, `${ctx} (native vs js)`);
}

const UNARY: [UnaryOp, Tol][] = [
  ["neg", { exact: true }],
  ["abs", { exact: true }],
  ["relu", { exact: true }],
  ["square", { exact: true }],
  ["sqrt", { rtol: 2 * EPS32 }],
  ["rsqrt", { rtol: 1e-6 }],
  ["reciprocal", { rtol: 2 * EPS32 }],
  ["exp", { rtol: 1e-6, atol: 1e-30 }],
  ["log", { rtol: 1e-6, atol: 1e-7 }],
  ["tanh", { rtol: 1e-6, atol: 1e-7 }],
  ["sigmoid", { rtol: 1e-6, atol: 1e-30 }],
  ["silu", { rtol: 1e-6, atol: 1e-6 }],
  ["gelu_new", { rtol: 1e-6, atol: 1e-6 }],
  ["gelu", { rtol: 1e-6, atol: 1e-6 }],
];
const BINARY: [BinaryOp, Tol][] = [
  ["add", { exact: true }],
  ["sub", { exact: true }],
  ["mul", { exact: true }],
  ["div", { rtol: 2 * EPS32 }],
  ["maximum", { exact: true }],
  ["minimum", { exact: true }],
  ["pow", { rtol: 2e-6 }],
  ["eq", { exact: true }],
  ["ne", { exact: true }],
  ["lt", { exact: true }],
  ["le", { exact: true }],
  ["gt", { exact: true }],
  ["ge", { exact: true }],
];
const SIZES = [15, 16, 17, 31, 33, 63, 64, 65, 127, 1000, 4099, 65537, 131075];

for (const isa of ISAS) {
  describe(`kernels (native ISA ${isa}) vs js`, () => {
    it("unary over flat buffers of sizes around vector widths and thresholds, with special values", () => {
      withIsa(isa, () => {
        for (const [op, tol] of UNARY) {
          cases(`k unary ${op} ${isa}`, SIZES.length, (g, i) => {
            const n = SIZES[i]!;
            const x = floats(g, n + 3, pick(g, ["normal", "special", "wide"] as const));
            const v: View = { data: x, offset: 3, shape: [n], strides: [1] };
            both(
              `${op} n=${n}`,
              () => new Float32Array(n),
              (b, out) => b.unary(op, v, out),
              tol,
            );
          });
        }
      });
    });

    it("unary / binary / copy over random strided views (negative, zero, gapped strides)", () => {
      withIsa(isa, () => {
        cases(`k strided ${isa}`, 60, (g) => {
          const rank = g.int(1, 5);
          const shape = Array.from({ length: rank }, () => g.int(1, rank > 2 ? 12 : 90));
          const n = numel(shape);
          const a = randView(g, shape);
          const bv = randView(g, shape);
          const [uop, utol] = pick(g, UNARY);
          const [bop, btol] = pick(g, BINARY);
          both(
            `${uop}(${desc(a)})`,
            () => new Float32Array(n),
            (b, out) => b.unary(uop, a, out),
            utol,
          );
          const cmpOut = bop === "eq" || bop === "ne" || bop === "lt" || bop === "le" || bop === "gt" || bop === "ge";
          both(
            `${bop}(${desc(a)}, ${desc(bv)})`,
            () => (cmpOut ? new Uint8Array(n) : new Float32Array(n)),
            (b, out) => b.binary(bop, a, bv, out),
            btol,
          );
          // copy into a strided destination (no zero strides there): compare the whole destination buffers
          const dst = randView(g, shape, { allowZero: false });
          both(
            `copy(${desc(a)} → ${desc(dst)})`,
            () => dst.data.slice(),
            (b, out) => b.copy(a, { ...dst, data: out as Float32Array }),
            { exact: true },
          );
        });
      });
    });

    it("reduce over random views, every op, any number of reduced dims (inner, outer, split rows)", () => {
      withIsa(isa, () => {
        const ops: ReduceOp[] = ["sum", "max", "min", "argmax", "argmin", "prod", "any", "all"];
        cases(`k reduce ${isa}`, 60, (g, i) => {
          const rank = g.int(1, 5);
          const big = i % 10 === 0;
          const shape = big
            ? pick(g, [[3, 70000], [70000, 3], [2, 300, 300], [140000]])
            : Array.from({ length: rank }, () => g.int(1, rank > 2 ? 12 : 90));
          const x = randView(g, shape);
          if (g.uniform() < 0.3) for (let k = 0; k < x.data.length; k++) x.data[k] = Math.round(x.data[k]!); // ties
          const nRed = g.int(0, shape.length + 1);
          const op = pick(g, ops);
          const outN = numel(shape.slice(0, shape.length - nRed));
          const isArg = op === "argmax" || op === "argmin";
          const redN = numel(shape.slice(shape.length - nRed));
          const tol: Tol =
            op === "sum"
              ? { rtol: 1e-6, atol: 1e-5 * Math.sqrt(redN) }
              : op === "prod"
                ? { rtol: 1e-5 }
                : { exact: true };
          both(
            `${op}(${desc(x)}, nReduced ${nRed})`,
            () => (isArg ? new Int32Array(outN) : new Float32Array(outN)),
            (b, out) => b.reduce(op, x, nRed, out),
            tol,
          );
        });
      });
    });

    it("softmax / log-softmax rows, with and without the causal mask", () => {
      withIsa(isa, () => {
        cases(`k softmax ${isa}`, 40, (g, i) => {
          const cols = i % 8 === 0 ? pick(g, [1024, 50257, 3000]) : g.int(1, 200);
          const qLen = g.int(1, 20);
          const rows = i % 8 === 0 ? qLen * g.int(1, 5) : qLen * g.int(1, 30);
          const x = floats(g, rows * cols, pick(g, ["normal", "wide", "special"] as const));
          const log = g.uniform() < 0.5;
          const causal = g.uniform() < 0.6 ? { qLen, kOffset: g.uniform() < 0.5 ? 0 : g.int(0, cols + 2) } : undefined;
          const tol: Tol = log ? { rtol: 1e-6, atol: 2e-6 } : { rtol: 1e-6, atol: 1e-7 };
          both(
            `softmax(rows ${rows}, cols ${cols}, log ${log}, causal ${JSON.stringify(causal)})`,
            () => new Float32Array(rows * cols),
            (b, out) => b.softmax(x, rows, cols, out as Float32Array, { log, causal }),
            tol,
          );
        });
      });
    });

    it("layerNorm with and without weight/bias and scaleOut (TransformerLens hook_scale)", () => {
      withIsa(isa, () => {
        cases(`k layernorm ${isa}`, 30, (g, i) => {
          const d = pick(g, [1, 2, 3, 16, 17, 64, 100, 768, 1029]);
          const rows = i % 6 === 0 ? Math.ceil(150000 / d) : g.int(1, 40);
          const x = floats(g, rows * d, "wide");
          if (g.uniform() < 0.2) for (let k = 0; k < d; k++) x[k] = 3; // a constant row: variance 0
          const shift = g.uniform() < 0.3 ? 1000 : 0; // large mean: cancellation in the variance
          for (let k = 0; k < x.length; k++) x[k]! += shift;
          const w = g.uniform() < 0.6 ? floats(g, d) : null;
          const bb = g.uniform() < 0.6 ? floats(g, d) : null;
          const eps = pick(g, [1e-5, 1e-6, 1e-12]);
          const wantScale = new Float32Array(rows);
          const want = new Float32Array(rows * d);
          js.layerNorm(x, rows, d, eps, w, bb, want, wantScale);
          if (!requireNative() || !native) return;
          const gotScale = new Float32Array(rows);
          const got = new Float32Array(rows * d);
          native.layerNorm(x, rows, d, eps, w, bb, got, g.uniform() < 0.8 ? gotScale : null);
          const ctx = `layerNorm(rows ${rows}, d ${d}, eps ${eps}, shift ${shift}, w ${!!w}, b ${!!bb})`;
          // the normalised values carry the error of the scale: |Δy| ≲ |y|·rel + a few ulps of |w|
          const tol: Tol = shift ? { rtol: 1e-4, atol: 1e-4 } : { rtol: 1e-5, atol: 1e-5 };
          assertValues(got, want, tol, `${ctx} (native vs js)`);
          if (gotScale.some((v) => v !== 0))
            assertValues(gotScale, wantScale, { rtol: shift ? 1e-5 : 1e-6 }, `${ctx} scale (native vs js)`);
        });
      });
    });
  });
}

describe("kernel references", () => {
  it("layerNorm equals the formula (x - mean) / sqrt(var + eps) · w + b, scale = sqrt(var + eps)", () => {
    const x = new Float32Array([1, 2, 3, 4, 10, 10, 10, 10]);
    const w = new Float32Array([1, 2, 1, 2]);
    const b = new Float32Array([0, 0, 1, 1]);
    for (const be of native ? [js, native] : [js]) {
      const out = new Float32Array(8);
      const scale = new Float32Array(2);
      be.layerNorm(x, 2, 4, 1e-5, w, b, out, scale);
      const s0 = Math.sqrt(1.25 + 1e-5);
      const s1 = Math.sqrt(1e-5);
      assertValues(scale, [s0, s1], { rtol: 1e-6 }, `scale on ${be.name}`);
      assertValues(
        out,
        [-1.5 / s0, (-0.5 / s0) * 2, 0.5 / s0 + 1, (1.5 / s0) * 2 + 1, 0, 0, 1, 1],
        { rtol: 1e-6, atol: 1e-6 },
        `layerNorm on ${be.name}`,
      );
      // big enough for the native kernel
      const rows = 50;
      const xb = new Float32Array(rows * 4);
      for (let r = 0; r < rows; r++) xb.set([1, 2, 3, 4], r * 4);
      const ob = new Float32Array(rows * 4);
      be.layerNorm(xb, rows, 4, 1e-5, null, null, ob, null);
      assertValues(
        ob,
        Array(rows)
          .fill([-1.5 / s0, -0.5 / s0, 0.5 / s0, 1.5 / s0])
          .flat(),
        { rtol: 1e-6 },
        `layerNorm (50 rows) on ${be.name}`,
      );
    }
  });

  it("causal softmax: row r of each [qLen, cols] block sees columns 0..=(r mod qLen)+kOffset", () => {
    const qLen = 3;
    const cols = 5;
    const rows = 6 * qLen; // 6 heads
    const x = new Float32Array(rows * cols).fill(0);
    for (const be of native ? [js, native] : [js]) {
      for (const kOffset of [0, 2]) {
        const out = new Float32Array(rows * cols);
        be.softmax(x, rows, cols, out, { causal: { qLen, kOffset } });
        const want: number[] = [];
        for (let r = 0; r < rows; r++) {
          const allowed = Math.min(cols, (r % qLen) + kOffset + 1);
          for (let c = 0; c < cols; c++) want.push(c < allowed ? 1 / allowed : 0);
        }
        assertValues(out, want, { rtol: 1e-6 }, `causal softmax kOffset ${kOffset} on ${be.name}`);
        const lout = new Float32Array(rows * cols);
        be.softmax(x, rows, cols, lout, { causal: { qLen, kOffset }, log: true });
        assertValues(lout, want.map(Math.log), { rtol: 1e-6 }, `causal log-softmax kOffset ${kOffset} on ${be.name}`);
      }
    }
  });

  it("gemm through the raw interface: per-batch offsets, negative strides, a cached B whose version changes", () => {
    const m = 5,
      n = 7,
      k = 6,
      batch = 3;
    const a = new Float32Array(batch * m * k + 10).map((_, i) => Math.sin(i));
    const bdat = new Float32Array(k * n + 4).map((_, i) => Math.cos(i));
    const aOffsets = new Float64Array([10 + (m - 1) * k, 10 + 2 * m * k - k, 10 + 3 * m * k - k].map((o) => o - 10)); // reversed rows
    const bOffsets = new Float64Array([4, 4, 4]);
    const run = (be: Backend, key: object | undefined, version: number): Float32Array => {
      const out = new Float32Array(batch * m * n);
      be.gemm({
        batch,
        m,
        n,
        k,
        a,
        aOffsets,
        aRowStride: -k,
        aColStride: 1,
        b: bdat,
        bOffsets,
        bRowStride: n,
        bColStride: 1,
        out,
        bCache: key ? { key, version } : undefined,
      });
      return out;
    };
    const want = run(js, undefined, 0);
    // reference by loops
    const ref: number[] = [];
    for (let bi = 0; bi < batch; bi++)
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += a[aOffsets[bi]! - i * k + p]! * bdat[4 + p * n + j]!;
          ref.push(s);
        }
    assertValues(want, ref, { rtol: 1e-6, atol: 1e-6 }, "gemm js vs loops");
    if (!requireNative() || !native) return;
    const key = {};
    assertValues(run(native, key, 0), want, { rtol: 1e-5, atol: 1e-6 }, "gemm native (packs B)");
    assertValues(run(native, key, 0), want, { rtol: 1e-5, atol: 1e-6 }, "gemm native (cached B)");
    bdat[4 + n + 2]! += 10; // in-place write ...
    const want2 = run(js, undefined, 0);
    assertValues(run(native, key, 1), want2, { rtol: 1e-5, atol: 1e-6 }, "gemm native after the write (version 1)");
  });
});

describe("subnormal float32 values are kept (no flush-to-zero)", () => {
  it("copy / neg / add / mul / max / comparisons on subnormals, on each ISA; JS arithmetic still has subnormals after the addon loaded", () => {
    expect(Number.MIN_VALUE / 2 + Number.MIN_VALUE).toBe(Number.MIN_VALUE); // V8 doubles unaffected
    expect(5e-324 * 2).toBe(1e-323);
    const n = 4096;
    const a = new Float32Array(n).map((_, i) => (i % 2 ? -1 : 1) * 1e-45 * (1 + (i % 1000)));
    const bb = new Float32Array(n).map((_, i) => 1e-41 * ((i % 7) - 3));
    for (const isa of ISAS)
      withIsa(isa, () => {
        const v = (d: Float32Array): View => ({ data: d, offset: 0, shape: [n], strides: [1] });
        both(
          `copy subnormals (${isa})`,
          () => new Float32Array(n),
          (be, out) => be.copy(v(a), { data: out as Float32Array, offset: 0, shape: [n], strides: [1] }),
          { exact: true, signedZero: true },
        );
        both(
          `neg subnormals (${isa})`,
          () => new Float32Array(n),
          (be, out) => be.unary("neg", v(a), out),
          { exact: true, signedZero: true },
        );
        both(
          `abs subnormals (${isa})`,
          () => new Float32Array(n),
          (be, out) => be.unary("abs", v(a), out),
          { exact: true },
        );
        both(
          `add subnormals (${isa})`,
          () => new Float32Array(n),
          (be, out) => be.binary("add", v(a), v(bb), out),
          { exact: true },
        );
        both(
          `mul subnormals (${isa})`,
          () => new Float32Array(n),
          (be, out) =>
            be.binary("mul", v(a), { data: new Float32Array(n).fill(3), offset: 0, shape: [n], strides: [1] }, out),
          { exact: true },
        );
        both(
          `maximum subnormals (${isa})`,
          () => new Float32Array(n),
          (be, out) => be.binary("maximum", v(a), v(bb), out),
          { exact: true },
        );
        both(
          `gt subnormals (${isa})`,
          () => new Uint8Array(n),
          (be, out) => be.binary("gt", v(a), v(bb), out),
          { exact: true },
        );
        both(
          `sum subnormals (${isa})`,
          () => new Float32Array(4),
          (be, out) => be.reduce("sum", { data: a, offset: 0, shape: [4, n / 4], strides: [n / 4, 1] }, 1, out),
          { exact: true },
        );
      });
  });
});

describe("kernel inputs are never written", () => {
  it("unary/binary/reduce/softmax/layerNorm/gemm leave their inputs alone on native", () => {
    if (!requireNative() || !native) return;
    const n = 70000;
    const x = new Float32Array(n).map((_, i) => Math.sin(i) * 3);
    const y = new Float32Array(n).map((_, i) => Math.cos(i));
    const x0 = x.slice();
    const y0 = y.slice();
    const v = (d: Float32Array): View => ({ data: d, offset: 0, shape: [n], strides: [1] });
    native.unary("exp", v(x), new Float32Array(n));
    native.binary("add", v(x), v(y), new Float32Array(n));
    native.reduce(
      "sum",
      { data: x, offset: 0, shape: [70, 1000], strides: contiguousStrides([70, 1000]) },
      1,
      new Float32Array(70),
    );
    native.softmax(x, 70, 1000, new Float32Array(n), {});
    native.layerNorm(x, 70, 1000, 1e-5, y.subarray(0, 1000), null, new Float32Array(n), null);
    native.gemm({
      batch: 1,
      m: 70,
      n: 70,
      k: 1000,
      a: x,
      aOffsets: new Float64Array([0]),
      aRowStride: 1000,
      aColStride: 1,
      b: y,
      bOffsets: new Float64Array([0]),
      bRowStride: 1,
      bColStride: 1000,
      out: new Float32Array(4900),
    });
    assertValues(x, x0, { exact: true }, "x after the kernels");
    assertValues(y, y0, { exact: true }, "y after the kernels");
  });
});
