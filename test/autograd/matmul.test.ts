// Finite-difference checks of matmul (1-D operands, batched, broadcast batch dims, strided operands), bmm,
// einsum (built from views, sums, multiplies and matmul) and a small attention head end to end.
import { describe, it } from "vitest";
import { einsum, rearrange, reduce, repeat, tensor } from "../../src/index.js";
import { gradcheck, normal } from "./gradcheck.js";

describe("autograd: matmul", () => {
  it("2-D, vector-matrix, matrix-vector, vector-vector", async () => {
    await gradcheck((a, b) => a.matmul(b), [normal([3, 4], 1), normal([4, 2], 2)]);
    await gradcheck((a, b) => a.matmul(b), [normal([4], 1), normal([4, 2], 2)]);
    await gradcheck((a, b) => a.matmul(b), [normal([3, 4], 1), normal([4], 2)]);
    await gradcheck((a, b) => a.matmul(b), [normal([4], 1), normal([4], 2)]);
  });
  it("batched with broadcast batch dims, and a batched operand against a matrix", async () => {
    await gradcheck((a, b) => a.matmul(b), [normal([2, 1, 3, 4], 3), normal([3, 4, 2], 4)]);
    await gradcheck((a, b) => a.matmul(b), [normal([2, 3, 4], 3), normal([4, 5], 4)]);
    await gradcheck((a, b) => a.matmul(b), [normal([4], 3), normal([2, 4, 3], 4)]);
    await gradcheck((a, b) => a.bmm(b), [normal([2, 3, 4], 5), normal([2, 4, 2], 6)]);
  });
  it("strided operands: transposed and narrowed leaves", async () => {
    await gradcheck((a, b) => a.matmul(b), [normal([4, 3], 7).mT, normal([4, 6], 8).narrow(1, 1, 3)]);
  });
  it("size-0 and size-1 edges", async () => {
    await gradcheck((a, b) => a.matmul(b), [normal([0, 3], 9), normal([3, 2], 10)]);
    await gradcheck((a, b) => a.matmul(b), [normal([2, 0], 9), normal([0, 2], 10)]);
    await gradcheck((a, b) => a.matmul(b), [normal([1, 1], 11), normal([1, 1], 12)]);
  });
});

describe("autograd: einsum", () => {
  it("contractions, batch axes, outer products, traces and diagonals", async () => {
    await gradcheck((a, b) => einsum("b i k, k j -> b i j", a, b), [normal([2, 3, 4], 1), normal([4, 2], 2)]);
    await gradcheck(
      (a, b) => einsum("b h q d, b h k d -> b h q k", a, b),
      [normal([1, 2, 3, 2], 3), normal([1, 2, 3, 2], 4)],
    );
    await gradcheck((a, b) => einsum("i, j -> i j", a, b), [normal([3], 5), normal([2], 6)]);
    await gradcheck((a) => einsum("i i ->", a), [normal([3, 3], 7)]);
    await gradcheck((a, b) => einsum("i j, i j -> i", a, b), [normal([3, 4], 8), normal([3, 4], 9)]);
    await gradcheck(
      (a, b, c) => einsum("a b, b c, c -> a", a, b, c),
      [normal([2, 3], 10), normal([3, 4], 11), normal([4], 12)],
    );
  });
});

describe("autograd: an attention head from tensor ops", () => {
  it("scores, causal mask, softmax, weighted values, output projection", async () => {
    const mask = tensor([
      [false, true, true],
      [false, false, true],
      [false, false, false],
    ]);
    const x = normal([2, 3, 4], 13); // [batch, pos, d_model]
    await gradcheck(
      (wq, wk, wv, wo) => {
        const q = x.matmul(wq); // [batch, pos, d_head]
        const k = x.matmul(wk);
        const v = x.matmul(wv);
        const scores = q.matmul(k.mT).div(Math.sqrt(2)).maskedFill(mask, -Infinity); // [batch, q, k]
        return scores.softmax(-1).matmul(v).matmul(wo); // [batch, pos, d_model]
      },
      [normal([4, 2], 14), normal([4, 2], 15), normal([4, 2], 16), normal([2, 4], 17)],
    );
  });
  it("layer norm and gelu_new from tensor ops", async () => {
    await gradcheck(
      (x, w, b) => {
        const c = x.sub(x.mean(-1, true));
        const scale = c.square().mean(-1, true).add(1e-5).sqrt();
        return c.div(scale).mul(w).add(b).geluNew();
      },
      [normal([2, 3, 4], 18), normal([4], 19), normal([4], 20)],
    );
  });
});

describe("autograd: rearrange, reduce, repeat", () => {
  it("are built from differentiable views and reductions", async () => {
    const x = normal([2, 6], 21);
    await gradcheck((a) => rearrange(a, "b (h d) -> h b d", { h: 3 }).exp(), [x]);
    await gradcheck((a) => reduce(a, "b (h d) -> b h", "max", { h: 2 }), [x]);
    await gradcheck((a) => reduce(a, "b d -> d", "mean").mul(repeat(a.get(0), "d -> r d", { r: 2 }).sum(0)), [x]);
  });
});
