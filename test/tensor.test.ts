// Semantics of the tensor API against hand-computed values (torch's behaviour), on the default backend.
import { describe, expect, it } from "vitest";
import {
  arange,
  cat,
  eye,
  full,
  IndexError,
  manualSeed,
  ones,
  randint,
  randn,
  ShapeError,
  stack,
  tensor,
  Tensor,
  where,
  zeros,
} from "../src/index.js";

const arr = (t: Tensor): unknown => t.toArray();

describe("creation and reading", () => {
  it("infers shapes and dtypes", () => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe("float32");
    expect(tensor([1, 2], undefined, "int32").dtype).toBe("int32");
    expect(tensor(new Int32Array([1, 2])).dtype).toBe("int32");
    expect(tensor([true, false]).dtype).toBe("bool");
    expect(tensor(3.5).shape).toEqual([]);
    expect(tensor(3.5).item()).toBe(3.5);
    expect(tensor(new Float32Array([1, 2, 3, 4]), [2, 2]).toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("rejects ragged arrays and wrong sizes", () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => tensor(new Float32Array(5), [2, 2])).toThrow(/5 values do not fill shape \[2, 2\]/);
    expect(() => tensor([1, 2]).item()).toThrow(/2 elements/);
  });

  it("data() copies, dataSync() reads", async () => {
    const t = tensor([1, 2, 3]);
    const d = await t.data();
    d[0] = 99;
    expect(t.dataSync()[0]).toBe(1);
    expect(Array.from(t.get("1:").dataSync())).toEqual([2, 3]);
  });

  it("equal: shape and elements, views included, NaN never equal (torch.equal)", () => {
    const t = tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(
      t.equal(
        tensor([
          [1, 2],
          [3, 4],
        ]),
      ),
    ).toBe(true);
    expect(
      t.transpose(0, 1).equal(
        tensor([
          [1, 3],
          [2, 4],
        ]),
      ),
    ).toBe(true);
    expect(
      t.equal(
        tensor([
          [1, 2],
          [3, 5],
        ]),
      ),
    ).toBe(false);
    expect(t.equal(tensor([1, 2, 3, 4]))).toBe(false);
    expect(tensor([NaN]).equal(tensor([NaN]))).toBe(false);
  });

  it("arange, full, eye", () => {
    expect(arr(arange(4))).toEqual([0, 1, 2, 3]);
    expect(arange(4).dtype).toBe("int32");
    expect(arr(arange(1, 2, 0.25))).toEqual([1, 1.25, 1.5, 1.75]);
    expect(arr(full([2], 7))).toEqual([7, 7]);
    expect(arr(eye(2, 3))).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
  });

  it("prints like torch", () => {
    expect(
      tensor([
        [1, -2.5],
        [3, 4],
      ]).toString(),
    ).toBe("tensor([[ 1.0000, -2.5000],\n        [ 3.0000,  4.0000]])");
    expect(tensor([1, 2], undefined, "int32").toString()).toBe("tensor([1, 2], dtype=int32)");
    expect(tensor([true, false]).toString()).toBe("tensor([ True, False], dtype=bool)");
    expect(zeros([2000]).toString()).toContain("...");
  });
});

describe("views", () => {
  it("reshape / permute / transpose share storage", () => {
    const t = arange(6).reshape(2, 3);
    const p = t.permute(1, 0);
    expect(arr(p)).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    expect(p.storage).toBe(t.storage);
    expect(p.isContiguous()).toBe(false);
    expect(arr(p.reshape(-1))).toEqual([0, 3, 1, 4, 2, 5]);
    expect(arr(t.transpose(0, 1).contiguous())).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    expect(() => t.reshape(4, 2)).toThrow(/shape \[4, 2\] is invalid for a tensor of shape \[2, 3\]/);
    expect(() => p.viewAs(6)).toThrow(ShapeError);
    expect(t.viewAs(3, 2).storage).toBe(t.storage);
  });

  it("unsqueeze / squeeze / expand / flatten", () => {
    const t = tensor([1, 2, 3]);
    expect(t.unsqueeze(0).shape).toEqual([1, 3]);
    expect(t.unsqueeze(-1).shape).toEqual([3, 1]);
    expect(t.unsqueeze(0).unsqueeze(2).squeeze().shape).toEqual([3]);
    expect(arr(t.unsqueeze(0).expand(2, 3))).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(t.unsqueeze(0).expand(2, -1).strides).toEqual([0, 1]);
    expect(zeros([2, 3, 4]).flatten(1).shape).toEqual([2, 12]);
    expect(() => t.expand(2, 4)).toThrow(/cannot broadcast shape \[3\] to \[2, 4\]/);
  });

  it("diagonal with offsets", () => {
    const t = arange(12).reshape(3, 4);
    expect(arr(t.diagonal())).toEqual([0, 5, 10]);
    expect(arr(t.diagonal(1))).toEqual([1, 6, 11]);
    expect(arr(t.diagonal(-1))).toEqual([4, 9]);
    expect(arr(t.diagonal(5))).toEqual([]);
    const b = arange(8).reshape(2, 2, 2);
    expect(arr(b.diagonal(0, 1, 2))).toEqual([
      [0, 3],
      [4, 7],
    ]);
  });
});

describe("indexing", () => {
  const t = arange(24).reshape(2, 3, 4);
  it("ints, slices, ellipsis, new axes", () => {
    expect(arr(t.get(1, 2))).toEqual([20, 21, 22, 23]);
    expect(arr(t.get(":", ":", 2))).toEqual([
      [2, 6, 10],
      [14, 18, 22],
    ]);
    expect(arr(t.get(-1, "::2", "1:3"))).toEqual([
      [13, 14],
      [21, 22],
    ]);
    expect(arr(t.get("...", -1))).toEqual([
      [3, 7, 11],
      [15, 19, 23],
    ]);
    expect(t.get(null, 0).shape).toEqual([1, 3, 4]);
    expect(arr(t.get(0, 0, "::-1"))).toEqual([3, 2, 1, 0]);
    expect(arr(t.get(0, 0, "-2:"))).toEqual([2, 3]);
    expect(t.get(0).storage).toBe(t.storage);
  });
  it("index tensors and masks", () => {
    const idx = tensor([2, 0], undefined, "int32");
    expect(arr(t.get(0, idx))).toEqual([
      [8, 9, 10, 11],
      [0, 1, 2, 3],
    ]);
    expect(arr(t.get(0, ":", idx))).toEqual([
      [2, 0],
      [6, 4],
      [10, 8],
    ]);
    // two index tensors broadcast together: picks t[0, i, j] pairs
    expect(arr(t.get(0, tensor([0, 1], undefined, "int32"), tensor([3, 2], undefined, "int32")))).toEqual([3, 6]);
    // non-adjacent advanced indices go first (numpy)
    expect(t.get(tensor([1, 0], undefined, "int32"), ":", tensor([0, 0], undefined, "int32")).shape).toEqual([2, 3]);
    const m = tensor([1, 5, 2, 7]).gt(3);
    expect(arr(tensor([1, 5, 2, 7]).get(m))).toEqual([5, 7]);
  });
  it("out-of-range indices name the dim and size", () => {
    expect(() => t.get(2)).toThrow(IndexError);
    expect(() => t.get(0, 3)).toThrow(/index 3 is out of range for dim 1 with size 3/);
    expect(() => t.get(0, tensor([5], undefined, "int32"))).toThrow(/index 5 is out of range for dim 1 with size 3/);
    expect(() => t.get(0, 0, 0, 0)).toThrow(/too many indices/);
  });
  it("set writes through views", () => {
    const z = zeros([2, 3, 4]);
    z.set([":", ":", 2], 1);
    expect(z.sum().item()).toBe(6);
    const v = z.get(1);
    v.set([0], tensor([1, 2, 3, 4]));
    expect(arr(z.get(1, 0))).toEqual([1, 2, 3, 4]);
    z.set([0, tensor([0, 2], undefined, "int32"), 0], 5);
    expect(z.get(0, ":", 0).toArray()).toEqual([5, 0, 5]);
    const y = tensor([1, 2, 3, 4]);
    y.set([y.gt(2)], 0);
    expect(arr(y)).toEqual([1, 2, 0, 0]);
    const before = y.storage.version;
    y.set([0], 9);
    expect(y.storage.version).toBe(before + 1);
  });
});

describe("elementwise", () => {
  it("broadcasts and promotes", () => {
    const a = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(arr(a.add(tensor([10, 20, 30])))).toEqual([
      [11, 22, 33],
      [14, 25, 36],
    ]);
    expect(arr(a.mul(tensor([[2], [3]])))).toEqual([
      [2, 4, 6],
      [12, 15, 18],
    ]);
    expect(a.sub(1).dtype).toBe("float32");
    const i = tensor([1, 2, 3], undefined, "int32");
    expect(i.add(1).dtype).toBe("int32");
    expect(i.add(0.5).dtype).toBe("float32");
    expect(i.div(2).toArray()).toEqual([0.5, 1, 1.5]);
    expect(i.add(tensor([1, 1, 1])).dtype).toBe("float32");
    expect(i.add(tensor([1, 1, 1], undefined, "float64")).dtype).toBe("float64");
    expect(() => a.add(tensor([1, 2]))).toThrow(/add: shapes \[2, 3\] and \[2\] cannot be broadcast/);
  });
  it("unary math", () => {
    const x = tensor([-1, 0, 2]);
    expect(arr(x.abs())).toEqual([1, 0, 2]);
    expect(arr(x.relu())).toEqual([0, 0, 2]);
    expect(x.exp().toArray()).toEqual([Math.fround(Math.exp(-1)), 1, Math.fround(Math.exp(2))]);
    expect(x.geluNew().get(2).item()).toBeCloseTo(1.9545977, 6);
    expect(x.gelu().get(0).item()).toBeCloseTo(-0.15865525, 6);
    expect(arr(tensor([0.5, 1.5, 2.5, -0.5]).round())).toEqual([0, 2, 2, -0]);
    expect(arr(x.clamp(-0.5, 1))).toEqual([-0.5, 0, 1]);
    expect(arr(x.pow(2))).toEqual([1, 0, 4]);
  });
  it("comparisons and where", () => {
    const x = tensor([1, 2, 3]);
    expect(x.gt(1).dtype).toBe("bool");
    expect(arr(x.ge(2))).toEqual([false, true, true]);
    expect(arr(where(x.gt(1), x, tensor(0)))).toEqual([0, 2, 3]);
    expect(arr(x.maskedFill(x.eq(2), -1))).toEqual([1, -1, 3]);
    expect(arr(x.isnan())).toEqual([false, false, false]);
  });
});

describe("reductions", () => {
  const x = tensor([
    [1, 5, 3],
    [4, 2, 6],
  ]);
  it("over dims with keepdim", () => {
    expect(arr(x.sum(0))).toEqual([5, 7, 9]);
    expect(arr(x.sum(1, true))).toEqual([[9], [12]]);
    expect(x.sum().item()).toBe(21);
    expect(arr(x.mean(-1))).toEqual([3, 4]);
    expect(arr(x.max(1))).toEqual([5, 6]);
    expect(arr(x.argmax(1))).toEqual([1, 2]);
    expect(x.argmax().item()).toBe(5);
    expect(arr(x.argmin(0))).toEqual([0, 1, 0]);
    expect(arr(x.amax([0, 1]))).toBe(6);
    expect(arr(x.prod(1))).toEqual([15, 48]);
  });
  it("var, std, norm, logsumexp, cumsum", () => {
    expect(x.var(1).toArray()).toEqual([4, 4]);
    expect(x.var(1, false, 0).get(0).item()).toBeCloseTo(8 / 3, 6);
    expect(x.std(1).toArray()).toEqual([2, 2]);
    expect(tensor([3, 4]).norm().item()).toBe(5);
    expect(tensor([1, 2]).logsumexp(0).item()).toBeCloseTo(Math.log(Math.exp(1) + Math.exp(2)), 6);
    expect(tensor([-Infinity, -Infinity]).logsumexp(0).item()).toBe(-Infinity);
    expect(arr(x.cumsum(1))).toEqual([
      [1, 6, 9],
      [4, 6, 12],
    ]);
  });
  it("errors name the dim", () => {
    expect(() => x.sum(2)).toThrow(/dim 2 is out of range for a tensor with 2 dims/);
    expect(() => zeros([0]).max()).toThrow(/empty/);
  });
});

describe("softmax, matmul, sorting, joins", () => {
  it("softmax sums to one along any dim", () => {
    manualSeed(1);
    const x = randn([3, 4, 5]);
    for (const d of [0, 1, 2, -1]) {
      const s = x.softmax(d).sum(d);
      for (const v of s.dataSync()) expect(v).toBeCloseTo(1, 5);
    }
    const ls = x.logSoftmax(1);
    const ref = x.softmax(1).log();
    ls.dataSync().forEach((v, i) => expect(v).toBeCloseTo(ref.dataSync()[i]!, 5));
  });
  it("matmul broadcasts and handles 1-D operands", () => {
    const a = tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(arr(a.matmul(tensor([[5], [6]])))).toEqual([[17], [39]]);
    expect(arr(a.matmul(tensor([5, 6])))).toEqual([17, 39]);
    expect(arr(tensor([1, 1]).matmul(a))).toEqual([4, 6]);
    const batch = stack([a, a.mul(2)]);
    expect(arr(batch.matmul(eye(2)))).toEqual([
      [
        [1, 2],
        [3, 4],
      ],
      [
        [2, 4],
        [6, 8],
      ],
    ]);
    expect(arr(a.mT.matmul(a))).toEqual([
      [10, 14],
      [14, 20],
    ]);
    expect(() => a.matmul(zeros([3, 2]))).toThrow(/matmul: shapes \[2, 2\] and \[3, 2\] cannot be multiplied/);
    expect(arr(tensor([[1, 2]], undefined, "int32").matmul(tensor([[3], [4]], undefined, "int32")))).toEqual([[11]]);
  });
  it("topk, sort, argsort", () => {
    const x = tensor([3, 1, 4, 1, 5]);
    const { values, indices } = x.topk(2);
    expect(arr(values)).toEqual([5, 4]);
    expect(arr(indices)).toEqual([4, 2]);
    expect(arr(x.sort().indices)).toEqual([1, 3, 0, 2, 4]);
    expect(arr(x.argsort(0, true))).toEqual([4, 2, 0, 1, 3]);
    expect(arr(tensor([1, NaN, 0]).sort().values)).toEqual([0, 1, NaN]);
  });
  it("gather and scatter", () => {
    const x = tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(
      arr(
        x.gather(
          1,
          tensor(
            [
              [0, 0],
              [1, 0],
            ],
            undefined,
            "int32",
          ),
        ),
      ),
    ).toEqual([
      [1, 1],
      [4, 3],
    ]);
    expect(arr(zeros([2, 3]).scatter(1, tensor([[2], [0]], undefined, "int32"), 7))).toEqual([
      [0, 0, 7],
      [7, 0, 0],
    ]);
  });
  it("cat, stack, split, chunk", () => {
    const a = ones([2, 2]);
    const b = zeros([1, 2]);
    expect(cat([a, b]).shape).toEqual([3, 2]);
    expect(stack([a, a], 1).shape).toEqual([2, 2, 2]);
    expect(
      arange(5)
        .split(2)
        .map((t) => t.toArray()),
    ).toEqual([[0, 1], [2, 3], [4]]);
    expect(
      arange(6)
        .chunk(3)
        .map((t) => t.shape[0]),
    ).toEqual([2, 2, 2]);
    expect(() => cat([a, zeros([1, 3])])).toThrow(/cat: shapes \[2, 2\], \[1, 3\] differ outside dim 0/);
  });
  it("random is seeded", () => {
    manualSeed(42);
    const a = randn([4]).toArray();
    manualSeed(42);
    expect(randn([4]).toArray()).toEqual(a);
    const r = randint(0, 3, [1000]);
    expect(r.min().item()).toBe(0);
    expect(r.max().item()).toBe(2);
    const big = randn([20000]);
    expect(Math.abs(big.mean().item())).toBeLessThan(0.05);
    expect(Math.abs(big.std().item() - 1)).toBeLessThan(0.05);
  });
});
