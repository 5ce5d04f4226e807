// gradcheck: compares the gradients backward() computes with central finite differences in float64
// (eps 1e-6, atol 1e-5, rtol 1e-3 unless given), for a random cotangent so non-scalar outputs are checked
// along a direction that mixes every output element.
import { noGradSync } from "../../src/tensor/autograd/mode.js";
import { Generator, randn, rand } from "../../src/tensor/random.js";
import { Tensor } from "../../src/tensor/tensor.js";

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

/** Storage offsets of every element of t, in row-major order of its shape (t may be any strided view). */
function elementOffsets(t: Tensor): number[] {
  const out: number[] = [];
  const idx = new Array<number>(t.ndim).fill(0);
  for (let k = 0; k < t.numel; k++) {
    out.push(idx.reduce((o, i, d) => o + i * t.strides[d]!, t.offset));
    for (let d = t.ndim - 1; d >= 0; d--) {
      if (++idx[d]! < t.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Σ fn(inputs) · r, without recording. */
function project(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], r: Tensor): number {
  return noGradSync(() =>
    fn(...inputs)
      .mul(r)
      .sum()
      .item(),
  );
}

/** Throws (with every mismatch listed) unless each input's analytic gradient matches finite differences.
 *  Inputs must be float64 leaves; they are made to require grad. Returns the largest absolute error. */
export async function gradcheck(
  fn: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: GradcheckOptions = {},
): Promise<number> {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, seed = 1234 } = opts;
  for (const x of inputs) {
    if (x.dtype !== "float64") throw new Error(`gradcheck: inputs must be float64, got ${x.dtype}`);
    if (x.gradFn) throw new Error(`gradcheck: inputs must be leaves, got one made by ${x.gradFn.name} (detach() it)`);
    x.grad = null;
    x.requiresGrad_();
  }
  const out = fn(...inputs);
  const r = randn(out.shape, { dtype: "float64", generator: new Generator(seed) });
  await out.backward(r);
  const failures: string[] = [];
  let worst = 0;
  inputs.forEach((x, i) => {
    const g = x.grad;
    if (g && (g.ndim !== x.ndim || g.shape.some((s, d) => s !== x.shape[d]))) {
      failures.push(`input ${i}: gradient shape [${g.shape}] differs from input shape [${x.shape}]`);
      return;
    }
    const analytic = g ? g.contiguous().dataSync() : new Float64Array(x.numel);
    const data = x.storage.data;
    elementOffsets(x).forEach((off, k) => {
      const orig = data[off]!;
      data[off] = orig + eps;
      const up = project(fn, inputs, r);
      data[off] = orig - eps;
      const down = project(fn, inputs, r);
      data[off] = orig;
      const numeric = (up - down) / (2 * eps);
      const err = Math.abs(analytic[k]! - numeric);
      worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
      if (!(err <= atol + rtol * Math.abs(numeric))) {
        failures.push(`input ${i} [${shapeIndex(x.shape, k)}]: analytic ${analytic[k]} vs numeric ${numeric}`);
      }
    });
  });
  if (failures.length) throw new Error(`gradcheck failed (${failures.length}):\n${failures.slice(0, 20).join("\n")}`);
  return worst;
}

function shapeIndex(shape: readonly number[], flat: number): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return out;
}

/** Seeded float64 inputs: normal, or uniform in [lo, hi). */
export function normal(shape: number[], seed = 1): Tensor {
  return randn(shape, { dtype: "float64", generator: new Generator(seed) });
}
export function uniform(shape: number[], lo: number, hi: number, seed = 1): Tensor {
  return rand(shape, { dtype: "float64", generator: new Generator(seed) })
    .mul(hi - lo)
    .add(lo);
}
