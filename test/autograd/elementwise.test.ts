// Finite-difference checks of the elementwise ops: every differentiable unary op, the binary ops with
// broadcasting (both operands broadcast, scalars, 0-d), where / maskedFill / clamp, and size-0/1 edges.
import { describe, expect, it } from "vitest";
import { tensor, where, zeros } from "../../src/index.js";
import { gradcheck, normal, uniform } from "./gradcheck.js";

type Unary =
  | "neg"
  | "exp"
  | "log"
  | "log1p"
  | "expm1"
  | "sqrt"
  | "rsqrt"
  | "tanh"
  | "abs"
  | "relu"
  | "sigmoid"
  | "silu"
  | "geluNew"
  | "gelu"
  | "sin"
  | "cos"
  | "square"
  | "reciprocal";

/** Each op with a domain where it is smooth (away from 0 for abs/relu, positive for log/sqrt). */
const UNARY: [Unary, () => ReturnType<typeof normal>][] = [
  ["neg", () => normal([3, 4])],
  ["exp", () => normal([3, 4])],
  ["log", () => uniform([3, 4], 0.5, 3)],
  ["log1p", () => uniform([3, 4], -0.5, 3)],
  ["expm1", () => normal([3, 4])],
  ["sqrt", () => uniform([3, 4], 0.5, 3)],
  ["rsqrt", () => uniform([3, 4], 0.5, 3)],
  ["tanh", () => normal([3, 4])],
  ["abs", () => uniform([3, 4], 0.1, 2).mul(tensor([1, -1, 1, -1], undefined, "float64"))],
  ["relu", () => uniform([3, 4], 0.1, 2).mul(tensor([1, -1, 1, -1], undefined, "float64"))],
  ["sigmoid", () => normal([3, 4])],
  ["silu", () => normal([3, 4])],
  ["geluNew", () => normal([3, 4]).mul(2)],
  ["gelu", () => normal([3, 4]).mul(2)],
  ["sin", () => normal([3, 4])],
  ["cos", () => normal([3, 4])],
  ["square", () => normal([3, 4])],
  ["reciprocal", () => uniform([3, 4], 0.5, 2)],
];

describe("autograd: unary ops", () => {
  for (const [op, make] of UNARY) {
    it(`${op}`, async () => {
      await gradcheck((x) => x[op](), [make()]);
    });
  }

  it("gelu at exactly 0 has derivative 0.5", async () => {
    const x = zeros([1], "float64").requiresGrad_();
    await x.gelu().sum().backward();
    expect(x.grad!.item()).toBe(0.5);
  });

  it("step functions (sign, floor, round) pass a zero gradient", async () => {
    const x = normal([5]).requiresGrad_();
    await x.sign().add(x.floor()).add(x.round()).add(x.mul(2)).sum().backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([2, 2, 2, 2, 2]);
  });
});

describe("autograd: binary ops with broadcasting", () => {
  const ops = ["add", "sub", "mul", "div", "maximum", "minimum"] as const;
  for (const op of ops) {
    it(`${op}: [3, 1, 4] with [2, 1]`, async () => {
      await gradcheck((a, b) => a[op](b), [normal([3, 1, 4], 1), uniform([2, 1], 0.5, 2, 2)]);
    });
  }

  it("pow: tensor base and exponent", async () => {
    await gradcheck((a, b) => a.pow(b), [uniform([2, 3], 0.5, 2, 3), normal([3], 4)]);
  });

  it("pow with a number exponent, and a zero base where the exponent gradient is 0 (torch)", async () => {
    await gradcheck((a) => a.pow(3), [normal([4])]);
    const a = tensor([0, 2], undefined, "float64").requiresGrad_();
    const b = tensor([2, 2], undefined, "float64").requiresGrad_();
    await a.pow(b).sum().backward();
    expect(Array.from(b.grad!.dataSync())).toEqual([0, 4 * Math.log(2)]);
    expect(Array.from(a.grad!.dataSync())).toEqual([0, 4]);
  });

  it("scalars on either side and a 0-d tensor", async () => {
    await gradcheck((a) => a.mul(3).sub(1).div(2).add(0.5), [normal([2, 2])]);
    await gradcheck((a, s) => a.mul(s).add(s), [normal([2, 3]), normal([], 5)]);
  });

  it("the same tensor on both sides adds both contributions", async () => {
    await gradcheck((a) => a.mul(a).add(a), [normal([3])]);
  });

  it("atan2 and remainder", async () => {
    await gradcheck((a, b) => a.binary("atan2", b), [normal([3, 2], 6), uniform([2], 0.5, 1, 7)]);
    await gradcheck((a, b) => a.remainder(b), [uniform([4], 0.1, 0.9, 8), uniform([4], 1.1, 2, 9)]);
  });

  it("maximum splits the gradient on ties", async () => {
    const a = tensor([1, 2], undefined, "float64").requiresGrad_();
    const b = tensor([1, 3], undefined, "float64").requiresGrad_();
    await a.maximum(b).sum().backward();
    expect(Array.from(a.grad!.dataSync())).toEqual([0.5, 0]);
    expect(Array.from(b.grad!.dataSync())).toEqual([0.5, 1]);
  });

  it("size-0 and size-1 operands", async () => {
    await gradcheck((a, b) => a.mul(b), [normal([0, 3]), normal([1, 3], 2)]);
    await gradcheck((a, b) => a.add(b).mul(b), [normal([1]), normal([1, 1], 3)]);
  });

  it("a float32 operand gets a float32 gradient when mixed with float64", async () => {
    const a = tensor([1, 2], undefined, "float32").requiresGrad_();
    const b = tensor([3, 4], undefined, "float64");
    await a.mul(b).sum().backward();
    expect(a.grad!.dtype).toBe("float32");
    expect(Array.from(a.grad!.dataSync())).toEqual([3, 4]);
  });
});

describe("autograd: where, maskedFill, clamp", () => {
  const cond = tensor([
    [true, false, true],
    [false, false, true],
  ]);
  it("where routes the gradient by the condition, with broadcasting", async () => {
    await gradcheck((a, b) => where(cond, a, b), [normal([2, 3]), normal([3], 2)]);
  });
  it("maskedFill zeroes the gradient at filled positions", async () => {
    await gradcheck((a) => a.maskedFill(cond, -1e9).exp().mul(a), [normal([2, 3])]);
  });
  it("clamp passes the gradient inside the range only", async () => {
    await gradcheck((a) => a.clamp(-0.5, 0.5), [tensor([-1, -0.2, 0.3, 0.9], undefined, "float64")]);
  });
});
