import { describe, expect, it } from "vitest";
import { einsum, rearrange, reduce, repeat } from "../src/tensor/einops.js";
import { arange, cat, tensor } from "../src/tensor/create.js";
import { Generator, randn } from "../src/tensor/random.js";
import { Tensor } from "../src/tensor/tensor.js";
import { ShapeError } from "../src/errors.js";

const gen = new Generator(1234);
const rnd = (...shape: number[]): Tensor => randn(shape, { generator: gen });

/** Reference einsum by explicit loops over every combination of axis values. */
function naiveEinsum(inputs: string[][], output: string[], ts: Tensor[]): Tensor {
  const sizes = new Map<string, number>();
  inputs.forEach((axes, i) => axes.forEach((a, d) => sizes.set(a, ts[i]!.shape[d]!)));
  const names = [...sizes.keys()];
  const datas = ts.map((t) => t.contiguous().dataSync());
  const strides = ts.map((t) => {
    const s = new Array<number>(t.ndim).fill(1);
    for (let d = t.ndim - 2; d >= 0; d--) s[d] = s[d + 1]! * t.shape[d + 1]!;
    return s;
  });
  const outShape = output.map((a) => sizes.get(a)!);
  const outStrides = new Array<number>(output.length).fill(1);
  for (let d = output.length - 2; d >= 0; d--) outStrides[d] = outStrides[d + 1]! * outShape[d + 1]!;
  const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  const idx = new Map<string, number>(names.map((n) => [n, 0]));
  const total = names.reduce((p, n) => p * sizes.get(n)!, 1);
  for (let flat = 0; flat < total; flat++) {
    let r = flat;
    for (let k = names.length - 1; k >= 0; k--) {
      const s = sizes.get(names[k]!)!;
      idx.set(names[k]!, r % s);
      r = Math.floor(r / s);
    }
    let v = 1;
    inputs.forEach((axes, i) => {
      let off = 0;
      axes.forEach((a, d) => {
        off += idx.get(a)! * strides[i]![d]!;
      });
      v *= datas[i]![off]!;
    });
    let o = 0;
    output.forEach((a, d) => {
      o += idx.get(a)! * outStrides[d]!;
    });
    out[o]! += v;
  }
  return Tensor.fromTypedArray(out, outShape);
}

function expectClose(actual: Tensor, expected: Tensor, tol = 1e-4): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < e.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - e[i]!));
    scale = Math.max(scale, Math.abs(e[i]!));
  }
  expect(worst / scale).toBeLessThan(tol);
}

function expectShapeError(fn: () => unknown, message: string | RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ShapeError);
  if (typeof message === "string") expect((caught as Error).message).toBe(message);
  else expect((caught as Error).message).toMatch(message);
}

const split = (s: string): string[] => s.trim().split(/\s+/).filter(Boolean);

describe("einsum", () => {
  it("matrix product, spaced and compact", () => {
    const a = rnd(5, 7);
    const b = rnd(7, 3);
    const ref = naiveEinsum(
      [
        ["i", "j"],
        ["j", "k"],
      ],
      ["i", "k"],
      [a, b],
    );
    expectClose(einsum("i j, j k -> i k", a, b), ref);
    expectClose(einsum("ij,jk->ik", a, b), ref);
    expectClose(einsum("ij, jk -> ik", a, b), ref);
    expectClose(einsum("ij,jk", a, b), ref); // implicit output
    expectClose(einsum("rows inner, inner cols -> rows cols", a, b), a.matmul(b));
    // einops argument order: operands first, pattern last
    expectClose(einsum(a, b, "i j, j k -> i k"), ref);
  });

  it("batched compact bij,bjk->bik", () => {
    const a = rnd(3, 4, 5);
    const b = rnd(3, 5, 6);
    expectClose(einsum("bij,bjk->bik", a, b), naiveEinsum([split("b i j"), split("b j k")], split("b i k"), [a, b]));
    expectClose(einsum("bij,bjk->bki", a, b), naiveEinsum([split("b i j"), split("b j k")], split("b k i"), [a, b]));
  });

  it("TransformerLens patterns", () => {
    const [batch, pos, nHeads, dHead, dModel] = [2, 5, 3, 4, 6];
    const q = rnd(batch, pos, nHeads, dHead);
    const k = rnd(batch, pos, nHeads, dHead);
    const scores = einsum(
      "batch query_pos head_index d_head, batch key_pos head_index d_head -> batch head_index query_pos key_pos",
      q,
      k,
    );
    expect(scores.shape).toEqual([batch, nHeads, pos, pos]);
    expectClose(scores, naiveEinsum([split("b q h d"), split("b k h d")], split("b h q k"), [q, k]));
    // also equal to the permute + matmul composition
    expectClose(scores, q.permute(0, 2, 1, 3).matmul(k.permute(0, 2, 3, 1)));

    const pattern = scores.softmax(-1);
    const v = rnd(batch, pos, nHeads, dHead);
    const z = einsum(
      "batch head_index query_pos key_pos, batch key_pos head_index d_head -> batch query_pos head_index d_head",
      pattern,
      v,
    );
    expectClose(z, naiveEinsum([split("b h q k"), split("b k h d")], split("b q h d"), [pattern, v]));

    const WO = rnd(nHeads, dHead, dModel);
    const out = einsum("batch pos head_index d_head, head_index d_head d_model -> batch pos d_model", z, WO);
    expectClose(out, naiveEinsum([split("b p h d"), split("h d m")], split("b p m"), [z, WO]));
    expectClose(out, z.reshape(batch, pos, nHeads * dHead).matmul(WO.reshape(nHeads * dHead, dModel)));

    // per-head result (no sum over heads)
    const perHead = einsum(
      "batch pos head_index d_head, head_index d_head d_model -> batch pos head_index d_model",
      z,
      WO,
    );
    expectClose(perHead, naiveEinsum([split("b p h d"), split("h d m")], split("b p h m"), [z, WO]));

    // OV circuit W_V @ W_O per head
    const WV = rnd(nHeads, dModel, dHead);
    const ov = einsum(
      "head_index d_model_in d_head, head_index d_head d_model_out -> head_index d_model_in d_model_out",
      WV,
      WO,
    );
    expectClose(ov, WV.matmul(WO));

    // Q projection with bias-free weights
    const resid = rnd(batch, pos, dModel);
    const WQ = rnd(nHeads, dModel, dHead);
    const qq = einsum("batch pos d_model, head_index d_model d_head -> batch pos head_index d_head", resid, WQ);
    expectClose(qq, naiveEinsum([split("b p m"), split("h m d")], split("b p h d"), [resid, WQ]));
  });

  it("traces, diagonals and single-operand sums", () => {
    const m = rnd(4, 4);
    const md = m.toArray() as number[][];
    let tr = 0;
    for (let i = 0; i < 4; i++) tr += md[i]![i]!;
    expect(einsum("i i ->", m).item()).toBeCloseTo(tr, 5);
    expect(einsum("ii", m).item()).toBeCloseTo(tr, 5); // implicit mode: repeated axis is summed
    expect(einsum("ii->i", m).toArray()).toEqual([0, 1, 2, 3].map((i) => md[i]![i]));
    const b = rnd(3, 5, 5);
    expectClose(einsum("b i i -> b i", b), b.diagonal(0, 1, 2));
    expectClose(einsum("b i i -> b", b), b.diagonal(0, 1, 2).sum(-1));
    const x = rnd(3, 4, 5);
    expectClose(einsum("a b c -> a c", x), x.sum(1));
    expectClose(einsum("a b c ->", x), x.sum());
    expectClose(einsum("a b c -> c b a", x), x.permute(2, 1, 0));
    expectClose(einsum("abc->cab", x), x.permute(2, 0, 1));
    // an axis summed out of one operand before the contraction
    const y = rnd(5, 6);
    expectClose(einsum("a b c, c d -> a", x, y), naiveEinsum([split("a b c"), split("c d")], ["a"], [x, y]));
    // diagonal across operands: a shared axis kept in the output is elementwise
    const u = rnd(6);
    const w = rnd(6);
    expectClose(einsum("i, i -> i", u, w), u.mul(w));
    expect(einsum("i, i ->", u, w).item()).toBeCloseTo(u.mul(w).sum().item(), 5);
    const p = rnd(3, 4);
    const q = rnd(3, 4);
    expectClose(einsum("i j, i j -> i", p, q), p.mul(q).sum(1));
  });

  it("outer products", () => {
    const a = rnd(4);
    const b = rnd(5);
    expectClose(einsum("i, j -> i j", a, b), a.reshape(4, 1).mul(b.reshape(1, 5)));
    expectClose(einsum("i,j->ji", a, b), naiveEinsum([["i"], ["j"]], ["j", "i"], [a, b]));
    const x = rnd(3, 4);
    const y = rnd(3, 5);
    expectClose(
      einsum("batch i, batch j -> batch i j", x, y),
      naiveEinsum([split("b i"), split("b j")], split("b i j"), [x, y]),
    );
    expectClose(
      einsum("batch i, batch j -> i batch j", x, y),
      naiveEinsum([split("b i"), split("b j")], split("i b j"), [x, y]),
    );
  });

  it("three and four operands", () => {
    const a = rnd(3, 4);
    const b = rnd(4, 5);
    const c = rnd(5, 2);
    expectClose(einsum("i j, j k, k l -> i l", a, b, c), a.matmul(b).matmul(c));
    expectClose(einsum("ij,jk,kl->li", a, b, c), a.matmul(b).matmul(c).transpose(0, 1));
    const x = rnd(2, 3);
    const y = rnd(2, 4);
    const s = rnd(2);
    expectClose(
      einsum("b i, b j, b -> b i j", x, y, s),
      naiveEinsum([split("b i"), split("b j"), ["b"]], split("b i j"), [x, y, s]),
    );
    const u = rnd(5);
    const v = rnd(5);
    const w = rnd(5);
    expect(einsum("i, i, i ->", u, v, w).item()).toBeCloseTo(u.mul(v).mul(w).sum().item(), 4);
    const d = rnd(2, 6);
    expectClose(
      einsum("i j, j k, k l, l m -> m i", a, b, c, d),
      naiveEinsum([split("i j"), split("j k"), split("k l"), split("l m")], split("m i"), [a, b, c, d]),
    );
  });

  it("ellipsis with broadcasting", () => {
    const a = rnd(2, 3, 4);
    const b = rnd(2, 4, 5);
    expectClose(einsum("... i j, ... j k -> ... i k", a, b), a.matmul(b));
    expectClose(einsum("...ij,...jk->...ik", a, b), a.matmul(b));
    // broadcast: [2, 1, 3, 4] with [5, 4, 6] → [2, 5, 3, 6]
    const p = rnd(2, 1, 3, 4);
    const q = rnd(5, 4, 6);
    const r = einsum("... i j, ... j k -> ... i k", p, q);
    expect(r.shape).toEqual([2, 5, 3, 6]);
    expectClose(r, p.matmul(q));
    // ellipsis missing from the output is summed
    const s = rnd(2, 3, 4);
    expectClose(einsum("... d -> d", s), s.sum([0, 1]));
    expectClose(einsum("... d ->...", s), s.sum(-1));
    // ellipsis in the middle
    const m = rnd(3, 2, 2, 4);
    const wb = rnd(4);
    expectClose(einsum("a ... b, b -> ... a", m, wb), naiveEinsum([split("a x y b"), ["b"]], split("x y a"), [m, wb]));
  });

  it("dtypes: int32 and float64", () => {
    const a = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      undefined,
      "int32",
    );
    const b = tensor(
      [
        [5, 6],
        [7, 8],
      ],
      undefined,
      "int32",
    );
    const r = einsum("i j, j k -> i k", a, b);
    expect(r.toArray()).toEqual([
      [19, 22],
      [43, 50],
    ]);
    const d = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      undefined,
      "float64",
    );
    expect(einsum("ij,jk->ik", d, d).dtype).toBe("float64");
    expect(einsum("i i ->", a).item()).toBe(5);
  });

  it("handles big inputs (routes through matmul)", () => {
    const q = rnd(4, 128, 12, 64);
    const k = rnd(4, 128, 12, 64);
    const s = einsum(
      "batch query_pos head_index d_head, batch key_pos head_index d_head -> batch head_index query_pos key_pos",
      q,
      k,
    );
    expect(s.shape).toEqual([4, 12, 128, 128]);
    // spot-check a few entries against direct dot products
    const qd = q.dataSync();
    const kd = k.dataSync();
    const sd = s.dataSync();
    for (const [bb, h, i, j] of [
      [0, 0, 0, 0],
      [3, 11, 127, 5],
      [1, 6, 64, 100],
    ]) {
      let dot = 0;
      for (let d = 0; d < 64; d++)
        dot += qd[((bb! * 128 + i!) * 12 + h!) * 64 + d]! * kd[((bb! * 128 + j!) * 12 + h!) * 64 + d]!;
      expect(sd[((bb! * 12 + h!) * 128 + i!) * 128 + j!]).toBeCloseTo(dot, 3);
    }
  });

  it("matches explicit loops on random patterns (diagonals, sums, outer products, 1-3 operands)", () => {
    const g = new Generator(99);
    const pool = ["a", "b", "c", "d", "e"];
    const size = new Map(pool.map((n, i) => [n, [2, 3, 1, 4, 2][i]]));
    for (let trial = 0; trial < 300; trial++) {
      const nOps = g.int(1, 4);
      const inputs: string[][] = [];
      for (let o = 0; o < nOps; o++) {
        const rank = g.int(0, 4);
        inputs.push(Array.from({ length: rank }, () => pool[g.int(0, pool.length)]!));
      }
      const present = [...new Set(inputs.flat())];
      const output = present.filter(() => g.uniform() < 0.5);
      for (let i = output.length - 1; i > 0; i--) {
        const j = g.int(0, i + 1);
        [output[i], output[j]] = [output[j]!, output[i]!];
      }
      const ts = inputs.map((axes) =>
        randn(
          axes.map((a) => size.get(a)!),
          { generator: g },
        ),
      );
      const spaced = `${inputs.map((a) => a.join(" ")).join(", ")} -> ${output.join(" ")}`;
      const compact = `${inputs.map((a) => a.join("")).join(",")}->${output.join("")}`;
      const ref = naiveEinsum(inputs, output, ts);
      expectClose(einsum(spaced, ...ts), ref, 1e-4);
      expectClose(einsum(compact, ...ts), ref, 1e-4);
    }
  });

  it("zero-size axes", () => {
    const r = einsum("i j, j k -> i k", rnd(2, 0), rnd(0, 3));
    expect(r.toArray()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(einsum("i j, j k -> i k", rnd(0, 2), rnd(2, 3)).shape).toEqual([0, 3]);
  });

  it("errors name the axis, the operand and the pattern", () => {
    expectShapeError(
      () => einsum("batch d_model, d_model d_head -> batch d_head", rnd(2, 64), rnd(32, 8)),
      'einsum: axis "d_model" has size 64 in operand 0 but 32 in operand 1',
    );
    expectShapeError(
      () => einsum("a b, b c -> a c", rnd(2, 3)),
      'einsum: the pattern "a b, b c -> a c" names 2 operands but 1 was given',
    );
    expectShapeError(
      () => einsum("a b -> a", rnd(2, 3), rnd(3)),
      'einsum: the pattern "a b -> a" names 1 operand but 2 were given',
    );
    expectShapeError(
      () => einsum("c a, a b -> c", rnd(2, 3), rnd(3, 2, 2)),
      'einsum: operand 1 has 3 dims but "a b" names 2',
    );
    expectShapeError(
      () => einsum("a b, b c -> a d", rnd(2, 3), rnd(3, 2)),
      'einsum: axis "d" in the output "a d" does not appear in any operand',
    );
    expectShapeError(
      () => einsum("a b -> a a", rnd(2, 3)),
      'einsum: axis "a" appears more than once in the output "a a"',
    );
    expectShapeError(
      () => einsum("i i ->", rnd(2, 3)),
      /axis "i" appears twice in operand 0 "i i" with different sizes 2 and 3/,
    );
    expectShapeError(
      () => einsum("... i, ... i -> ... i", rnd(2, 3), rnd(4, 3)),
      /"\.\.\." dims .* cannot be broadcast/,
    );
    expectShapeError(() => einsum("a (b c) -> a", rnd(2, 3)), /unexpected "\(" in operand 0/);
    expectShapeError(() => einsum("... a ... -> a", rnd(2, 3)), /more than one "\.\.\."/);
    expectShapeError(() => einsum("a -> a", rnd(2, 3)), 'einsum: operand 0 has 2 dims but "a" names 1');
  });
});

describe("rearrange", () => {
  it("splits and merges groups with known layouts", () => {
    const x = arange(24).reshape(2, 12);
    const y = rearrange(x, "b (h d) -> b h d", { h: 3 });
    expect(y.shape).toEqual([2, 3, 4]);
    expect(y.toArray()).toEqual(x.reshape(2, 3, 4).toArray());
    expect(rearrange(x, "b (h d) -> b h d", { d: 4 }).toArray()).toEqual(y.toArray());
    expect(rearrange(y, "b h d -> b (h d)").toArray()).toEqual(x.toArray());
    // merge in the other order: (d h)
    const z = rearrange(y, "b h d -> b (d h)");
    expect(z.toArray()).toEqual(y.permute(0, 2, 1).reshape(2, 12).toArray());
    // split and transpose at once
    const w = rearrange(x, "b (h d) -> d b h", { h: 3 });
    expect(w.toArray()).toEqual(x.reshape(2, 3, 4).permute(2, 0, 1).toArray());
    expect(rearrange(arange(6), "(a b) -> b a", { a: 2 }).toArray()).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
  });

  it("round trips", () => {
    const t = rnd(2, 3, 4, 5);
    const a = rearrange(t, "b c h w -> b h w c");
    expectClose(a, t.permute(0, 2, 3, 1));
    expectClose(rearrange(a, "b h w c -> b c h w"), t);
    const flat = rearrange(t, "b c h w -> (b h) (w c)");
    expect(flat.shape).toEqual([8, 15]);
    expectClose(rearrange(flat, "(b h) (w c) -> b c h w", { b: 2, c: 3 }), t);
    const heads = rnd(2, 7, 24);
    const split4 = rearrange(heads, "batch pos (head_index d_head) -> batch pos head_index d_head", { head_index: 4 });
    expectClose(rearrange(split4, "batch pos head_index d_head -> batch pos (head_index d_head)"), heads);
  });

  it("unit axes: 1 and ()", () => {
    const t = rnd(3, 1, 4);
    expectClose(rearrange(t, "b 1 d -> b d"), t.reshape(3, 4));
    expectClose(rearrange(t, "b () d -> b d"), t.reshape(3, 4));
    const u = rnd(3, 4);
    expect(rearrange(u, "b d -> b 1 d").shape).toEqual([3, 1, 4]);
    expect(rearrange(u, "b d -> b d ()").shape).toEqual([3, 4, 1]);
    expect(rearrange(u, "b d -> () b (d 1)").shape).toEqual([1, 3, 4]);
    expectClose(rearrange(u, "b d -> d () b"), u.transpose(0, 1).reshape(4, 1, 3));
  });

  it("ellipsis", () => {
    const t = rnd(2, 3, 4, 6);
    expectClose(rearrange(t, "... (h d) -> ... h d", { h: 2 }), t.reshape(2, 3, 4, 2, 3));
    expectClose(rearrange(t, "b ... d -> d b ..."), t.permute(3, 0, 1, 2));
    expectClose(rearrange(t, "b ... -> b (...)"), t.reshape(2, 72));
    expectClose(rearrange(t, "... -> ..."), t);
    const v = rnd(5);
    expectClose(rearrange(v, "... d -> d ..."), v); // empty ellipsis
  });

  it("returns views when possible", () => {
    const t = rnd(2, 12);
    const v = rearrange(t, "b (h d) -> b h d", { h: 3 });
    expect(v.storage).toBe(t.storage);
  });

  it("errors", () => {
    const t = rnd(2, 10);
    expectShapeError(
      () => rearrange(rnd(2, 12), "b (h d) -> b x d", { h: 3 }),
      'rearrange: axis "x" in the output does not appear in the input "b (h d)"',
    );
    expectShapeError(
      () => rearrange(t, "b (h d) -> b h d", { h: 3 }),
      "rearrange: cannot split axis of size 10 into (h=3 d)",
    );
    expectShapeError(
      () => rearrange(t, "b (h d) -> b h d", { h: 3, d: 4 }),
      "rearrange: cannot split axis of size 10 into (h=3 d=4)",
    );
    expectShapeError(() => rearrange(t, "b (h d) -> b h d"), /cannot infer the sizes of "h" and "d" in \(h d\)/);
    expectShapeError(
      () => rearrange(t, "b (h d) -> b h", { h: 2 }),
      'rearrange: axis "d" of the input "b (h d)" does not appear in the output "b h"; use reduce to reduce it away',
    );
    expectShapeError(
      () => rearrange(rnd(2, 3, 4), "a b -> b a"),
      'rearrange: the input has 3 dims (shape [2, 3, 4]) but "a b" names 2',
    );
    expectShapeError(
      () => rearrange(t, "a b -> b a", { a: 3 }),
      'rearrange: axis "a" has size 2 in the input but sizes gives 3',
    );
    expectShapeError(
      () => rearrange(t, "a b -> b a", { z: 3 }),
      /sizes gives axis "z", which does not appear in the pattern/,
    );
    expectShapeError(() => rearrange(t, "a b -> b a a"), /axis "a" appears more than once in the output/);
    expectShapeError(() => rearrange(t, "a b b"), /must contain exactly one "->"/);
    expectShapeError(() => rearrange(t, "a (b -> a b"), /unclosed "\("/);
    expectShapeError(() => rearrange(t, "a ((b)) -> a b"), /nested parentheses/);
    expectShapeError(() => rearrange(t, "a b -> a b 2"), /anonymous axis 2 in the output/);
    expectShapeError(
      () => rearrange(t, "a b -> ... a b"),
      /the output "\.\.\. a b" has "\.\.\." but the input "a b" does not/,
    );
    expectShapeError(() => rearrange(t, "... b -> b"), /has "\.\.\." but the output "b" does not/);
    expectShapeError(() => rearrange(t, "(a ...) -> a ..."), /cannot be inside parentheses/);
    expectShapeError(() => rearrange(rnd(2, 3), "b 1 -> b"), "rearrange: cannot split axis of size 3 into 1");
  });
});

describe("reduce", () => {
  it("sum, mean, max, min, prod match the tensor reductions", () => {
    const t = rnd(2, 3, 4);
    expectClose(reduce(t, "b s d -> b d", "sum"), t.sum(1));
    expectClose(reduce(t, "b s d -> b d", "mean"), t.mean(1));
    expectClose(reduce(t, "b s d -> b d", "max"), t.amax(1));
    expectClose(reduce(t, "b s d -> b d", "min"), t.amin(1));
    expectClose(reduce(t, "b s d -> b d", "prod"), t.prod(1));
    expectClose(reduce(t, "b s d -> d", "mean"), t.mean([0, 1]));
    expectClose(reduce(t, "b s d -> d b", "max"), t.amax(1).transpose(0, 1));
    expect(reduce(t, "b s d ->", "sum").shape).toEqual([]);
    expect(reduce(t, "b s d ->", "sum").item()).toBeCloseTo(t.sum().item(), 4);
    expectClose(reduce(t, "b s d -> b s d", "sum"), t);
  });

  it("pooling with anonymous and grouped axes", () => {
    const img = arange(16).reshape(4, 4).to("float32");
    expect(reduce(img, "(h 2) (w 2) -> h w", "max").toArray()).toEqual([
      [5, 7],
      [13, 15],
    ]);
    expect(reduce(img, "(h h2) (w w2) -> h w", "mean", { h2: 2, w2: 2 }).toArray()).toEqual([
      [2.5, 4.5],
      [10.5, 12.5],
    ]);
    expect(reduce(img, "h (w 2) -> h w", "sum").toArray()).toEqual([
      [1, 5],
      [9, 13],
      [17, 21],
      [25, 29],
    ]);
  });

  it("keepdims with () and 1, ellipsis", () => {
    const t = rnd(2, 3, 4, 5);
    const r = reduce(t, "b c h w -> b c () ()", "mean");
    expect(r.shape).toEqual([2, 3, 1, 1]);
    expectClose(r, t.mean([2, 3], true));
    expectClose(reduce(t, "b c h w -> b 1 h w", "max"), t.amax(1, true));
    expectClose(reduce(t, "... w -> w", "sum"), t.sum([0, 1, 2]));
    expectClose(reduce(t, "b ... -> b", "min"), t.amin([1, 2, 3]));
    expectClose(reduce(t, "b ... w -> ... b", "sum"), t.sum(3).permute(1, 2, 0));
  });

  it("int32 mean is float", () => {
    const t = tensor(
      [
        [1, 2],
        [3, 5],
      ],
      undefined,
      "int32",
    );
    const m = reduce(t, "a b -> a", "mean");
    expect(m.dtype).toBe("float32");
    expect(m.toArray()).toEqual([1.5, 4]);
    expect(reduce(t, "a b -> b", "sum").toArray()).toEqual([4, 7]);
  });

  it("errors", () => {
    const t = rnd(2, 3);
    expectShapeError(
      () => reduce(t, "a b -> c", "sum"),
      'reduce: axis "c" in the output does not appear in the input "a b"',
    );
    expectShapeError(() => reduce(t, "a b -> a", "median" as "sum"), /unknown reduction "median"/);
    expectShapeError(
      () => reduce(t, "a b c -> a", "sum"),
      'reduce: the input has 2 dims (shape [2, 3]) but "a b c" names 3',
    );
    expectShapeError(() => reduce(t, "a (b 2) -> a", "sum"), "reduce: cannot split axis of size 3 into (b 2)");
  });
});

describe("repeat", () => {
  it("new named axes", () => {
    const v = tensor([1, 2, 3]);
    const r = repeat(v, "d -> b d", { b: 4 });
    expect(r.toArray()).toEqual([
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(repeat(v, "d -> d b", { b: 2 }).toArray()).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    // a fresh tensor: writing into it leaves the source alone
    r.set([0, 0], 100);
    expect(r.toArray()).toEqual([
      [100, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(v.toArray()).toEqual([1, 2, 3]);
  });

  it("repeats inside groups (upsampling, tiling)", () => {
    const m = tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(repeat(m, "h w -> (h 2) (w 2)").toArray()).toEqual([
      [1, 1, 2, 2],
      [1, 1, 2, 2],
      [3, 3, 4, 4],
      [3, 3, 4, 4],
    ]);
    expect(repeat(m, "h w -> (r h) w", { r: 2 }).toArray()).toEqual(cat([m, m], 0).toArray());
    expect(repeat(m, "h w -> h (w r)", { r: 3 }).toArray()).toEqual([
      [1, 1, 1, 2, 2, 2],
      [3, 3, 3, 4, 4, 4],
    ]);
    expect(repeat(m, "h w -> w h c", { c: 2 }).toArray()).toEqual([
      [
        [1, 1],
        [3, 3],
      ],
      [
        [2, 2],
        [4, 4],
      ],
    ]);
    expect(repeat(m, "h w -> h w 3").shape).toEqual([2, 2, 3]);
  });

  it("ellipsis, unit axes and plain rearranges", () => {
    const t = rnd(2, 3);
    const r = repeat(t, "... -> b ...", { b: 5 });
    expect(r.shape).toEqual([5, 2, 3]);
    expectClose(r.get(4), t);
    expectClose(repeat(t, "a b -> b a"), t.transpose(0, 1));
    expectClose(
      repeat(
        rnd(2, 1, 3)
          .mul(0)
          .add(t.reshape(2, 1, 3)),
        "a 1 b -> a k b",
        { k: 4 },
      ),
      t.reshape(2, 1, 3).expand(2, 4, 3),
    );
    // the TransformerLens idiom: broadcast a per-head bias over batch and position
    const bias = rnd(4, 8);
    const rb = repeat(bias, "head_index d_head -> batch pos head_index d_head", { batch: 2, pos: 3 });
    expect(rb.shape).toEqual([2, 3, 4, 8]);
    expectClose(rb.get(1, 2), bias);
  });

  it("errors", () => {
    const t = rnd(3);
    expectShapeError(
      () => repeat(t, "d -> b d"),
      'repeat: new axis "b" in the output "b d" needs a size: pass { b: n }',
    );
    expectShapeError(
      () => repeat(rnd(2, 3), "a b -> a", {}),
      'repeat: axis "b" of the input "a b" does not appear in the output "a"',
    );
    expectShapeError(() => repeat(t, "(a b) -> a b", { a: 2 }), "repeat: cannot split axis of size 3 into (a=2 b)");
  });
});
