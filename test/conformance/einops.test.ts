// Conformance: einsum / rearrange / reduce / repeat — native vs js on random shapes and views, and einsum
// against a naive loop over every index assignment (independent of the tensor layer).
import { describe, it } from "vitest";
import { einsum, rearrange, reduce, repeat } from "../../src/tensor/einops.js";
import {
  assertValues,
  cases,
  cmpOp,
  compareOutcomes,
  desc,
  EXACT,
  on,
  outcome,
  pick,
  randTensor,
  Tensor,
  values,
  type Tol,
} from "./util.js";

/** cmpOp on `f`, and `f` equals `ref` (the same computation spelled with explicit view/reduction ops). */
function same(
  ctx: string,
  inputs: Tensor[],
  f: (...xs: Tensor[]) => Tensor,
  ref: (...xs: Tensor[]) => Tensor,
  tol: Tol = EXACT,
): void {
  cmpOp(ctx, inputs, f, tol);
  compareOutcomes(
    outcome(() => on("js", () => f(...inputs))),
    outcome(() => on("js", () => ref(...inputs))),
    tol,
    ctx,
    "einops",
    "explicit ops",
  );
}

/** einsum by brute force over every assignment of the letters (compact torch notation, no "..."). */
function naiveEinsum(pattern: string, ops: Tensor[]): { shape: number[]; data: number[] } {
  const [lhs, rhs] = pattern.split("->") as [string, string];
  const terms = lhs.split(",").map((s) => s.trim());
  const size = new Map<string, number>();
  terms.forEach((t, i) => [...t].forEach((c, d) => size.set(c, ops[i]!.shape[d]!)));
  const out = [...rhs.trim()];
  const letters = [...size.keys()];
  const vals = ops.map((t) => values(t));
  const strides = ops.map((t) => {
    const s: number[] = [];
    let acc = 1;
    for (let d = t.ndim - 1; d >= 0; d--) {
      s[d] = acc;
      acc *= t.shape[d]!;
    }
    return s;
  });
  const shape = out.map((c) => size.get(c)!);
  const res = new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0);
  const assign = new Map<string, number>();
  const rec = (li: number): void => {
    if (li === letters.length) {
      let p = 1;
      terms.forEach((t, i) => {
        let off = 0;
        [...t].forEach((c, d) => {
          off += assign.get(c)! * strides[i]![d]!;
        });
        p *= vals[i]![off]!;
      });
      let o = 0;
      out.forEach((c) => {
        o = o * size.get(c)! + assign.get(c)!;
      });
      res[o]! += p;
      return;
    }
    for (let v = 0; v < size.get(letters[li]!)!; v++) {
      assign.set(letters[li]!, v);
      rec(li + 1);
    }
  };
  rec(0);
  return { shape, data: res };
}

const PATTERNS: { compact: string; spaced: string; dims: (g: () => number) => number[][] }[] = [
  {
    compact: "bij,bjk->bik",
    spaced: "b i j, b j k -> b i k",
    dims: (s) => {
      const [b, i, j, k] = [s(), s(), s(), s()];
      return [
        [b, i, j],
        [b, j, k],
      ];
    },
  },
  {
    compact: "ij,jk->ik",
    spaced: "i j, j k -> i k",
    dims: (s) => {
      const [i, j, k] = [s(), s(), s()];
      return [
        [i, j],
        [j, k],
      ];
    },
  },
  {
    compact: "bhqd,bhkd->bhqk",
    spaced: "batch head q d, batch head k d -> batch head q k",
    dims: (s) => {
      const [b, h, q, k, d] = [s(), s(), s(), s(), s()];
      return [
        [b, h, q, d],
        [b, h, k, d],
      ];
    },
  },
  {
    compact: "bpd,hde->bphe",
    spaced: "batch pos d_model, head d_model d_head -> batch pos head d_head",
    dims: (s) => {
      const [b, p, d, h, e] = [s(), s(), s(), s(), s()];
      return [
        [b, p, d],
        [h, d, e],
      ];
    },
  },
  {
    compact: "ii->i",
    spaced: "i i -> i",
    dims: (s) => {
      const i = s();
      return [[i, i]];
    },
  },
  {
    compact: "ii->",
    spaced: "i i ->",
    dims: (s) => {
      const i = s();
      return [[i, i]];
    },
  },
  { compact: "ij->ji", spaced: "i j -> j i", dims: (s) => [[s(), s()]] },
  { compact: "ijk->", spaced: "i j k ->", dims: (s) => [[s(), s(), s()]] },
  { compact: "i,j->ij", spaced: "i, j -> i j", dims: (s) => [[s()], [s()]] },
  {
    compact: "i,i->",
    spaced: "i, i ->",
    dims: (s) => {
      const i = s();
      return [[i], [i]];
    },
  },
  {
    compact: "ij,ij->i",
    spaced: "i j, i j -> i",
    dims: (s) => {
      const [i, j] = [s(), s()];
      return [
        [i, j],
        [i, j],
      ];
    },
  },
  {
    compact: "bi,bj,bk->bijk",
    spaced: "b i, b j, b k -> b i j k",
    dims: (s) => {
      const b = s();
      return [
        [b, s()],
        [b, s()],
        [b, s()],
      ];
    },
  },
  {
    compact: "ij,jk,kl->il",
    spaced: "i j, j k, k l -> i l",
    dims: (s) => {
      const [i, j, k, l] = [s(), s(), s(), s()];
      return [
        [i, j],
        [j, k],
        [k, l],
      ];
    },
  },
];

describe("einsum: native vs js, and against a naive loop", () => {
  it("every pattern, compact and spaced notation, random sizes (with 0 and 1) and views", () => {
    for (const p of PATTERNS) {
      cases(`einsum ${p.compact}`, 8, (g, i) => {
        // case 0: every axis of size 1; case 1: sizes 1 and 2 only
        const shapes = p.dims(() => (i === 0 ? 1 : i === 1 ? g.int(1, 3) : pick(g, [0, 1, 1, 2, 3, 4, 5, 7])));
        const ops = shapes.map((s) => randTensor(g, s, pick(g, ["float32", "float32", "float64"] as const)));
        const k = Math.max(1, ...shapes.flat());
        const tol: Tol = { rtol: 1e-5 * Math.sqrt(k), atol: 1e-5 * k };
        const got = cmpOp(`einsum("${p.spaced}", ${desc(...ops)})`, ops, (...ts) => einsum(p.spaced, ...ts), tol);
        cmpOp(`einsum("${p.compact}", ${desc(...ops)})`, ops, (...ts) => einsum(p.compact, ...ts), tol);
        if (!got.ok)
          throw new Error(
            `einsum("${p.spaced}", ${desc(...ops)}) threw on both backends: ${got.error.name}: ${got.error.message}`,
          );
        const want = naiveEinsum(p.compact, ops);
        const t = got.value as Tensor;
        if (t.shape.join() !== want.shape.join())
          throw new Error(`einsum ${p.compact}: shape ${t.shape}, expected ${want.shape}`);
        assertValues(values(t), want.data, tol, `einsum("${p.compact}", ${desc(...ops)}) vs naive loop`, want.shape);
      });
    }
  });

  it("ellipsis and implicit output", () => {
    cases("einsum ellipsis", 12, (g) => {
      const lead = [g.int(1, 4), g.int(1, 4)].slice(g.int(0, 3));
      const [i, j] = [g.int(1, 6), g.int(1, 6)];
      const x = randTensor(g, [...lead, i], "float32");
      const w = randTensor(g, [i, j], "float32");
      cmpOp(`einsum("... i, i j -> ... j", ${desc(x, w)})`, [x, w], (a, b) => einsum("... i, i j -> ... j", a, b), {
        rtol: 1e-5,
        atol: 1e-6,
      });
      same(
        `einsum("...i,ij", ${desc(x, w)}) vs matmul`,
        [x, w],
        (a, b) => einsum("...i,ij->...j", a, b),
        (a, b) => a.matmul(b),
        { rtol: 1e-5, atol: 1e-6 },
      );
      const y = randTensor(g, [i, j], "float32");
      same(
        `einsum("ij,kj" implicit, ${desc(y, w)})`,
        [y, w],
        (a, b) => einsum("ij,kj", a, b),
        (a, b) => a.matmul(b.mT),
        { rtol: 1e-5, atol: 1e-6 },
      );
    });
  });
});

describe("rearrange / reduce / repeat: native vs js, and against explicit view ops", () => {
  it("split, merge, permute, unit axes", () => {
    cases("rearrange", 30, (g) => {
      const [b, h, d] = [g.int(1, 5), g.int(1, 5), g.int(1, 6)];
      const x = randTensor(g, [b, h * d], pick(g, ["float32", "int32", "bool"] as const));
      const y = randTensor(g, [b, h, d], "float32");
      const s = desc(x);
      same(
        `rearrange(${s}, "b (h d) -> b h d")`,
        [x],
        (t) => rearrange(t, "b (h d) -> b h d", { h }),
        (t) => t.reshape(b, h, d),
      );
      same(
        `rearrange(${s}, "b (h d) -> (d b) h")`,
        [x],
        (t) => rearrange(t, "b (h d) -> (d b) h", { d }),
        (t) =>
          t
            .reshape(b, h, d)
            .permute(2, 0, 1)
            .reshape(d * b, h),
      );
      same(
        `rearrange(${desc(y)}, "b h d -> d 1 b h")`,
        [y],
        (t) => rearrange(t, "b h d -> d 1 b h"),
        (t) => t.permute(2, 0, 1).unsqueeze(1),
      );
      same(
        `rearrange(${desc(y)}, "b h d -> b (h d)")`,
        [y],
        (t) => rearrange(t, "b h d -> b (h d)"),
        (t) => t.reshape(b, h * d),
      );
      same(
        `rearrange(${desc(y)}, "... d -> d ...")`,
        [y],
        (t) => rearrange(t, "... d -> d ..."),
        (t) => t.movedim(-1, 0),
      );
    });
  });

  it("reduce with sum / mean / max / min / prod, anonymous axes", () => {
    cases("einops reduce", 30, (g) => {
      const [b, p, d] = [g.int(1, 5), g.int(1, 5), g.int(1, 6)];
      const x = randTensor(g, [b, p, d], pick(g, ["float32", "float64"] as const));
      const tol: Tol = { rtol: 1e-5, atol: 1e-6 };
      const s = desc(x);
      for (const op of ["sum", "mean", "max", "min", "prod"] as const) {
        same(
          `reduce(${s}, "b p d -> b d", ${op})`,
          [x],
          (t) => reduce(t, "b p d -> b d", op),
          (t) =>
            op === "max"
              ? t.amax(1)
              : op === "min"
                ? t.amin(1)
                : op === "sum"
                  ? t.sum(1)
                  : op === "mean"
                    ? t.mean(1)
                    : t.prod(1),
          tol,
        );
      }
      const z = randTensor(g, [2 * b, 2 * d], "float32");
      same(
        `reduce(${desc(z)}, "(h 2) (w 2) -> h w", max)`,
        [z],
        (t) => reduce(t, "(h 2) (w 2) -> h w", "max"),
        (t) => t.reshape(b, 2, d, 2).amax([1, 3]),
      );
    });
  });

  it("repeat", () => {
    cases("repeat", 20, (g) => {
      const d = g.int(1, 6);
      const n = g.int(1, 4);
      const x = randTensor(g, [d], pick(g, ["float32", "int32"] as const));
      same(
        `repeat(${desc(x)}, "d -> b d")`,
        [x],
        (t) => repeat(t, "d -> b d", { b: n }),
        (t) => t.unsqueeze(0).expand(n, d).contiguous(),
      );
      same(
        `repeat(${desc(x)}, "d -> (d r)")`,
        [x],
        (t) => repeat(t, "d -> (d r)", { r: n }),
        (t) =>
          t
            .unsqueeze(1)
            .expand(d, n)
            .reshape(d * n),
      );
    });
  });
});
