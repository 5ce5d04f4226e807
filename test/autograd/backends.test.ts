// The float32 path: gradients computed with the native kernels (float32 GEMM, elementwise, softmax,
// reductions) match the js reference backend on the same graph. The float64 finite-difference checks run
// on the js kernels (native falls back to them for float64), so this is where native meets autograd.
import { describe, expect, it } from "vitest";
import { backendByName, getBackend, setBackend, type BackendName } from "../../src/backend/index.js";
import { Generator, randn, tensor, type Tensor } from "../../src/index.js";
import { PackedBCache } from "../../src/backend/packed-cache.js";
import type { Backend, GemmArgs } from "../../src/backend/types.js";
import { assertValues, requireNative, type Tol } from "../conformance/util.js";

/** An attention block with layer norm, gelu_new MLP and a log-softmax loss; returns every input's gradient. */
async function blockGradients(backend: BackendName): Promise<Float32Array[]> {
  const previous = getBackend().name;
  setBackend(backend);
  try {
    const g = new Generator(7);
    const p = (shape: number[], scale = 0.5): Tensor => randn(shape, { generator: g }).mul(scale).requiresGrad_();
    const x = p([2, 5, 8], 1); // [batch, pos, d_model]
    const [wq, wk, wv, wo, win, wout] = [p([8, 4]), p([8, 4]), p([8, 4]), p([4, 8]), p([8, 16]), p([16, 8])];
    const mask = tensor([...Array(5).keys()].map((i) => [...Array(5).keys()].map((j) => j > i)));
    const c = x.sub(x.mean(-1, true));
    const h = c.div(c.square().mean(-1, true).add(1e-5).sqrt()); // layer norm
    const scores = h.matmul(wq).matmul(h.matmul(wk).mT).div(2).maskedFill(mask, -Infinity); // [batch, q, k]
    const resid = x.add(scores.softmax(-1).matmul(h.matmul(wv)).matmul(wo));
    const out = resid.add(resid.matmul(win).geluNew().matmul(wout)); // [batch, pos, d_model]
    const loss = out.logSoftmax(-1).get(":", ":", 0).mean().neg();
    await loss.backward();
    return [x, wq, wk, wv, wo, win, wout].map((t) => t.grad!.dataSync() as Float32Array);
  } finally {
    setBackend(previous);
  }
}

describe("autograd on the native float32 kernels", () => {
  it("matches the js backend", async () => {
    if (!requireNative()) return;
    const native = await blockGradients("native");
    const js = await blockGradients("js");
    native.forEach((gn, i) => {
      const gj = js[i]!;
      expect(gn.length).toBe(gj.length);
      const scale = Math.max(...Array.from(gj, Math.abs));
      expect(scale).toBeGreaterThan(0);
      for (let k = 0; k < gn.length; k++) expect(Math.abs(gn[k]! - gj[k]!)).toBeLessThanOrEqual(1e-4 * scale + 1e-6);
    });
  });
});

/** Runs a kernel into a fresh n-element buffer on native and on js, and compares. */
function nativeVsJs(n: number, run: (b: Backend, out: Float32Array) => void, tol: Tol, ctx: string): void {
  const want = new Float32Array(n);
  const got = new Float32Array(n);
  run(backendByName("js"), want);
  run(backendByName("native"), got);
  assertValues(got, want, tol, ctx);
}

describe("backward kernels (native/grad.c) vs js", () => {
  it("softmaxBackward: softmax and log-softmax rows, below and above the threading and N-API thresholds", () => {
    if (!requireNative()) return;
    const g = new Generator(3);
    for (const [rows, cols] of [
      [1, 1],
      [3, 5],
      [7, 33],
      [64, 1000],
      [3, 50257],
      [2000, 21],
    ]) {
      for (const log of [false, true]) {
        const x = randn([rows!, cols!], { generator: g });
        const y = (log ? x.logSoftmax(-1) : x.softmax(-1)).dataSync() as Float32Array;
        const grad = randn([rows!, cols!], { generator: g }).dataSync() as Float32Array;
        nativeVsJs(
          rows! * cols!,
          (b, out) => b.softmaxBackward(y, grad, rows!, cols!, out, log),
          { rtol: 1e-5, atol: 1e-6 },
          `softmaxBackward(rows ${rows}, cols ${cols}, log ${log})`,
        );
      }
    }
  });

  it("geluNewBackward over the whole range, around the threading threshold", () => {
    if (!requireNative()) return;
    const gen = new Generator(5);
    for (const n of [1, 15, 100, 65536, 200003]) {
      const x = randn([n], { generator: gen }).mul(4).dataSync() as Float32Array;
      x[0] = n > 1 ? -20 : 0;
      const g = randn([n], { generator: gen }).dataSync() as Float32Array;
      // in float32, 1 + tanh(u) for u ≪ 0 and the terms that cancel where the derivative crosses 0 leave an
      // absolute error of ~1e-5·|g| (|g| < 5 here), as in torch's float32 formula
      nativeVsJs(n, (b, out) => b.geluNewBackward(x, g, out), { rtol: 1e-5, atol: 5e-5 }, `geluNewBackward(n ${n})`);
    }
  });
});

describe("the packed-weight cache in forward + backward", () => {
  it("keeps W and Wᵀ packed side by side, and repacks a layout after an in-place write", () => {
    const cache = new PackedBCache<string>();
    const key = {};
    const b = new Float32Array(12);
    const args = (rowStride: number, colStride: number, version: number): GemmArgs => ({
      batch: 1,
      m: 2,
      n: rowStride === 4 ? 4 : 3,
      k: rowStride === 4 ? 3 : 4,
      a: new Float32Array(0),
      aOffsets: new Float64Array([0]),
      aRowStride: 0,
      aColStride: 0,
      b,
      bOffsets: new Float64Array([0]),
      bRowStride: rowStride,
      bColStride: colStride,
      out: new Float32Array(0),
      bCache: { key, version },
    });
    let packs = 0;
    const pack = (): string => `p${++packs}`;
    const W = (v = 0): GemmArgs => args(4, 1, v); // [3, 4]
    const Wt = (v = 0): GemmArgs => args(1, 4, v); // its transpose [4, 3]
    for (let step = 0; step < 3; step++) {
      cache.get(W(), pack);
      cache.get(Wt(), pack);
    }
    expect(packs).toBe(2);
    expect(cache.get(W(1), pack)).toBe("p3"); // written in place: stale
    expect(cache.get(W(1), pack)).toBe("p3");
    expect(packs).toBe(3);
  });
});
