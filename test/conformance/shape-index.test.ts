// Conformance: views and layout ops (reshape, permute, transpose, expand, squeeze/unsqueeze, flatten, narrow,
// movedim, contiguous), joins (cat, stack, split, chunk, unbind), sorting (sort, argsort, topk), diagonal,
// gather/scatter, and indexing get/set (ints, slices with steps and negatives, "...", null, int index tensors,
// bool masks, set into views) — native vs js, plus layout invariance and untouched inputs.
import { describe, it } from "vitest";
import { cat, stack } from "../../src/tensor/create.js";
import { TensorStorage } from "../../src/tensor/tensor.js";
import type { Index } from "../../src/tensor/indexing.js";
import {
  broadcastPartner,
  cases,
  cmp,
  cmpOp,
  desc,
  fresh,
  pick,
  randData,
  randShape,
  randTensor,
  Tensor,
  values,
  type DType,
} from "./util.js";
import type { Generator } from "../../src/tensor/random.js";

const DTYPES: DType[] = ["float32", "float32", "float64", "int32", "bool"];

function shuffle<T>(g: Generator, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = g.int(0, i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** A copy of t with the same shape, strides and offset over a copy of its storage (for in-place ops). */
function sameLayoutCopy(t: Tensor): Tensor {
  return new Tensor(new TensorStorage(t.storage.data.slice()), t.dtype, t.shape, t.strides, t.offset);
}

/** The whole storage behind t, as a 1-D tensor. */
function storageOf(t: Tensor): Tensor {
  return Tensor.fromTypedArray(t.storage.data, [t.storage.data.length]);
}

describe("views and layout ops: native vs js", () => {
  it("reshape / flatten / permute / transpose / movedim / squeeze / unsqueeze / expand / narrow / contiguous", () => {
    cases("views", 60, (g) => {
      const x = randTensor(g, randShape(g, { minRank: 1 }), pick(g, DTYPES));
      const r = x.ndim;
      const perm = shuffle(g, [...Array(r).keys()]);
      const d = g.int(-r, r);
      const numel = x.numel;
      // a random factorisation of numel for reshape
      const target: number[] = [];
      let rest = numel;
      for (const f of [2, 3, 5, 7])
        while (rest % f === 0 && rest > 1 && g.uniform() < 0.6) {
          target.push(f);
          rest /= f;
        }
      target.push(rest);
      if (numel > 0 && g.uniform() < 0.5) target[g.int(0, target.length)] = -1;
      const s = desc(x);
      cmpOp(`reshape(${s}, ${target})`, [x], (x) => x.reshape(...target));
      cmpOp(`flatten(${s})`, [x], (x) => x.flatten());
      cmpOp(`flatten(${s}, ${Math.min(1, r - 1)})`, [x], (x) => x.flatten(Math.min(1, r - 1)));
      cmpOp(`permute(${s}, ${perm})`, [x], (x) => x.permute(...perm));
      cmpOp(`permute+contiguous(${s}, ${perm})`, [x], (x) => x.permute(...perm).contiguous());
      cmpOp(`permute+reshape(${s}, ${perm})`, [x], (x) => x.permute(...perm).reshape(-1));
      cmpOp(`transpose(${s}, 0, ${d})`, [x], (x) => x.transpose(0, d));
      cmpOp(`movedim(${s}, ${d}, 0)`, [x], (x) => x.movedim(d, 0));
      cmpOp(`unsqueeze(${s}, ${d})`, [x], (x) => x.unsqueeze(d).contiguous());
      cmpOp(`squeeze(${s})`, [x], (x) => x.squeeze());
      cmpOp(`expand(${s})`, [x], (x) =>
        x
          .unsqueeze(0)
          .expand(3, ...x.shape.map((sz) => (sz === 1 ? 2 : -1)))
          .contiguous(),
      );
      const size = x.shape[(d + r) % r]!;
      const start = g.int(0, size + 1);
      const len = g.int(0, size - start + 1);
      cmpOp(`narrow(${s}, ${d}, ${start}, ${len})`, [x], (x) => x.narrow(d, start, len).contiguous());
      cmpOp(`to float64 then back (${s})`, [x], (x) => x.to("float64").to(x.dtype));
    });
  });

  it("diagonal(offset, dim1, dim2)", () => {
    cases("diagonal", 40, (g) => {
      const x = randTensor(g, randShape(g, { minRank: 2 }), pick(g, DTYPES));
      const d1 = g.int(0, x.ndim);
      let d2 = g.int(0, x.ndim);
      if (d2 === d1) d2 = (d1 + 1) % x.ndim;
      const off = g.int(-4, 5);
      cmpOp(`diagonal(${desc(x)}, ${off}, ${d1}, ${d2})`, [x], (x) => x.diagonal(off, d1, d2).contiguous());
      cmpOp(`diagonal sum(${desc(x)}, ${off}, ${d1}, ${d2})`, [x], (x) => x.diagonal(off, d1 - x.ndim, d2).sum(-1), {
        rtol: 1e-6,
        atol: 1e-6,
      });
    });
  });
});

describe("joins: native vs js", () => {
  it("cat along any dim (views, mixed dtypes, empty parts, 1-D empty tensors skipped)", () => {
    cases("cat", 40, (g) => {
      const shape = randShape(g, { minRank: 1 });
      const d = g.int(0, shape.length);
      const n = g.int(1, 5);
      const parts = Array.from({ length: n }, () => {
        const s = [...shape];
        s[d] = g.int(0, 4);
        return randTensor(g, s, pick(g, ["float32", "float32", "int32", "float64"] as const));
      });
      if (g.uniform() < 0.2) parts.splice(g.int(0, parts.length + 1), 0, randData(g, [0], "float32"));
      const dim = g.uniform() < 0.3 ? d - shape.length : d;
      cmpOp(`cat(${desc(...parts)}, ${dim})`, parts, (...ps) => cat(ps, dim));
    });
  });

  it("stack along any dim", () => {
    cases("stack", 30, (g) => {
      const shape = randShape(g);
      const parts = Array.from({ length: g.int(1, 4) }, () =>
        randTensor(g, shape, pick(g, ["float32", "int32", "bool"] as const)),
      );
      const d = g.int(-shape.length - 1, shape.length + 1);
      cmpOp(`stack(${desc(...parts)}, ${d})`, parts, (...ps) => stack(ps, d));
    });
  });

  it("cat / stack of large views (the native copy kernel, transposed parts)", () => {
    cases("cat large", 3, (g, i) => {
      const a = randTensor(g, [200, 300], "float32", { layout: "contiguous" });
      const b = randTensor(g, [600, 200], "float32", { layout: "contiguous" }).mT.get(":", "::2");
      const c = randTensor(g, [200, 250], "float32", { layout: i === 0 ? "contiguous" : "mixed" });
      cmpOp(`cat(large ${desc(a, b, c)}, 1)`, [a, b, c], (...ps) => cat(ps, 1));
      cmpOp(`cat(large ${desc(a.mT, c.mT)}, 0)`, [a, c], (x, y) => cat([x.mT, y.mT], 0));
      cmpOp(`stack(large ${desc(a, b)}, ${i})`, [a, b], (x, y) => stack([x, y], i));
    });
  });

  it("split (size and sizes list), chunk, unbind", () => {
    cases("split", 40, (g) => {
      const x = randTensor(g, randShape(g, { minRank: 1 }), pick(g, DTYPES));
      const d = g.int(-x.ndim, x.ndim);
      const size = x.shape[(d + x.ndim) % x.ndim]!;
      const sizes: number[] = [];
      for (let left = size; left > 0;) {
        const s = g.int(1, left + 1);
        sizes.push(s);
        left -= s;
      }
      if (g.uniform() < 0.3) sizes.splice(g.int(0, sizes.length + 1), 0, 0);
      const step = g.int(1, 4);
      const chunks = g.int(1, 5);
      const s = desc(x);
      cmpOp(`split(${s}, ${step}, ${d})`, [x], (x) => x.split(step, d).map((t) => t.contiguous()));
      cmpOp(`split(${s}, [${sizes}], ${d})`, [x], (x) => x.split(sizes, d).map((t) => t.contiguous()));
      cmpOp(`chunk(${s}, ${chunks}, ${d})`, [x], (x) => x.chunk(chunks, d).map((t) => t.contiguous()));
      cmpOp(`unbind(${s}, ${d})`, [x], (x) => x.unbind(d).map((t) => t.contiguous()));
    });
  });
});

describe("sorting: native vs js (ties stable, NaN largest)", () => {
  it("sort / argsort / topk over any dim, ascending and descending", () => {
    cases("sort", 50, (g) => {
      const x = randTensor(
        g,
        randShape(g, { minRank: 1 }),
        pick(g, ["float32", "float32", "float64", "int32", "bool"] as const),
        { kind: pick(g, ["int-valued", "normal", "special"] as const) },
      );
      const d = g.int(-x.ndim, x.ndim);
      const desc_ = g.uniform() < 0.5;
      const size = x.shape[(d + x.ndim) % x.ndim]!;
      const k = g.int(0, size + 1);
      const s = desc(x);
      cmpOp(`sort(${s}, ${d}, ${desc_})`, [x], (x) => x.sort(d, desc_));
      cmpOp(`argsort(${s}, ${d}, ${desc_})`, [x], (x) => x.argsort(d, desc_));
      cmpOp(`topk(${s}, ${k}, ${d})`, [x], (x) => x.topk(k, d));
      cmpOp(`topk smallest(${s}, ${k}, ${d})`, [x], (x) => x.topk(k, d, false));
    });
  });

  it("large topk over a vocab-sized dim", () => {
    cases("topk large", 2, (g) => {
      const x = randTensor(g, [4, 50257], "float32", { layout: "contiguous", kind: "normal" });
      cmpOp(`topk(large ${desc(x)}, 10)`, [x], (x) => x.topk(10, -1));
    });
  });
});

describe("gather / scatter: native vs js", () => {
  function randIndex(g: Generator, x: Tensor, d: number): Tensor {
    const shape = x.shape.map((s, k) => (k === d ? g.int(0, 5) : g.int(Math.min(1, s), s + 1)));
    const size = x.shape[d]!;
    const idx = Tensor.empty(shape, "int32");
    for (let i = 0; i < idx.storage.data.length; i++) idx.storage.data[i] = size === 0 ? 0 : g.int(0, size);
    return g.uniform() < 0.3 ? idx.to("int32") : idx;
  }

  it("gather(dim, index)", () => {
    cases("gather", 40, (g) => {
      const x = randTensor(g, randShape(g, { minRank: 1, allowZero: false }), pick(g, DTYPES));
      const d = g.int(0, x.ndim);
      const idx = randIndex(g, x, d);
      const dim = g.uniform() < 0.3 ? d - x.ndim : d;
      cmpOp(`gather(${desc(x)}, ${dim}, ${desc(idx)})`, [x, idx], (x, i) => x.gather(dim, i));
    });
  });

  it("scatter(dim, index, src | scalar) and scatter-add", () => {
    cases("scatter", 40, (g) => {
      const x = randTensor(
        g,
        randShape(g, { minRank: 1, allowZero: false }),
        pick(g, ["float32", "float64", "int32"] as const),
      );
      const d = g.int(0, x.ndim);
      const idx = randIndex(g, x, d);
      const src = randTensor(
        g,
        idx.shape.map((s) => s + g.int(0, 2)),
        x.dtype,
      );
      const s = desc(x, d, idx, src);
      cmpOp(`scatter(${s})`, [x, idx, src], (x, i, v) => x.scatter(d, i, v));
      cmpOp(`scatter add(${s})`, [x, idx, src], (x, i, v) => x.scatter(d, i, v, "add"));
      cmpOp(`scatter scalar(${s})`, [x, idx], (x, i) => x.scatter(d, i, 2.5));
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// indexing

/** A random index list for shape: ints, slices (steps, negatives, out-of-range bounds), "...", null, int
 *  index tensors (also negative, broadcast against each other), bool masks. */
function randIndexList(g: Generator, shape: readonly number[], allowAdvanced: boolean): Index[] {
  const idx: Index[] = [];
  let dim = 0;
  let ellipsis = false;
  const useDims = g.int(0, shape.length + 1);
  while (dim < useDims) {
    const s = shape[dim]!;
    const r = g.uniform();
    if (r < 0.08) {
      idx.push(null);
      continue;
    }
    if (r < 0.14 && !ellipsis) {
      ellipsis = true;
      idx.push("...");
      // "..." takes the dims between here and the trailing indices
      dim = Math.max(dim, useDims - g.int(0, useDims - dim + 1));
      continue;
    }
    if (r < 0.3 && s > 0) idx.push(g.int(-s, s));
    else if (r < 0.38 && s > 0) idx.push(String(g.int(-s, s)));
    else if (r < 0.75 || !allowAdvanced) {
      const part = (): string => (g.uniform() < 0.3 ? "" : String(g.int(-s - 2, s + 3)));
      const step = pick(g, ["", "", "1", "2", "3", "-1", "-2"]);
      idx.push(step ? `${part()}:${part()}:${step}` : `${part()}:${part()}`);
    } else if (r < 0.9 || dim + 1 >= shape.length) {
      const ishape = pick(g, [[], [1], [2], [3], [2, 1], [1, 3]]);
      const t = Tensor.empty(ishape, "int32");
      for (let i = 0; i < t.storage.data.length; i++) t.storage.data[i] = s === 0 ? 0 : g.int(-s, s);
      if (s === 0 && t.numel > 0) {
        idx.push(":");
        dim++;
        continue;
      }
      idx.push(t);
    } else {
      const span = g.int(1, 3);
      const mshape = shape.slice(dim, dim + span);
      idx.push(randData(g, mshape, "bool"));
      dim += mshape.length;
      continue;
    }
    dim++;
  }
  return idx;
}

function fmtIndex(idx: Index[]): string {
  return `[${idx.map((i) => (i instanceof Tensor ? `${i.dtype}${JSON.stringify(i.shape)}(${Array.from(values(i))})` : JSON.stringify(i))).join(", ")}]`;
}

describe("indexing get / set: native vs js", () => {
  it("get with basic indices (ints, slices with steps and negatives, ..., null) gives the same values", () => {
    cases("get basic", 80, (g) => {
      const x = randTensor(g, randShape(g, { minRank: 1 }), pick(g, DTYPES));
      const idx = randIndexList(g, x.shape, false);
      cmpOp(`get(${desc(x)}, ${fmtIndex(idx)})`, [x], (x) => x.get(...idx));
      cmpOp(`get+contiguous(${desc(x)}, ${fmtIndex(idx)})`, [x], (x) => x.get(...idx).contiguous());
    });
  });

  it("get with advanced indices (int tensors, bool masks, mixed with basic ones)", () => {
    cases("get advanced", 80, (g) => {
      const x = randTensor(g, randShape(g, { minRank: 1 }), pick(g, DTYPES));
      const idx = randIndexList(g, x.shape, true);
      const tensors = idx.filter((i): i is Tensor => i instanceof Tensor);
      cmpOp(`get(${desc(x)}, ${fmtIndex(idx)})`, [x, ...tensors], (x, ...ts) => {
        let k = 0;
        return x.get(...idx.map((i) => (i instanceof Tensor ? ts[k++]! : i)));
      });
    });
  });

  it("set into views (value scalars and broadcast tensors; storage outside the view untouched)", () => {
    cases("set", 80, (g) => {
      const target = randTensor(
        g,
        randShape(g, { minRank: 1 }),
        pick(g, ["float32", "float32", "float64", "int32", "bool"] as const),
        { layout: pick(g, ["contiguous", "permuted", "stepped", "reversed", "offset", "mixed"] as const) },
      );
      const idx = randIndexList(g, target.shape, g.uniform() < 0.5);
      const probe = (() => {
        try {
          return target.get(...idx);
        } catch {
          return null;
        }
      })();
      const vshape = probe ? broadcastPartner(g, probe.shape) : [];
      const value: Tensor | number =
        g.uniform() < 0.3
          ? pick(g, [0, 1, -2.5])
          : randTensor(g, vshape, pick(g, ["float32", "int32", "float64", "bool"] as const));
      const s = `set(${desc(target)}, ${fmtIndex(idx)}, ${value instanceof Tensor ? desc(value) : value})`;
      // each backend writes into its own copy of the storage; compare the whole storages
      cmp(s, () => {
        const t = sameLayoutCopy(target);
        t.set(idx, value);
        return [t, storageOf(t)];
      });
      // and the result is what writing into a fresh contiguous copy gives
      cmp(`${s} vs contiguous`, () => {
        const t = sameLayoutCopy(target);
        t.set(idx, value);
        const c = fresh(target);
        c.set(idx, value);
        return [t.sub(c).abs().to("float64").sum()];
      });
    });
  });

  it("set of large regions (≥ 100K elements: the native copy kernel) through strided views", () => {
    cases("set large", 4, (g, i) => {
      const base = randTensor(g, [200, 700], "float32", { layout: "contiguous" });
      const idx: Index[][] = [
        [":", "::2"],
        ["::-1", "1:-1"],
        ["...", "3:600:3"],
        [":", ":"],
      ];
      const v =
        i === 3
          ? randTensor(g, [700, 200], "float32", { layout: "contiguous" }).mT
          : randTensor(g, base.get(...idx[i]!).shape, "float32", { layout: "mixed" });
      cmp(`set(large ${desc(base)}, ${fmtIndex(idx[i]!)}, ${desc(v)})`, () => {
        const t = sameLayoutCopy(base);
        t.set(idx[i]!, v);
        return storageOf(t);
      });
      cmpOp(`copy large transposed (${desc(base)})`, [base], (b) => b.mT.contiguous());
    });
  });
});
