// The reference itself: hand-computed values and torch semantics (run on the JS backend, and on native too,
// so that "native == js" means "native == right"). Each expectation was worked out by hand or is a known
// constant (values of erf/Φ, e, ...); torch's behaviour is quoted where it decides a corner case.
import { describe, expect, it } from "vitest";
import { arange, cat, eye, linspace, stack, tensor } from "../../src/tensor/create.js";
import { where } from "../../src/tensor/tensor.js";
import type { Index } from "../../src/tensor/indexing.js";
import {
  assertValues,
  cases,
  NATIVE_AVAILABLE,
  on,
  requireNative,
  randTensor,
  randShape,
  pick,
  Tensor,
  values,
  type DType,
  type Tol,
} from "./util.js";

const BACKENDS = NATIVE_AVAILABLE ? (["js", "native"] as const) : (["js"] as const);
const T32: Tol = { rtol: 2e-7, atol: 1e-7 };

/** Asserts dtype, shape and values (nested arrays, or a flat list). */
function expectT(t: Tensor, dtype: DType, shape: number[], want: number[], tol: Tol = { exact: true }, ctx = ""): void {
  expect(t.dtype, `${ctx} dtype`).toBe(dtype);
  expect(t.shape, `${ctx} shape`).toEqual(shape);
  assertValues(values(t), want, tol, ctx, shape);
}

/** Runs every check, then fails with all the messages (so one report lists every broken case). */
function all(checks: (() => void)[]): void {
  const errors: string[] = [];
  checks.forEach((c, i) => {
    try {
      c();
    } catch (e) {
      errors.push(`#${i + 1} ${(e as Error).name}: ${(e as Error).message.split("\n").slice(0, 3).join("\n  ")}`);
    }
  });
  if (errors.length) throw new Error(`${errors.length} of ${checks.length} checks failed:\n${errors.join("\n")}`);
}

/** Runs a block of expectations on each backend; large inputs make native take its own kernels. */
function onEach(body: (be: string) => void): void {
  requireNative();
  for (const be of BACKENDS) on(be, () => body(be));
}

const f32 = (xs: number[], shape?: number[]): Tensor => tensor(xs, shape ?? [xs.length], "float32");
const i32 = (xs: number[], shape?: number[]): Tensor => tensor(xs, shape ?? [xs.length], "int32");
/** The same row repeated `n` times (so that native kernels, not the small-input JS path, run) */
const rep = (xs: number[], n = 64): Tensor => f32(xs).unsqueeze(0).expand(n, xs.length).contiguous();

describe("reference values: elementwise", () => {
  it("transcendentals and activations at known points", () => {
    const x = [0, 1, -1, 0.5, 2, -3];
    const want: Record<string, number[]> = {
      exp: [1, Math.E, 1 / Math.E, 1.6487212707001282, 7.38905609893065, 0.049787068367863944],
      tanh: [0, 0.7615941559557649, -0.7615941559557649, 0.46211715726000974, 0.9640275800758169, -0.9950547536867305],
      sigmoid: [
        0.5, 0.7310585786300049, 0.2689414213699951, 0.6224593312018546, 0.8807970779778823, 0.04742587317756678,
      ],
      silu: [0, 0.7310585786300049, -0.2689414213699951, 0.3112296656009273, 1.7615941559557646, -0.14227761953270035],
      // exact gelu: x Φ(x)
      gelu: [
        0, 0.8413447460685429, -0.15865525393145707, 0.34573123063700656, 1.9544997361036416, -0.00404969409489031,
      ],
      // tanh approximation (GPT-2's gelu_new)
      geluNew: [
        0, 0.8411919906082768, -0.15880800939172324, 0.34571400982514394, 1.954597694087775, -0.0036373920817729943,
      ],
      relu: [0, 1, 0, 0.5, 2, 0],
      sign: [0, 1, -1, 1, 1, -1],
      square: [0, 1, 1, 0.25, 4, 9],
    };
    onEach((be) => {
      for (const [op, w] of Object.entries(want)) {
        const t = (rep(x) as unknown as Record<string, () => Tensor>)[op]!();
        expectT(t, "float32", [64, 6], Array.from({ length: 64 }, () => w).flat(), T32, `${op} on ${be}`);
      }
      const p = [4, 0.25, 1, 100];
      expectT(rep(p).sqrt(), "float32", [64, 4], Array(64).fill([2, 0.5, 1, 10]).flat(), T32, `sqrt on ${be}`);
      expectT(rep(p).rsqrt(), "float32", [64, 4], Array(64).fill([0.5, 2, 1, 0.1]).flat(), T32, `rsqrt on ${be}`);
      expectT(
        rep(p).reciprocal(),
        "float32",
        [64, 4],
        Array(64).fill([0.25, 4, 1, 0.01]).flat(),
        T32,
        `reciprocal on ${be}`,
      );
      expectT(
        rep(p).log(),
        "float32",
        [64, 4],
        Array(64)
          .fill([Math.log(4), Math.log(0.25), 0, Math.log(100)])
          .flat(),
        T32,
        `log on ${be}`,
      );
    });
  });

  it("domain edges: log(0) = -inf, log(-1) = NaN, sqrt(-1) = NaN, exp(±inf), 1/±0, tanh(±inf), sigmoid(±inf)", () => {
    onEach((be) => {
      const x = rep([0, -1, Infinity, -Infinity, -0]);
      const n = 64;
      const r = (w: number[]): number[] => Array(n).fill(w).flat();
      expectT(x.log(), "float32", [n, 5], r([-Infinity, NaN, Infinity, NaN, -Infinity]), T32, `log edges on ${be}`);
      expectT(x.sqrt(), "float32", [n, 5], r([0, NaN, Infinity, NaN, 0]), T32, `sqrt edges on ${be}`);
      expectT(x.exp(), "float32", [n, 5], r([1, 1 / Math.E, Infinity, 0, 1]), T32, `exp edges on ${be}`);
      expectT(x.reciprocal(), "float32", [n, 5], r([Infinity, -1, 0, -0, -Infinity]), T32, `reciprocal edges on ${be}`);
      expectT(x.tanh(), "float32", [n, 5], r([0, -0.7615941559557649, 1, -1, 0]), T32, `tanh edges on ${be}`);
      expectT(x.sigmoid(), "float32", [n, 5], r([0.5, 0.2689414213699951, 1, 0, 0.5]), T32, `sigmoid edges on ${be}`);
      expectT(x.relu(), "float32", [n, 5], r([0, 0, Infinity, 0, 0]), T32, `relu edges on ${be}`);
      expectT(rep([NaN, 1]).relu(), "float32", [n, 2], r([NaN, 1]), T32, `relu(NaN) on ${be}`);
      expectT(rep([NaN, -1]).sigmoid(), "float32", [n, 2], r([NaN, 0.2689414213699951]), T32, `sigmoid(NaN) on ${be}`);
    });
  });

  it("rounding: round half to even (torch.round), floor, ceil, on floats and ints", () => {
    onEach((be) => {
      const x = rep([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 3.7]);
      const r = (w: number[]): number[] => Array(64).fill(w).flat();
      expectT(x.round(), "float32", [64, 8], r([0, 2, 2, -0, -2, -2, 2, 4]), undefined, `round on ${be}`);
      expectT(x.floor(), "float32", [64, 8], r([0, 1, 2, -1, -2, -3, 2, 3]), undefined, `floor on ${be}`);
      expectT(x.ceil(), "float32", [64, 8], r([1, 2, 3, -0, -1, -2, 3, 4]), undefined, `ceil on ${be}`);
      expectT(i32([3, -4]).round(), "int32", [2], [3, -4], undefined, `round(int) on ${be}`);
    });
  });

  it("integer arithmetic: floor division and remainder follow Python (sign of the divisor); int / int is float", () => {
    onEach((be) => {
      const a = i32([-7, 7, -7, 7, 6]);
      const b = i32([2, -2, -2, 2, 3]);
      expectT(a.floorDivide(b), "int32", [5], [-4, -4, 3, 3, 2], undefined, `floorDivide on ${be}`);
      expectT(a.remainder(b), "int32", [5], [1, -1, -1, 1, 0], undefined, `remainder on ${be}`);
      expectT(a.div(b), "float32", [5], [-3.5, -3.5, 3.5, 3.5, 2], undefined, `int div on ${be}`);
      expectT(f32([-7.5, 7.5]).remainder(2), "float32", [2], [0.5, 1.5], undefined, `float remainder on ${be}`);
      expectT(i32([2, 3]).pow(i32([10, 3])), "int32", [2], [1024, 27], undefined, `int pow on ${be}`);
      expectT(i32([1, 2]).add(0.5), "float32", [2], [1.5, 2.5], undefined, `int + fractional scalar on ${be}`);
      expectT(i32([1, 2]).mul(f32([0.5, 0.5])), "float32", [2], [0.5, 1], undefined, `int * float on ${be}`);
    });
  });

  it("maximum/minimum/clamp propagate NaN (torch); comparisons with NaN are false except ne", () => {
    onEach((be) => {
      const a = rep([NaN, 1, -Infinity, 2]);
      const b = rep([1, NaN, 0, 2]);
      const r = (w: number[]): number[] => Array(64).fill(w).flat();
      expectT(a.maximum(b), "float32", [64, 4], r([NaN, NaN, 0, 2]), undefined, `maximum on ${be}`);
      expectT(a.minimum(b), "float32", [64, 4], r([NaN, NaN, -Infinity, 2]), undefined, `minimum on ${be}`);
      expectT(a.clamp(0, 1), "float32", [64, 4], r([NaN, 1, 0, 1]), undefined, `clamp on ${be}`);
      expectT(a.eq(b), "bool", [64, 4], r([0, 0, 0, 1]), undefined, `eq on ${be}`);
      expectT(a.ne(b), "bool", [64, 4], r([1, 1, 1, 0]), undefined, `ne on ${be}`);
      expectT(a.lt(b), "bool", [64, 4], r([0, 0, 1, 0]), undefined, `lt on ${be}`);
      expectT(a.ge(b), "bool", [64, 4], r([0, 0, 0, 1]), undefined, `ge on ${be}`);
    });
  });

  it("truthiness of NaN is true (torch: bool(nan), logical_not(nan) = False, any([nan]) = True, where(nan, ...))", () => {
    onEach((be) => {
      const x = f32([NaN, 0, -0, 2]);
      all([
        () => expectT(x.to("bool"), "bool", [4], [1, 0, 0, 1], undefined, `to(bool) on ${be}`),
        () => expectT(x.logicalNot(), "bool", [4], [0, 1, 1, 0], undefined, `logicalNot on ${be}`),
        () => expectT(x.logicalAnd(f32([1, 1, 1, 1])), "bool", [4], [1, 0, 0, 1], undefined, `logicalAnd on ${be}`),
        () => expectT(x.logicalOr(f32([0, 0, 0, 0])), "bool", [4], [1, 0, 0, 1], undefined, `logicalOr on ${be}`),
        () => expectT(x.logicalXor(f32([1, 1, 1, 1])), "bool", [4], [0, 1, 1, 0], undefined, `logicalXor on ${be}`),
        () => expectT(f32([NaN, 0]).any(), "bool", [], [1], undefined, `any on ${be}`),
        () => expectT(f32([NaN, 1]).all(), "bool", [], [1], undefined, `all on ${be}`),
        () =>
          expectT(
            where(x, f32([1, 1, 1, 1]), f32([2, 2, 2, 2])),
            "float32",
            [4],
            [1, 2, 2, 1],
            undefined,
            `where on ${be}`,
          ),
      ]);
    });
  });

  it("casts: float → int truncates toward zero; bool → 0/1; int → float exact", () => {
    onEach((be) => {
      expectT(
        f32([-2.7, 2.7, -0.5, 0.5, 100.99]).to("int32"),
        "int32",
        [5],
        [-2, 2, 0, 0, 100],
        undefined,
        `to(int32) on ${be}`,
      );
      expectT(i32([0, 5, -1]).to("bool"), "bool", [3], [0, 1, 1], undefined, `int to bool on ${be}`);
      expectT(
        tensor([true, false, true]).to("float32"),
        "float32",
        [3],
        [1, 0, 1],
        undefined,
        `bool to float on ${be}`,
      );
      expectT(i32([16777217, -3]).to("float64"), "float64", [2], [16777217, -3], undefined, `int to float64 on ${be}`);
      const big = arange(0, 70000, 1, "float32").sub(35000.5).mul(1.7);
      const trunc = Array.from(values(big)).map((v) => Math.trunc(Math.fround(v)));
      expectT(big.to("int32"), "int32", [70000], trunc, undefined, `large to(int32) on ${be}`);
    });
  });
});

describe("reference values: reductions and softmax", () => {
  it("softmax / logSoftmax / logsumexp of [1, 2, 3]", () => {
    const sm = [0.09003057317038046, 0.24472847105479767, 0.6652409557748219];
    onEach((be) => {
      const x = rep([1, 2, 3]);
      expectT(x.softmax(-1), "float32", [64, 3], Array(64).fill(sm).flat(), T32, `softmax on ${be}`);
      expectT(
        x.logSoftmax(1),
        "float32",
        [64, 3],
        Array(64).fill(sm.map(Math.log)).flat(),
        { rtol: 1e-6 },
        `logSoftmax on ${be}`,
      );
      expectT(x.logsumexp(1), "float32", [64], Array(64).fill(3.4076059644443806), T32, `logsumexp on ${be}`);
      expectT(
        x.mT.softmax(0),
        "float32",
        [3, 64],
        sm.flatMap((v) => Array(64).fill(v)),
        T32,
        `softmax dim 0 on ${be}`,
      );
      // shift invariance and huge logits
      expectT(
        rep([1001, 1002, 1003]).softmax(-1),
        "float32",
        [64, 3],
        Array(64).fill(sm).flat(),
        T32,
        `softmax(+1000) on ${be}`,
      );
      expectT(
        rep([-Infinity, 0, -Infinity]).softmax(-1),
        "float32",
        [64, 3],
        Array(64).fill([0, 1, 0]).flat(),
        undefined,
        `softmax one-hot on ${be}`,
      );
      expectT(
        rep([-Infinity, -Infinity]).softmax(-1),
        "float32",
        [64, 2],
        Array(128).fill(NaN),
        undefined,
        `softmax all -inf on ${be}`,
      );
    });
  });

  it("softmax rows sum to 1 and are positive for random inputs, any dim, any layout", () => {
    cases("softmax sums", 20, (g) => {
      const x = randTensor(g, randShape(g, { minRank: 1, allowZero: false }), "float32", { kind: "wide" });
      const d = g.int(0, x.ndim);
      onEach((be) => {
        const s = x.softmax(d);
        const sums = values(s.to("float64").sum(d));
        assertValues(sums, Array(sums.length).fill(1), { rtol: 1e-6 }, `softmax(${x.shape}, ${d}) row sums on ${be}`);
        expect(Array.from(values(s)).every((v) => v >= 0 && v <= 1)).toBe(true);
        // and equals the explicit formula exp(x - logsumexp)
        const ref = x.to("float64").sub(x.to("float64").logsumexp(d, true)).exp();
        assertValues(
          values(s),
          values(ref),
          { rtol: 1e-5, atol: 1e-7 },
          `softmax(${x.shape}, ${d}) vs exp(x - lse) on ${be}`,
        );
      });
    });
  });

  it("sum / mean / prod / var / std / norm / max / argmax on small known tensors", () => {
    onEach((be) => {
      const x = f32([1, 2, 3, 4, 5, 6], [2, 3]);
      expectT(x.sum(), "float32", [], [21], undefined, `sum on ${be}`);
      expectT(x.sum(0), "float32", [3], [5, 7, 9], undefined, `sum(0) on ${be}`);
      expectT(x.sum(-1, true), "float32", [2, 1], [6, 15], undefined, `sum(-1, keepdim) on ${be}`);
      expectT(x.sum([0, 1]), "float32", [], [21], undefined, `sum([0, 1]) on ${be}`);
      expectT(x.mean(1), "float32", [2], [2, 5], undefined, `mean(1) on ${be}`);
      expectT(x.prod(1), "float32", [2], [6, 120], undefined, `prod(1) on ${be}`);
      expectT(f32([1, 2, 3, 4]).var(), "float32", [], [5 / 3], T32, `var on ${be}`);
      expectT(f32([1, 2, 3, 4]).var(0, false, 0), "float32", [], [1.25], T32, `var(correction 0) on ${be}`);
      expectT(f32([1, 2, 3, 4]).std(), "float32", [], [Math.sqrt(5 / 3)], T32, `std on ${be}`);
      expectT(f32([3, -4]).norm(), "float32", [], [5], T32, `norm on ${be}`);
      expectT(f32([3, -4]).norm(0, false, 1), "float32", [], [7], T32, `norm p=1 on ${be}`);
      expectT(f32([3, -4]).norm(0, false, Infinity), "float32", [], [4], T32, `norm p=inf on ${be}`);
      expectT(x.max(1), "float32", [2], [3, 6], undefined, `max(1) on ${be}`);
      expectT(x.min(0, true), "float32", [1, 3], [1, 2, 3], undefined, `min(0, keepdim) on ${be}`);
      expectT(x.argmax(), "int32", [], [5], undefined, `argmax() flat on ${be}`);
      expectT(x.argmax(0), "int32", [3], [1, 1, 1], undefined, `argmax(0) on ${be}`);
      expectT(i32([1, 2, 3, 4, 5, 6], [2, 3]).mean(), "float32", [], [3.5], undefined, `mean(int) on ${be}`);
      expectT(tensor([true, true, false]).sum(), "int32", [], [2], undefined, `sum(bool) on ${be}`);
      expectT(i32([1, 2, 3]).cumsum(0), "int32", [3], [1, 3, 6], undefined, `cumsum on ${be}`);
      expectT(x.cumsum(0), "float32", [2, 3], [1, 2, 3, 5, 7, 9], undefined, `cumsum(0) on ${be}`);
    });
  });

  it("argmax/argmin pick the first of equal values and the first NaN; max/min propagate NaN", () => {
    onEach((be) => {
      const big = (xs: number[]): Tensor => rep(xs, 64); // 64 rows: native kernels
      const r = (w: number[]): number[] => Array(64).fill(w).flat();
      expectT(big([1, 3, 3, 2]).argmax(1), "int32", [64], r([1]), undefined, `argmax ties on ${be}`);
      expectT(big([2, 1, 1, 5]).argmin(1), "int32", [64], r([1]), undefined, `argmin ties on ${be}`);
      expectT(big([1, NaN, 5, NaN]).argmax(1), "int32", [64], r([1]), undefined, `argmax NaN on ${be}`);
      expectT(big([1, NaN, -5, NaN]).argmin(1), "int32", [64], r([1]), undefined, `argmin NaN on ${be}`);
      expectT(big([1, NaN, 5]).max(1), "float32", [64], r([NaN]), undefined, `max NaN on ${be}`);
      expectT(big([1, NaN, -5]).min(1), "float32", [64], r([NaN]), undefined, `min NaN on ${be}`);
      expectT(big([-Infinity, -Infinity]).argmax(1), "int32", [64], r([0]), undefined, `argmax all -inf on ${be}`);
      expectT(big([-Infinity, -Infinity]).max(1), "float32", [64], r([-Infinity]), undefined, `max all -inf on ${be}`);
      // column (non-last dim) reductions
      expectT(big([1, NaN, 5]).mT.argmax(1), "int32", [3], [0, 0, 0], undefined, `argmax column ties on ${be}`);
      expectT(big([1, NaN, 5]).amax(0), "float32", [3], [1, NaN, 5], undefined, `amax column on ${be}`);
    });
  });

  it("0-d tensors: reductions over dim 0 / -1 return the value (torch allows dim 0 and -1 on a scalar)", () => {
    onEach((be) => {
      const s = tensor(2.5);
      all([
        () => expectT(s.sum(0), "float32", [], [2.5], undefined, `sum(0-d, 0) on ${be}`),
        () => expectT(s.sum(-1, true), "float32", [], [2.5], undefined, `sum(0-d, -1, keepdim) on ${be}`),
        () => expectT(s.max(0), "float32", [], [2.5], undefined, `max(0-d, 0) on ${be}`),
        () => expectT(s.argmax(0), "int32", [], [0], undefined, `argmax(0-d, 0) on ${be}`),
        () => expectT(s.mean(0), "float32", [], [2.5], undefined, `mean(0-d, 0) on ${be}`),
        () => expectT(s.softmax(0), "float32", [], [1], undefined, `softmax(0-d) on ${be}`),
        () => expectT(s.cumsum(0), "float32", [], [2.5], undefined, `cumsum(0-d) on ${be}`),
        () => expectT(s.sum(), "float32", [], [2.5], undefined, `sum(0-d) on ${be}`),
        () => expectT(s.amax(), "float32", [], [2.5], undefined, `amax(0-d) on ${be}`),
      ]);
    });
  });

  it("empty dims (torch): sum → 0, prod → 1, mean → NaN, logsumexp → -inf, any → false, all → true, softmax → empty", () => {
    onEach((be) => {
      const e = f32([], [2, 0]);
      all([
        () => expectT(e.sum(1), "float32", [2], [0, 0], undefined, `sum over empty on ${be}`),
        () => expectT(e.prod(1), "float32", [2], [1, 1], undefined, `prod over empty on ${be}`),
        () => expectT(e.mean(1), "float32", [2], [NaN, NaN], undefined, `mean over empty on ${be}`),
        () =>
          expectT(e.logsumexp(1), "float32", [2], [-Infinity, -Infinity], undefined, `logsumexp over empty on ${be}`),
        () => expectT(e.any(1), "bool", [2], [0, 0], undefined, `any over empty on ${be}`),
        () => expectT(e.all(1), "bool", [2], [1, 1], undefined, `all over empty on ${be}`),
        () => expectT(e.softmax(1), "float32", [2, 0], [], undefined, `softmax over empty on ${be}`),
        () => expectT(e.sum(0), "float32", [0], [], undefined, `sum over the non-empty dim on ${be}`),
        () => expectT(e.max(0), "float32", [0], [], undefined, `max over the non-empty dim on ${be}`),
        () =>
          expectT(
            e.matmul(f32([], [0, 3])),
            "float32",
            [2, 3],
            [0, 0, 0, 0, 0, 0],
            undefined,
            `matmul with k = 0 on ${be}`,
          ),
      ]);
    });
  });

  it("ops on contiguous views with an offset read the view, not the start of the storage", () => {
    onEach((be) => {
      const base = f32([0, 0, 0, 10, 1, 2, 3, 4], [4, 2]);
      const v = base.get("1:"); // contiguous, offset 2
      expect(v.isContiguous()).toBe(true);
      const sm = (a: number, b: number): number[] => [1 / (1 + Math.exp(b - a)), 1 / (1 + Math.exp(a - b))];
      const w0 = (): Tensor => f32([5, 6, 7, 8]).get("2:"); // a fresh one per check: cumsum may write into it
      all([
        () =>
          expectT(
            v.softmax(-1),
            "float32",
            [3, 2],
            [...sm(0, 10), ...sm(1, 2), ...sm(3, 4)],
            T32,
            `softmax of offset view on ${be}`,
          ),
        () =>
          expectT(
            v.logSoftmax(-1),
            "float32",
            [3, 2],
            [...sm(0, 10), ...sm(1, 2), ...sm(3, 4)].map(Math.log),
            { rtol: 1e-6, atol: 1e-6 },
            `logSoftmax of offset view on ${be}`,
          ),
        () =>
          expectT(v.cumsum(0), "float32", [3, 2], [0, 10, 1, 12, 4, 16], undefined, `cumsum of offset view on ${be}`),
        () =>
          expectT(
            base,
            "float32",
            [4, 2],
            [0, 0, 0, 10, 1, 2, 3, 4],
            undefined,
            `cumsum left its input alone on ${be}`,
          ),
        () => expectT(w0().cumsum(0), "float32", [2], [7, 15], undefined, `cumsum of a 1-D offset view on ${be}`),
        () => expectT(w0().sort(0, true).values, "float32", [2], [8, 7], undefined, `sort of offset view on ${be}`),
        () => expectT(w0().topk(1).indices, "int32", [1], [1], undefined, `topk of offset view on ${be}`),
        () => expectT(w0().gather(0, i32([1, 0])), "float32", [2], [8, 7], undefined, `gather of offset view on ${be}`),
        () =>
          expectT(
            w0().logsumexp(0),
            "float32",
            [],
            [8 + Math.log(1 + Math.exp(-1))],
            T32,
            `logsumexp of offset view on ${be}`,
          ),
      ]);
    });
  });

  it("cumsum leaves its input alone (contiguous input of the accumulation dtype)", () => {
    onEach((be) => {
      const x = f32([1, 2, 3]);
      const c = x.cumsum(0);
      expectT(c, "float32", [3], [1, 3, 6], undefined, `cumsum on ${be}`);
      expectT(x, "float32", [3], [1, 2, 3], undefined, `cumsum input after the op on ${be}`);
    });
  });
});

describe("reference values: matmul, sorting, gather/scatter, joins, indexing", () => {
  it("matmul of known matrices, vectors, batches; integer matmul stays int32", () => {
    onEach((be) => {
      const a = f32([1, 2, 3, 4], [2, 2]);
      const b = f32([5, 6, 7, 8], [2, 2]);
      expectT(a.matmul(b), "float32", [2, 2], [19, 22, 43, 50], undefined, `matmul on ${be}`);
      expectT(a.mT.matmul(b), "float32", [2, 2], [26, 30, 38, 44], undefined, `aᵀb on ${be}`);
      expectT(f32([1, 1]).matmul(b), "float32", [2], [12, 14], undefined, `vec @ mat on ${be}`);
      expectT(a.matmul(f32([1, 1])), "float32", [2], [3, 7], undefined, `mat @ vec on ${be}`);
      expectT(f32([1, 2, 3]).matmul(f32([4, 5, 6])), "float32", [], [32], undefined, `vec @ vec on ${be}`);
      expectT(
        stack([a, b]).matmul(eye(2)),
        "float32",
        [2, 2, 2],
        [1, 2, 3, 4, 5, 6, 7, 8],
        undefined,
        `batched @ eye on ${be}`,
      );
      expectT(
        i32([1, 2, 3, 4], [2, 2]).matmul(i32([1, 0, 0, 1], [2, 2])),
        "int32",
        [2, 2],
        [1, 2, 3, 4],
        undefined,
        `int matmul on ${be}`,
      );
      expectT(
        f32([], [2, 0]).matmul(f32([], [0, 3])),
        "float32",
        [2, 3],
        [0, 0, 0, 0, 0, 0],
        undefined,
        `k = 0 on ${be}`,
      );
      // a big product with a known answer: ones(m, k) @ arange(k) = k(k-1)/2 in every entry
      const k = 300;
      const ones = f32(Array(64 * k).fill(1), [64, k]);
      const col = arange(0, k, 1, "float32").reshape(k, 1).expand(k, 40);
      expectT(
        ones.matmul(col),
        "float32",
        [64, 40],
        Array(64 * 40).fill((k * (k - 1)) / 2),
        undefined,
        `ones @ arange on ${be}`,
      );
    });
  });

  it("sort is stable, NaN sorts as the largest; topk and argsort agree", () => {
    onEach((be) => {
      const x = f32([3, 1, NaN, 1, 2, NaN, 3]);
      const asc = x.sort();
      expectT(asc.values, "float32", [7], [1, 1, 2, 3, 3, NaN, NaN], undefined, `sort values on ${be}`);
      expectT(asc.indices, "int32", [7], [1, 3, 4, 0, 6, 2, 5], undefined, `sort indices on ${be}`);
      const dsc = x.sort(0, true);
      expectT(dsc.values, "float32", [7], [NaN, NaN, 3, 3, 2, 1, 1], undefined, `sort desc values on ${be}`);
      expectT(dsc.indices, "int32", [7], [2, 5, 0, 6, 4, 1, 3], undefined, `sort desc indices on ${be}`);
      const top = f32([1, 5, 3, 5]).topk(2);
      expectT(top.values, "float32", [2], [5, 5], undefined, `topk values on ${be}`);
      expectT(top.indices, "int32", [2], [1, 3], undefined, `topk indices on ${be}`);
      expectT(f32([4, 1, 3], [3]).argsort(0, true), "int32", [3], [0, 2, 1], undefined, `argsort on ${be}`);
      const m = f32([3, 1, 2, 9, 7, 8], [2, 3]);
      expectT(m.topk(1, 0).indices, "int32", [1, 3], [1, 1, 1], undefined, `topk dim 0 on ${be}`);
    });
  });

  it("gather / scatter (torch's documented examples)", () => {
    onEach((be) => {
      const t = f32([1, 2, 3, 4], [2, 2]);
      expectT(t.gather(1, i32([0, 0, 1, 0], [2, 2])), "float32", [2, 2], [1, 1, 4, 3], undefined, `gather on ${be}`);
      const src = f32([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [2, 5]);
      const z = f32(Array(15).fill(0), [3, 5]);
      expectT(
        z.scatter(0, i32([0, 1, 2, 0], [1, 4]), src),
        "float32",
        [3, 5],
        [1, 0, 0, 4, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0],
        undefined,
        `scatter on ${be}`,
      );
      expectT(
        f32([0, 0, 0]).scatter(0, i32([0, 2, 0]), f32([1, 2, 3]), "add"),
        "float32",
        [3],
        [4, 0, 2],
        undefined,
        `scatter add on ${be}`,
      );
    });
  });

  it("cat / stack / split / chunk / diagonal", () => {
    onEach((be) => {
      const a = f32([1, 2, 3, 4], [2, 2]);
      const b = f32([5, 6], [1, 2]);
      expectT(cat([a, b]), "float32", [3, 2], [1, 2, 3, 4, 5, 6], undefined, `cat on ${be}`);
      expectT(cat([a, b.mT], 1), "float32", [2, 3], [1, 2, 5, 3, 4, 6], undefined, `cat dim 1 on ${be}`);
      expectT(cat([a, f32([])]), "float32", [2, 2], [1, 2, 3, 4], undefined, `cat with 1-D empty on ${be}`);
      expectT(cat([i32([1]), f32([0.5])]), "float32", [2], [1, 0.5], undefined, `cat promotes on ${be}`);
      expectT(stack([f32([1, 2]), f32([3, 4])], 1), "float32", [2, 2], [1, 3, 2, 4], undefined, `stack dim 1 on ${be}`);
      const parts = arange(0, 7).split([2, 5]);
      expectT(parts[1]!, "int32", [5], [2, 3, 4, 5, 6], undefined, `split on ${be}`);
      expect(
        arange(0, 7)
          .chunk(3)
          .map((p) => p.shape[0]),
      ).toEqual([3, 3, 1]);
      expect(
        arange(0, 7)
          .split(3)
          .map((p) => p.shape[0]),
      ).toEqual([3, 3, 1]);
      const m = arange(0, 12).reshape(3, 4);
      expectT(m.diagonal(), "int32", [3], [0, 5, 10], undefined, `diagonal on ${be}`);
      expectT(m.diagonal(1), "int32", [3], [1, 6, 11], undefined, `diagonal(1) on ${be}`);
      expectT(m.diagonal(-1), "int32", [2], [4, 9], undefined, `diagonal(-1) on ${be}`);
      expectT(m.diagonal(0, 1, 0), "int32", [3], [0, 5, 10], undefined, `diagonal(0, 1, 0) on ${be}`);
      expectT(
        arange(0, 8).reshape(2, 2, 2).diagonal(0, 0, 2),
        "int32",
        [2, 2],
        [0, 5, 2, 7],
        undefined,
        `diagonal of 3-D on ${be}`,
      );
      expectT(linspace(0, 1, 5), "float32", [5], [0, 0.25, 0.5, 0.75, 1], undefined, `linspace on ${be}`);
    });
  });

  it("indexing: numpy semantics for basic, advanced and mixed indices", () => {
    onEach((be) => {
      const x = arange(0, 24).reshape(2, 3, 4);
      const g = (...idx: Index[]): Tensor => x.get(...idx);
      expectT(g(1, "::-1", "1:3"), "int32", [3, 2], [21, 22, 17, 18, 13, 14], undefined, `x[1, ::-1, 1:3] on ${be}`);
      expectT(g("...", -1), "int32", [2, 3], [3, 7, 11, 15, 19, 23], undefined, `x[..., -1] on ${be}`);
      expectT(g(null, 0, "-2:"), "int32", [1, 2, 4], [4, 5, 6, 7, 8, 9, 10, 11], undefined, `x[None, 0, -2:] on ${be}`);
      expectT(
        g(":", ":", "::3"),
        "int32",
        [2, 3, 2],
        [0, 3, 4, 7, 8, 11, 12, 15, 16, 19, 20, 23],
        undefined,
        `x[:, :, ::3] on ${be}`,
      );
      expectT(g("5:", 0), "int32", [0, 4], [], undefined, `x[5:, 0] on ${be}`);
      expectT(
        g(0, "-100:100:2", "3:0:-2"),
        "int32",
        [2, 2],
        [3, 1, 11, 9],
        undefined,
        `x[0, -100:100:2, 3:0:-2] on ${be}`,
      );
      expectT(
        g(":", i32([0, 2]), i32([1, 3])),
        "int32",
        [2, 2],
        [1, 11, 13, 23],
        undefined,
        `x[:, [0,2], [1,3]] on ${be}`,
      );
      // advanced indices separated by a slice: the index dims go first
      expectT(
        g(i32([0, 1]), ":", i32([0, 3])),
        "int32",
        [2, 3],
        [0, 4, 8, 15, 19, 23],
        undefined,
        `x[[0,1], :, [0,3]] on ${be}`,
      );
      expectT(
        g(1, i32([2, 0, 2])),
        "int32",
        [3, 4],
        [20, 21, 22, 23, 12, 13, 14, 15, 20, 21, 22, 23],
        undefined,
        `x[1, [2,0,2]] on ${be}`,
      );
      expectT(
        g(i32([-1])),
        "int32",
        [1, 3, 4],
        Array.from({ length: 12 }, (_, i) => 12 + i),
        undefined,
        `x[[-1]] on ${be}`,
      );
      expectT(g(x.gt(20)), "int32", [3], [21, 22, 23], undefined, `x[x > 20] on ${be}`);
      expectT(
        g(0, tensor([true, false, true])),
        "int32",
        [2, 4],
        [0, 1, 2, 3, 8, 9, 10, 11],
        undefined,
        `x[0, [T,F,T]] on ${be}`,
      );
      expectT(
        g(":", tensor([[0], [2]], undefined, "int32"), tensor([[1, 2]], undefined, "int32")),
        "int32",
        [2, 2, 2],
        [1, 2, 9, 10, 13, 14, 21, 22],
        undefined,
        `x[:, [[0],[2]], [[1,2]]] on ${be}`,
      );
    });
  });

  it("set: slices, steps, negative indices, masks, index tensors, broadcasting; writes reach the base through views", () => {
    onEach((be) => {
      const x = arange(0, 12).reshape(3, 4);
      x.set([":", 1], 0);
      expectT(x, "int32", [3, 4], [0, 0, 2, 3, 4, 0, 6, 7, 8, 0, 10, 11], undefined, `x[:, 1] = 0 on ${be}`);
      x.set([-1, "::-2"], i32([100, 200]));
      expectT(x.get(-1), "int32", [4], [8, 200, 10, 100], undefined, `x[-1, ::-2] = [100, 200] on ${be}`);
      x.set([x.gt(99)], -1);
      expectT(x.get(-1), "int32", [4], [8, -1, 10, -1], undefined, `x[x > 99] = -1 on ${be}`);
      x.set([i32([0, 2]), i32([3, 0])], i32([7, 9]));
      expectT(
        x,
        "int32",
        [3, 4],
        [0, 0, 2, 7, 4, 0, 6, 7, 9, -1, 10, -1],
        undefined,
        `x[[0,2],[3,0]] = [7,9] on ${be}`,
      );
      const base = f32(Array(6).fill(0), [2, 3]);
      const view = base.mT; // [3, 2] view
      view.set(["1:"], f32([1, 2]));
      expectT(base, "float32", [2, 3], [0, 1, 1, 0, 2, 2], undefined, `set through a transposed view on ${be}`);
      view.get(0).set([], 5);
      expectT(base, "float32", [2, 3], [5, 1, 1, 5, 2, 2], undefined, `set through a view of a view on ${be}`);
      base.set(["..."], base.get(":", "::-1"));
      expectT(
        base,
        "float32",
        [2, 3],
        [1, 1, 5, 2, 2, 5],
        undefined,
        `set from an overlapping (reversed) view of itself on ${be}`,
      );
      base.get(":", "1:").set([], base.get(":", ":2"));
      expectT(base, "float32", [2, 3], [1, 1, 1, 2, 2, 2], undefined, `set from a shifted overlapping view on ${be}`);
    });
  });

  it("where broadcasts and promotes; clamp keeps ints int", () => {
    onEach((be) => {
      const c = tensor([[true], [false]]);
      expectT(where(c, f32([1, 2]), 0), "float32", [2, 2], [1, 2, 0, 0], undefined, `where on ${be}`);
      expectT(
        where(c, i32([1, 2]), f32([0.5])),
        "float32",
        [2, 2],
        [1, 2, 0.5, 0.5],
        undefined,
        `where promotes on ${be}`,
      );
      expectT(i32([-5, 0, 5]).clamp(-1, 1), "int32", [3], [-1, 0, 1], undefined, `clamp int on ${be}`);
    });
  });
});

describe("reference: random cases against plain-JS formulas", () => {
  it("unary and binary ops elementwise equal Math on the same float32 inputs", () => {
    cases("math formulas", 10, (g) => {
      const x = randTensor(g, randShape(g, { allowZero: false }), "float32", { kind: "wide" });
      const y = randTensor(g, x.shape, "float32", { kind: "normal" });
      const xs = Array.from(values(x));
      const ys = Array.from(values(y));
      const f = Math.fround;
      onEach((be) => {
        const chk = (t: Tensor, want: number[], ctx: string, tol: Tol = { exact: true }): void =>
          assertValues(values(t), want.map(f), tol, `${ctx} on ${be}`);
        chk(
          x.add(y),
          xs.map((v, i) => v + ys[i]!),
          "add",
        );
        chk(
          x.mul(y),
          xs.map((v, i) => v * ys[i]!),
          "mul",
        );
        chk(
          x.div(y),
          xs.map((v, i) => v / ys[i]!),
          "div",
        );
        chk(x.exp(), xs.map(Math.exp), "exp", { rtol: 1e-6 });
        chk(x.tanh(), xs.map(Math.tanh), "tanh", { rtol: 1e-6, atol: 1e-7 });
        chk(
          x.abs().sqrt(),
          xs.map((v) => Math.sqrt(Math.abs(v))),
          "sqrt",
        );
        chk(
          x.maximum(y),
          xs.map((v, i) => Math.max(v, ys[i]!)),
          "maximum",
        );
        chk(
          x.neg(),
          xs.map((v) => -v),
          "neg",
        );
      });
    });
  });

  it("reductions equal loops over the elements, for a random dim", () => {
    cases("reduction formulas", 10, (g) => {
      const x = randTensor(g, randShape(g, { minRank: 1, allowZero: false }), "float32", {
        kind: pick(g, ["normal", "int-valued"] as const),
      });
      const d = g.int(0, x.ndim);
      const moved = x.movedim(d, -1);
      const n = x.shape[d]!;
      const rows = Array.from(values(moved));
      const sums: number[] = [];
      const maxs: number[] = [];
      const args: number[] = [];
      for (let r = 0; r < rows.length / n; r++) {
        const row = rows.slice(r * n, r * n + n);
        sums.push(row.reduce((a, b) => a + b, 0));
        maxs.push(Math.max(...row));
        args.push(row.indexOf(Math.max(...row)));
      }
      onEach((be) => {
        assertValues(
          values(x.sum(d)),
          sums.map(Math.fround),
          { rtol: 1e-6, atol: 1e-6 },
          `sum(${x.shape}, ${d}) on ${be}`,
        );
        assertValues(values(x.max(d)), maxs, { exact: true }, `max(${x.shape}, ${d}) on ${be}`);
        assertValues(values(x.argmax(d)), args, { exact: true }, `argmax(${x.shape}, ${d}) on ${be}`);
      });
    });
  });
});
