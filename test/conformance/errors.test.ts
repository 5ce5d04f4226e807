// Conformance: errors. Shape mismatches name the op and both shapes; out-of-range indices name the dim and its
// size; both backends throw the same typed error with the same message.
import { describe, expect, it } from "vitest";
import { cat, stack, tensor, zeros } from "../../src/tensor/create.js";
import { where } from "../../src/tensor/tensor.js";
import { IndexError, ShapeError, TlensError } from "../../src/errors.js";
import { NATIVE_AVAILABLE, on, Tensor } from "./util.js";

const BACKENDS = NATIVE_AVAILABLE ? (["js", "native"] as const) : (["js"] as const);

/** f throws `cls` on every backend, with the same message, containing every fragment. */
function expectError(label: string, f: () => unknown, cls: typeof TlensError, fragments: (string | RegExp)[]): void {
  const messages: string[] = [];
  for (const be of BACKENDS) {
    let err: unknown = null;
    try {
      on(be, f);
    } catch (e) {
      err = e;
    }
    expect(err, `${label} on ${be}: expected ${cls.name}, nothing was thrown`).not.toBeNull();
    expect(err, `${label} on ${be}: ${(err as Error).name}: ${(err as Error).message}`).toBeInstanceOf(cls);
    expect(err).toBeInstanceOf(TlensError);
    const msg = (err as Error).message;
    for (const frag of fragments) {
      if (typeof frag === "string") expect(msg, `${label} on ${be}`).toContain(frag);
      else expect(msg, `${label} on ${be}`).toMatch(frag);
    }
    messages.push(msg);
  }
  if (messages.length === 2) expect(messages[1], `${label}: native vs js message`).toBe(messages[0]);
}

const a23 = (): Tensor => zeros([2, 3]);
const a45 = (): Tensor => zeros([4, 5]);
const big = (): Tensor => zeros([300, 400]); // large enough for the native kernels

describe("shape mismatches name the op and both shapes", () => {
  const binaries: [string, (x: Tensor, y: Tensor) => Tensor][] = [
    ["add", (x, y) => x.add(y)],
    ["sub", (x, y) => x.sub(y)],
    ["mul", (x, y) => x.mul(y)],
    ["div", (x, y) => x.div(y)],
    ["pow", (x, y) => x.pow(y)],
    ["maximum", (x, y) => x.maximum(y)],
    ["minimum", (x, y) => x.minimum(y)],
    ["eq", (x, y) => x.eq(y)],
    ["lt", (x, y) => x.lt(y)],
    ["ge", (x, y) => x.ge(y)],
    ["and", (x, y) => x.logicalAnd(y)],
  ];
  for (const [op, f] of binaries) {
    it(`${op}`, () => {
      expectError(`${op}([2, 3], [4, 5])`, () => f(a23(), a45()), ShapeError, [op, "[2, 3]", "[4, 5]"]);
      expectError(`${op}([300, 400], [400, 300])`, () => f(big(), zeros([400, 300])), ShapeError, [
        op,
        "[300, 400]",
        "[400, 300]",
      ]);
    });
  }

  it("matmul / bmm", () => {
    expectError("matmul([2, 3], [4, 5])", () => a23().matmul(a45()), ShapeError, ["matmul", "[2, 3]", "[4, 5]"]);
    expectError("matmul([3], [4])", () => zeros([3]).matmul(zeros([4])), ShapeError, ["matmul", "[3]", "[4]"]);
    expectError("matmul batch ([2, 2, 3], [3, 3, 4])", () => zeros([2, 2, 3]).matmul(zeros([3, 3, 4])), ShapeError, [
      "matmul",
      "[2]",
      "[3]",
    ]);
    expectError("matmul 0-d", () => tensor(1).matmul(zeros([2])), ShapeError, ["matmul", "[]", "[2]"]);
    expectError("bmm([2, 2, 3], [2, 4, 5])", () => zeros([2, 2, 3]).bmm(zeros([2, 4, 5])), ShapeError, [
      "bmm",
      "[2, 2, 3]",
      "[2, 4, 5]",
    ]);
    expectError("bmm([2, 3], [3, 4])", () => a23().bmm(zeros([3, 4])), ShapeError, ["bmm", "[2, 3]", "[3, 4]"]);
  });

  it("where / cat / stack / expand / reshape / view / set / gather / split", () => {
    expectError("where", () => where(zeros([2, 3], "bool"), zeros([4, 5]), 0), ShapeError, [
      "where",
      "[2, 3]",
      "[4, 5]",
    ]);
    expectError("cat", () => cat([a23(), a45()]), ShapeError, ["cat", "[2, 3]", "[4, 5]"]);
    expectError("stack", () => stack([a23(), a45()]), ShapeError, ["stack", "[2, 3]", "[4, 5]"]);
    expectError("expand", () => a23().expand(4, 5), ShapeError, ["expand", "[2, 3]", "[4, 5]"]);
    expectError("reshape", () => a23().reshape(4, 5), ShapeError, ["reshape", "[4, 5]", "[2, 3]"]);
    expectError("viewAs", () => a23().mT.viewAs(6), ShapeError, ["view", "[6]", "[3, 2]"]);
    expectError("set", () => a23().set([":"], zeros([4, 5])), ShapeError, ["set", "[4, 5]", "[2, 3]"]);
    expectError("set large", () => big().set([":"], zeros([7, 400])), ShapeError, ["set", "[7, 400]", "[300, 400]"]);
    expectError("gather", () => a23().gather(1, zeros([3], "int32")), ShapeError, ["gather", "[3]", "[2, 3]"]);
    expectError("split", () => a23().split([1, 1], 1), ShapeError, ["split", "3"]);
    expectError("item", () => a23().item(), ShapeError, ["item", "[2, 3]"]);
  });
});

describe("out-of-range indices name the dim and its size", () => {
  it("get / set with ints, negative ints and index tensors", () => {
    const x = (): Tensor => zeros([2, 3, 4]);
    expectError("get(5)", () => x().get(5), IndexError, ["5", "dim 0", "size 2"]);
    expectError("get(:, -4)", () => x().get(":", -4), IndexError, ["-4", "dim 1", "size 3"]);
    expectError("get(..., 4)", () => x().get("...", 4), IndexError, ["4", "dim 2", "size 4"]);
    expectError("get(:, [0, 3])", () => x().get(":", tensor([0, 3], undefined, "int32")), IndexError, [
      "3",
      "dim 1",
      "size 3",
    ]);
    expectError("set([1, 7])", () => x().set([1, 7], 0), IndexError, ["7", "dim 1", "size 3"]);
    expectError("set([[2]])", () => x().set([tensor([2], undefined, "int32")], 0), IndexError, [
      "2",
      "dim 0",
      "size 2",
    ]);
    expectError("too many indices", () => x().get(0, 0, 0, 0), IndexError, ["too many indices", "[2, 3, 4]"]);
    expectError("float index tensor", () => x().get(tensor([0])), IndexError, ["int32"]);
    expectError("bool mask shape", () => x().get(zeros([3], "bool")), IndexError, ["[3]", "[2, 3, 4]"]);
  });

  it("gather / scatter / topk / narrow / dims of reductions", () => {
    const x = (): Tensor => zeros([2, 3]);
    expectError("gather index 3", () => x().gather(1, tensor([[0, 3]], undefined, "int32")), IndexError, [
      "gather",
      "3",
      "dim 1",
      "size 3",
    ]);
    expectError("scatter index 2", () => x().scatter(0, tensor([[2, 0, 0]], undefined, "int32"), 1), IndexError, [
      "scatter",
      "2",
      "dim 0",
      "size 2",
    ]);
    expectError("topk k 4", () => x().topk(4), IndexError, ["topk", "4", "size 3"]);
    expectError("narrow", () => x().narrow(1, 2, 2), IndexError, ["narrow", "dim 1", "size 3"]);
    expectError("sum dim 2", () => x().sum(2), IndexError, ["sum", "2", "2 dims"]);
    expectError("softmax dim -3", () => x().softmax(-3), IndexError, ["softmax", "-3", "2 dims"]);
    expectError("argmax dim 5", () => zeros([300, 400]).argmax(5), IndexError, ["argmax", "5", "2 dims"]);
    expectError("max over empty", () => zeros([0, 3]).max(0), ShapeError, ["max", "empty", "[0, 3]"]);
  });
});
