// The wasm backend (native/wasm/tlens.wasm, the native C kernels compiled to WebAssembly) against the JS reference,
// in Node: tensor ops over random layouts (permuted, stepped, reversed, broadcast, offset views), sizes on both
// sides of the thresholds where work goes to wasm, the kernels the tensor layer reaches indirectly (layer norm,
// causal softmax) and GEMM with a packed, cached B; the threaded build (tlens-mt.wasm, helpers in worker_threads)
// against the one-thread build.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { backendByName, registerWasmBackend } from "../../src/backend/index.js";
import type { Backend, BinaryOp } from "../../src/backend/types.js";
import { createWasmBackend, type WasmBackend, type WasmHelperInit, WASM_MIN } from "../../src/backend/wasm.js";
import { buildWasm } from "../../scripts/build-wasm.mjs";
import {
  assertClose,
  assertValues,
  cases,
  EPS32,
  on,
  pick,
  randTensor,
  Tensor,
  type Tol,
} from "../conformance/util.js";

let wasm: WasmBackend;
const js: Backend = backendByName("js");
/** The kernels, compiled for this run (`npm test` installs the toolchain first: scripts/test-tools.mjs). */
const built = mkdtempSync(path.join(tmpdir(), "tlens-wasm-"));
const readWasm = (name: string): Buffer => readFileSync(path.join(built, name));

beforeAll(async () => {
  buildWasm(built);
  wasm = await createWasmBackend(readWasm("tlens.wasm"));
  registerWasmBackend(wasm);
});
afterAll(() => rmSync(built, { recursive: true, force: true }));

/** One tensor computation on wasm and on js, compared. */
function same(ctx: string, f: () => Tensor, tol: Tol): void {
  const want = on("js", f);
  const got = on("wasm", f);
  assertClose(got, want, tol, ctx);
}

const UNARY: [string, (t: Tensor) => Tensor, Tol][] = [
  ["exp", (t) => t.exp(), { rtol: 1e-6, atol: 1e-30 }],
  ["log", (t) => t.log(), { rtol: 1e-6, atol: 1e-7 }],
  ["tanh", (t) => t.tanh(), { rtol: 1e-6, atol: 1e-7 }],
  ["sigmoid", (t) => t.sigmoid(), { rtol: 1e-6, atol: 1e-30 }],
  ["silu", (t) => t.silu(), { rtol: 1e-6, atol: 1e-6 }],
  ["gelu_new", (t) => t.geluNew(), { rtol: 1e-6, atol: 1e-6 }],
  ["gelu", (t) => t.gelu(), { rtol: 1e-6, atol: 1e-6 }],
  ["sqrt", (t) => t.sqrt(), { rtol: 2 * EPS32 }],
  ["rsqrt", (t) => t.rsqrt(), { rtol: 1e-6 }],
];
const BINARY: [BinaryOp, Tol][] = [
  ["add", { exact: true }],
  ["sub", { exact: true }],
  ["mul", { exact: true }],
  ["div", { rtol: 2 * EPS32 }],
  ["maximum", { exact: true }],
  ["minimum", { exact: true }],
  ["pow", { rtol: 2e-6 }],
  ["lt", { exact: true }],
  ["eq", { exact: true }],
];
/** Shapes below and above the wasm thresholds. */
const SHAPES = [[7], [3, 5], [40, 33], [2, 17, 45], [1300]];

describe("wasm backend vs js", () => {
  it("is the wasm backend, built from the C kernels", () => {
    expect(wasm.name).toBe("wasm");
    expect(
      on(
        "wasm",
        () =>
          Tensor.fromTypedArray(new Float32Array([1, 2]), [2])
            .exp()
            .dataSync()[1],
      ),
    ).toBeCloseTo(Math.E ** 2, 5);
  });

  it("unary ops over random layouts", () => {
    const fallback = vi.spyOn(wasm.js, "unary");
    for (const [op, f, tol] of UNARY) {
      cases(`wasm unary ${op}`, 20, (g, i) => {
        const x = randTensor(g, SHAPES[i % SHAPES.length]!, "float32", {
          kind: op === "log" || op === "sqrt" || op === "rsqrt" ? "positive" : "normal",
        });
        same(`${op} ${x.shape}`, () => f(x), tol);
      });
    }
    // the inputs over the threshold ran in wasm: only the small shapes ([7], [3, 5]) fell back
    expect(fallback.mock.calls.every(([, x]) => x.shape.reduce((p, s) => p * s, 1) < WASM_MIN.unary)).toBe(true);
    expect(fallback.mock.calls.length).toBe(UNARY.length * 8);
    fallback.mockRestore();
  });

  it("binary ops with broadcasting over random layouts", () => {
    for (const [op, tol] of BINARY) {
      cases(`wasm binary ${op}`, 20, (g, i) => {
        const shape = SHAPES[i % SHAPES.length]!;
        const a = randTensor(g, shape, "float32", { kind: op === "pow" ? "positive" : "normal" });
        // b: same shape, a bias along the last dim, or a scalar
        const bShape = pick(g, [shape, shape.slice(-1), [1]]);
        const b = randTensor(g, bShape!, "float32", { kind: op === "pow" ? "small-int" : "normal" });
        same(`${op} ${a.shape} ${b.shape}`, () => a.binary(op, b), tol);
      });
    }
  });

  it("sum / max / min over the last dims and matmul over random layouts", () => {
    cases("wasm reduce", 30, (g, i) => {
      const x = randTensor(g, SHAPES[i % SHAPES.length]!, "float32");
      same(`sum ${x.shape}`, () => x.sum(-1).to("float32"), { rtol: 1e-6, atol: 1e-6 });
      same(`max ${x.shape}`, () => x.max(-1), { exact: true });
      same(`min ${x.shape}`, () => x.min(-1), { exact: true });
    });
    cases("wasm matmul", 30, (g) => {
      const [m, k, n] = [g.int(1, 40), g.int(1, 300), g.int(1, 70)];
      const batch = pick(g, [[], [3]]);
      const a = randTensor(g, [...batch, m, k]);
      const b = randTensor(g, [k, n]);
      same(`matmul ${a.shape} @ ${b.shape}`, () => a.matmul(b), { rtol: 1e-5, atol: 1e-5 * Math.sqrt(k) });
    });
  });

  it("walks every layout in C (the addon's strided drivers): no strided binary or reduction over the thresholds falls back", () => {
    const binFallback = vi.spyOn(wasm.js, "binary");
    const redFallback = vi.spyOn(wasm.js, "reduce");
    cases("wasm strided", 30, (g, i) => {
      const shape = [
        [40, 33],
        [2, 17, 45],
        [6, 7, 8, 9],
      ][i % 3]!;
      const a = randTensor(g, shape, "float32", {
        layout: pick(g, ["permuted", "stepped", "reversed", "mixed"] as const),
      });
      const b = randTensor(g, pick(g, [shape, shape.slice(1), [shape[0]!, 1, ...shape.slice(2)]]), "float32", {
        layout: "mixed",
      });
      same(`mul ${a.shape} ${b.shape}`, () => a.mul(b), { exact: true });
      same(`gt ${a.shape} ${b.shape}`, () => a.binary("gt", b), { exact: true });
      same(`sum(0) ${a.shape}`, () => a.sum(0).to("float32"), { rtol: 1e-6, atol: 1e-6 });
      same(`max(-1) ${a.shape}`, () => a.max(-1), { exact: true });
      same(`argmax(-1) ${a.shape}`, () => a.argmax(-1), { exact: true });
      same(`argmin(0) ${a.shape}`, () => a.argmin(0), { exact: true });
    });
    const big = (x: { shape: readonly number[] }): boolean => x.shape.reduce((p, s) => p * s, 1) >= WASM_MIN.binary;
    expect(
      binFallback.mock.calls.filter(
        ([, a, b, out]) => big(a) && b.data instanceof Float32Array && out instanceof Float32Array,
      ),
    ).toEqual([]);
    expect(redFallback.mock.calls.filter(([, x]) => x.data instanceof Float32Array && big(x))).toEqual([]);
    binFallback.mockRestore();
    redFallback.mockRestore();
  });

  it("reports a driver's error as a typed message (views are checked in C too)", () => {
    const k = wasm.k;
    const p = k.tl_malloc(64);
    const meta = k.tl_malloc(64);
    new Float64Array(k.memory.buffer, meta, 4).set([0, 1, 20, 1]); // 20 elements of a 4-element buffer
    const err = k.tl_unary(1, p, 4, p, 20, meta, 4);
    const bytes = new Uint8Array(k.memory.buffer, err, 40);
    expect(String.fromCharCode(...bytes.subarray(0, bytes.indexOf(0)))).toMatch(/bounds/);
    k.tl_free(p);
    k.tl_free(meta);
  });

  it("softmax (plain, log, causal) and layer norm at the kernel interface", () => {
    cases("wasm softmax", 12, (g, i) => {
      const [rows, cols] = [g.int(1, 40), g.int(1, 60)];
      const x = Float32Array.from({ length: rows * cols }, () => g.normal() * 3);
      const qLen = g.int(1, rows + 1);
      const opts = [{}, { log: true }, { causal: { qLen, kOffset: g.int(0, 3) } }][i % 3];
      const want = new Float32Array(rows * cols);
      const got = new Float32Array(rows * cols);
      js.softmax(x, rows, cols, want, opts);
      wasm.softmax(x, rows, cols, got, opts);
      assertValues(got, want, { rtol: 1e-6, atol: 1e-7 }, `softmax ${rows}x${cols} ${JSON.stringify(opts)}`);
    });
    cases("wasm layerNorm", 12, (g, i) => {
      const [rows, d] = [g.int(1, 30), g.int(2, 200)];
      const x = Float32Array.from({ length: rows * d }, () => g.normal() * 2 + 1);
      const w = i % 2 ? Float32Array.from({ length: d }, () => g.normal()) : null;
      const b = i % 3 ? Float32Array.from({ length: d }, () => g.normal()) : null;
      const [want, got] = [new Float32Array(rows * d), new Float32Array(rows * d)];
      const [ws, gs] = [new Float32Array(rows), new Float32Array(rows)];
      js.layerNorm(x, rows, d, 1e-5, w, b, want, ws);
      wasm.layerNorm(x, rows, d, 1e-5, w, b, got, gs);
      assertValues(got, want, { rtol: 1e-5, atol: 1e-5 }, `layerNorm ${rows}x${d}`);
      assertValues(gs, ws, { rtol: 1e-6 }, `layerNorm scale ${rows}x${d}`);
    });
  });

  it("GEMM with a cached packed B: reused while its version holds, repacked when the weight changes", () => {
    const [m, k, n] = [5, 70, 90];
    const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.3));
    const key = {};
    const gemm = (version: number): Float32Array => {
      const out = new Float32Array(m * n);
      wasm.gemm({
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
    const want = (): Float32Array => {
      const out = new Float32Array(m * n);
      js.gemm({
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
      });
      return out;
    };
    assertValues(gemm(0), want(), { rtol: 1e-5, atol: 1e-5 }, "first call (packs B)");
    assertValues(gemm(0), want(), { rtol: 1e-5, atol: 1e-5 }, "second call (cached B)");
    b[7]! += 10;
    expect(Math.max(...gemm(0).map((v, i) => Math.abs(v - want()[i]!)))).toBeGreaterThan(1e-3); // stale by contract
    assertValues(gemm(1), want(), { rtol: 1e-5, atol: 1e-5 }, "new version (repacked)");
  });

  it("sends inputs under the thresholds to the JS backend (same results, no staging)", () => {
    expect(WASM_MIN.unary).toBeGreaterThan(7);
    const x = Tensor.fromTypedArray(Float32Array.from([0.5, -1, 2]), [3]);
    expect(Array.from(on("wasm", () => x.tanh()).dataSync())).toEqual(Array.from(on("js", () => x.tanh()).dataSync()));
  });
});

describe("threaded wasm kernels (tlens-mt.wasm, 2 threads)", () => {
  const helpers: Worker[] = [];
  let mt: WasmBackend;

  /** A helper in a worker_thread, running test/browser/wasm-helper-node.ts through tsx. */
  const spawn = (init: WasmHelperInit): Promise<void> =>
    new Promise((resolve, reject) => {
      const url = new URL("./wasm-helper-node.ts", import.meta.url).href;
      const w = new Worker(
        `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(url)}); })`,
        { eval: true, workerData: init },
      );
      helpers.push(w);
      w.once("message", () => resolve());
      w.once("error", reject);
    });

  beforeAll(async () => {
    mt = await createWasmBackend(readWasm("tlens-mt.wasm"), { threads: { count: 2, spawn } });
  });
  afterAll(async () => {
    await Promise.all(helpers.map((w) => w.terminate()));
  });

  it("run GEMMs big enough to be split over the threads bit for bit as one thread does, and close to js", () => {
    expect(mt.threads).toBe(2);
    for (const [m, k, n] of [
      [168, 768, 3072],
      [21, 768, 4099],
      [7, 300, 200],
      [64, 1000, 33],
    ] as [number, number, number][]) {
      const a = Float32Array.from({ length: m! * k! }, (_, i) => Math.sin(i));
      const b = Float32Array.from({ length: k! * n! }, (_, i) => Math.cos(i * 0.1));
      const run = (be: Backend, cached: boolean): Float32Array => {
        const out = new Float32Array(m! * n!);
        be.gemm({
          batch: 1,
          m,
          n,
          k,
          a,
          aOffsets: new Float64Array([0]),
          aRowStride: k!,
          aColStride: 1,
          b,
          bOffsets: new Float64Array([0]),
          bRowStride: n!,
          bColStride: 1,
          out,
          bCache: cached ? { key: b, version: 0 } : undefined,
        });
        return out;
      };
      const one = run(wasm, false);
      expect(
        Array.from(run(mt, false)).every((v, i) => Object.is(v, one[i])),
        `${m}x${k}x${n}`,
      ).toBe(true);
      expect(
        Array.from(run(mt, true)).every((v, i) => Object.is(v, one[i])),
        `${m}x${k}x${n} packed`,
      ).toBe(true);
      if (m! * k! * n! < 5e7)
        assertValues(one, run(js, false), { rtol: 1e-5, atol: 1e-5 * Math.sqrt(k!) }, `${m}x${k}x${n} vs js`);
    }
  });

  /** f on the threaded build equals f on the one-thread build, bit for bit. */
  const sameOnMt = (what: string, f: () => Tensor): void => {
    const one = on("wasm", f);
    registerWasmBackend(mt);
    try {
      assertClose(on("wasm", f), one, { exact: true }, what);
    } finally {
      registerWasmBackend(wasm);
    }
  };

  it("split elementwise ops and reductions big enough over the threads bit for bit as one thread does", () => {
    cases("wasm-mt strided", 4, (g) => {
      const x = randTensor(g, [64, 48, 40], "float32", { layout: "mixed" });
      const y = randTensor(g, [48, 40], "float32", { layout: "mixed" });
      sameOnMt("mt add+exp+sum+argmax", () => x.add(y).exp().sum(0).to("float32").add(x.argmax(0).to("float32")));
    });
  });

  it("serve tensor ops bit for bit as the one-thread build (batched matmul, GELU, softmax)", () => {
    cases("wasm-mt ops", 6, (g) => {
      const x = randTensor(g, [3, 40, 96]);
      const w = randTensor(g, [96, 300]);
      sameOnMt("mt matmul+gelu+softmax", () => x.matmul(w).geluNew().softmax(-1));
    });
  });
});
