// The float32 path: gradients computed with the native kernels (float32 GEMM, elementwise, softmax,
// reductions) match the js reference backend on the same graph. The float64 finite-difference checks run
// on the js kernels (native falls back to them for float64), so this is where native meets autograd.
import { describe, expect, it } from "vitest";
import { getBackend, setBackend, type BackendName } from "../../src/backend/index.js";
import { Generator, randn, tensor, type Tensor } from "../../src/index.js";
import { requireNative } from "../conformance/util.js";

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
      const gj = js[i];
      expect(gn.length).toBe(gj.length);
      const scale = Math.max(...Array.from(gj, Math.abs));
      expect(scale).toBeGreaterThan(0);
      for (let k = 0; k < gn.length; k++) expect(Math.abs(gn[k] - gj[k])).toBeLessThanOrEqual(1e-4 * scale + 1e-6);
    });
  });
});
