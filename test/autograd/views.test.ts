// Finite-difference checks of the view and copy ops (reshape, view, flatten, permute, transpose, mT,
// movedim, squeeze, unsqueeze, expand, narrow, diagonal, split/chunk/unbind, indexing, contiguous, clone, to)
// and of ops on strided inputs: permuted, narrowed and expanded leaves.
import { describe, expect, it } from "vitest";
import { tensor } from "../../src/index.js";
import { gradcheck, normal } from "./gradcheck.js";

describe("autograd: shape views", () => {
  const x = normal([2, 3, 4]);
  it("reshape, viewAs, flatten (view and copying paths)", async () => {
    await gradcheck((a) => a.reshape(6, 4).mul(a.reshape(-1).reshape(4, 6).mT), [x]);
    await gradcheck((a) => a.viewAs(3, 8).exp(), [x]);
    await gradcheck((a) => a.permute(2, 0, 1).reshape(4, 6).mul(2), [x]); // reshape copies here
    await gradcheck((a) => a.flatten(1).sin(), [x]);
  });
  it("permute, transpose, mT, movedim", async () => {
    const w = normal([4, 3, 2], 2);
    await gradcheck((a) => a.permute(2, 1, 0).mul(w), [x]);
    await gradcheck((a) => a.transpose(0, 2).mul(w), [x]);
    await gradcheck((a) => a.movedim(0, -1).mT.mul(normal([3, 2, 4], 3)), [x]);
  });
  it("squeeze, unsqueeze, expand", async () => {
    await gradcheck((a) => a.unsqueeze(1).squeeze().mul(a.squeeze(0)), [normal([1, 3])]);
    await gradcheck((a) => a.expand(4, 2, 3).mul(normal([4, 2, 3], 3)), [normal([2, 1], 4)]);
    await gradcheck((a) => a.broadcastTo([3, 5]).exp(), [normal([5], 5)]);
  });
  it("narrow, split, chunk, unbind", async () => {
    await gradcheck((a) => a.narrow(1, 1, 2).exp(), [x]);
    await gradcheck(
      (a) => {
        const [p, q] = a.split([1, 3], -1);
        return p!.mul(q!.sum(-1, true));
      },
      [x],
    );
    await gradcheck(
      (a) => {
        const c = a.chunk(2, 2);
        return c[0]!.mul(c[1]!);
      },
      [x],
    );
    await gradcheck(
      (a) => {
        const [u, v] = a.unbind(0);
        return u!.mul(v!).add(u!);
      },
      [x],
    );
  });
  it("diagonal with an offset", async () => {
    await gradcheck((a) => a.diagonal(1, 1, 2).exp(), [x]);
    await gradcheck((a) => a.diagonal(-1).square(), [normal([3, 3], 6)]);
  });
  it("contiguous, clone, dtype casts", async () => {
    await gradcheck((a) => a.mT.contiguous().mul(a.mT.clone()), [normal([3, 2], 7)]);
    // through float32 finite differences are noise: check the value (a cast passes the gradient through, cast)
    const a = tensor([0.5, -1.25, 2], undefined, "float64").requiresGrad_();
    await a
      .to("float32")
      .mul(tensor([1, 2, 3]))
      .sum()
      .backward();
    expect(a.grad!.dtype).toBe("float64");
    expect(Array.from(a.grad!.dataSync())).toEqual([1, 2, 3]);
  });
});

describe("autograd: indexing", () => {
  const x = normal([4, 3], 8);
  it("basic indices: ints, slices with steps, negative steps, ..., null", async () => {
    await gradcheck((a) => a.get(1).mul(a.get(-1)), [x]);
    await gradcheck((a) => a.get("::2", "1:").exp(), [x]);
    await gradcheck((a) => a.get("::-1").mul(a), [x]);
    await gradcheck((a) => a.get("...", null, 0).exp(), [x]);
  });
  it("index tensors, repeated indices add up, bool masks", async () => {
    const idx = tensor([2, 0, 2, 3], undefined, "int32");
    await gradcheck((a) => a.get(idx).exp(), [x]);
    await gradcheck((a) => a.get(":", tensor([1, 1], undefined, "int32")).mul(3), [x]);
    await gradcheck((a) => a.get(a.detach().gt(0)).square(), [x]);
  });
  it("empty selections: an empty index tensor, an empty slice, a size-0 tensor", async () => {
    await gradcheck(
      (a) =>
        a
          .get(tensor([], undefined, "int32"))
          .exp()
          .sum()
          .add(a.sum()),
      [x],
    );
    await gradcheck((a) => a.get("2:2").exp().sum().add(a.mul(2).sum()), [x]);
    await gradcheck((a) => a.reshape(3, 0).permute(1, 0).sum(0), [normal([0], 3)]);
  });
  it("embedding lookup: rows of a weight gathered by token ids", async () => {
    const W = normal([5, 3], 9);
    const tokens = tensor(
      [
        [1, 4, 1],
        [0, 1, 2],
      ],
      undefined,
      "int32",
    );
    await gradcheck((w) => w.get(tokens).tanh(), [W]);
    const w = W.detach().requiresGrad_();
    await w.get(tokens).sum().backward();
    expect(Array.from(w.grad!.sum(1).dataSync())).toEqual([3, 9, 3, 0, 3]); // row 1 used 3 times, row 3 never
  });
});

describe("autograd: strided leaves", () => {
  it("a permuted leaf", async () => {
    await gradcheck((a) => a.exp().sum(0), [normal([3, 4], 10).permute(1, 0)]);
  });
  it("a narrowed leaf (offset into a larger storage)", async () => {
    await gradcheck((a, b) => a.mul(b).tanh(), [normal([5, 4], 11).narrow(0, 2, 3), normal([4], 12)]);
  });
  it("an expanded (stride 0) leaf gets a gradient per element of its shape, as in torch", async () => {
    const base = normal([3], 13);
    const leaf = base.expand(2, 3);
    expect(leaf.strides[0]).toBe(0);
    leaf.requiresGrad_();
    await leaf
      .mul(
        tensor(
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          undefined,
          "float64",
        ),
      )
      .sum()
      .backward();
    expect(leaf.grad!.shape).toEqual([2, 3]);
    expect(Array.from(leaf.grad!.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
