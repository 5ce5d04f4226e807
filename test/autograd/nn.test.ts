// The transformer's fused ops (float32 kernels, so no float64 finite differences): each op's gradient against
// the float64 gradient of the same function written with plain tensor ops (themselves finite-difference
// checked in the other files of this folder).
import { describe, expect, it } from "vitest";
import { cat, Generator, randn, tensor, where, type Tensor } from "../../src/index.js";
import { layerNorm, maskAttentionScores, rotary, rotarySinCos, softmaxOrZero } from "../../src/tensor/nn-ops.js";

const gen = new Generator(11);
const rnd = (shape: number[]): Tensor => randn(shape, { generator: gen });

/** d Σ f(x)·r / d x for a float32 leaf copy of x and for a float64 one through `reference`. */
async function bothGrads(
  x: Tensor,
  fused: (t: Tensor) => Tensor,
  reference: (t: Tensor) => Tensor,
): Promise<[Float32Array, Float64Array]> {
  const a = x.to("float32").detach().requiresGrad_();
  const out = fused(a);
  const r = rnd(out.shape);
  await out.backward(r);
  const b = x.to("float64").detach().requiresGrad_();
  await reference(b).backward(r.to("float64"));
  return [a.grad!.dataSync() as Float32Array, b.grad!.dataSync() as Float64Array];
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, rtol = 1e-4): void {
  expect(got.length).toBe(want.length);
  const scale = Math.max(1e-12, ...Array.from(want, Math.abs));
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(rtol * scale);
}

describe("autograd: fused nn ops", () => {
  it("layerNorm: x, w and b, through both outputs (normalized and scale)", async () => {
    const x = rnd([2, 3, 8]).mul(3).add(1);
    const w = rnd([8]);
    const b = rnd([8]);
    const rn = rnd([2, 3, 8]);
    const rs = rnd([2, 3, 1]);
    const fused = async (): Promise<Float32Array[]> => {
      const [xs, ws, bs] = [x, w, b].map((t) => t.detach().requiresGrad_());
      const { normalized, scale } = layerNorm(xs!, ws!, bs!, 1e-5);
      await normalized.mul(rn).sum().add(scale.mul(rs).sum()).backward();
      return [xs, ws, bs].map((t) => t!.grad!.dataSync() as Float32Array);
    };
    const reference = async (): Promise<Float64Array[]> => {
      const [xs, ws, bs] = [x, w, b].map((t) => t.to("float64").detach().requiresGrad_());
      const c = xs!.sub(xs!.mean(-1, true));
      const scale = c.square().mean(-1, true).add(1e-5).sqrt();
      const normalized = c.div(scale).mul(ws!).add(bs!);
      await normalized.mul(rn.double()).sum().add(scale.mul(rs.double()).sum()).backward();
      return [xs, ws, bs].map((t) => t!.grad!.dataSync() as Float64Array);
    };
    const [got, want] = [await fused(), await reference()];
    got.forEach((g, i) => close(g, want[i]!));
  });

  it("layerNorm without weight and bias (LNPre)", async () => {
    const [got, want] = await bothGrads(
      rnd([4, 16]),
      (t) => layerNorm(t, null, null, 1e-5).normalized,
      (t) => {
        const c = t.sub(t.mean(-1, true));
        return c.div(c.square().mean(-1, true).add(1e-5).sqrt());
      },
    );
    close(got, want);
  });

  it("maskAttentionScores: zero gradient on masked entries (causal and padding), g elsewhere", async () => {
    const scores = rnd([2, 2, 3, 4]).detach().requiresGrad_(); // a KV cache of 1: query i sees keys ≤ i + 1
    const keyMask = tensor(
      [
        [1, 1, 1, 1],
        [0, 1, 1, 1],
      ],
      undefined,
      "int32",
    );
    const out = maskAttentionScores(scores, true, keyMask);
    const r = rnd(out.shape);
    await out.backward(r);
    expect(Array.from(scores.grad!.dataSync())).toEqual(Array.from(where(out.isinf(), 0, r).dataSync()));
    // causal: 2 + 1 + 0 keys per [batch, head]; padding: key 0 of batch 1 for its 2 heads × 3 queries
    expect(out.isinf().sum().item()).toBe(2 * 2 * 3 + 2 * 3);
  });

  it("softmaxOrZero: fully masked rows give zeros and a zero gradient", async () => {
    const mask = tensor([
      [false, true, true],
      [true, true, true],
      [false, false, true],
    ]);
    const [got, want] = await bothGrads(
      rnd([2, 3, 3]),
      (t) => softmaxOrZero(t.maskedFill(mask, -Infinity)),
      (t) => {
        const p = t.maskedFill(mask, -Infinity).softmax(-1);
        return where(p.isnan(), 0, p);
      },
    );
    close(got, want);
    expect(Array.from(got.slice(3, 6))).toEqual([0, 0, 0]);
  });

  for (const adjacentPairs of [false, true]) {
    for (const dim of [8, 4]) {
      it(`rotary (${adjacentPairs ? "adjacent pairs" : "rotate-half"}, rotary_dim ${dim} of 8)`, async () => {
        const o = { dim, base: 10000, adjacentPairs, nCtx: 16 };
        const positions = tensor(
          [
            [0, 3, 5],
            [7, 1, 2],
          ],
          undefined,
          "int32",
        );
        const { sin, cos } = rotarySinCos(o);
        const table = (t: Float32Array): Tensor => tensor(t, [16, dim]).double().get(positions).unsqueeze(2); // [b, p, 1, dim]
        const reference = (x: Tensor): Tensor => {
          const r = x.narrow(-1, 0, dim);
          const turned = adjacentPairs
            ? cat([r.get("...", "1::2").neg().unsqueeze(-1), r.get("...", "::2").unsqueeze(-1)], -1).reshape(r.shape)
            : cat([r.narrow(-1, dim / 2, dim / 2).neg(), r.narrow(-1, 0, dim / 2)], -1);
          const rotated = r.mul(table(cos)).add(turned.mul(table(sin)));
          return dim === 8 ? rotated : cat([rotated, x.narrow(-1, dim, 8 - dim)], -1);
        };
        const [got, want] = await bothGrads(rnd([2, 3, 2, 8]), (t) => rotary(t, positions, o), reference);
        close(got, want);
      });
    }
  }
});
