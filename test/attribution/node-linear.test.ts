// On models made linear in the patched activation (one layer, no LayerNorm: the logits are affine in attn_out,
// hook_z, hook_v and the pattern of an attention-only model, and in mlp_out and the MLP neurons of a model with an
// MLP), attribution equals activation patching exactly, in both conventions; with the query/key fix it is exact for
// queries and keys too (the metric is linear in the pattern). Also GradDrop, progress, cancel and bad input.
import { describe, expect, it } from "vitest";
import { attribution, HookedTransformer, patching, Tensor, TlensError, type ActivationCache } from "../../src/index.js";

// initializerRange 0.3 (not 0.8 / √d_model): sharper attention, so pattern patches matter
const BASE = {
  dModel: 32,
  dHead: 8,
  nHeads: 4,
  nCtx: 16,
  dVocab: 50,
  normalizationType: null,
  actFn: "gelu_new" as const,
  initializerRange: 0.3,
};
const ATTN_ONLY = { ...BASE, nLayers: 1, attnOnly: true, seed: 11 };
const WITH_MLP = { ...BASE, nLayers: 1, dMlp: 64, seed: 12 };

const ids = (rows: number[][]): Tensor =>
  Tensor.fromTypedArray(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
const clean = ids([
  [3, 17, 5, 9, 3, 17, 5, 9],
  [1, 2, 4, 6, 8, 10, 12, 14],
]);
const corrupted = ids([
  [3, 17, 22, 9, 3, 40, 5, 9],
  [1, 2, 4, 31, 8, 10, 12, 14],
]);
// a logit difference summed over batch and positions (the last tokens agree, so the last position alone would not
// see query patches in one layer)
const metric = (logits: Tensor): Tensor =>
  logits
    .get(":", ":", 7)
    .sub(logits.get(":", ":", 13))
    .sum();

type PatchFn = (m: HookedTransformer, t: Tensor, c: ActivationCache, f: (l: Tensor) => Tensor) => Promise<Tensor>;
type AttrFn = typeof attribution.attrPatchAttnOut;

/** Activation patching minus the base run's metric, in the convention's direction. */
async function truth(model: HookedTransformer, fn: PatchFn, convention: "denoise" | "noise"): Promise<Tensor> {
  const [base, other] = convention === "denoise" ? [corrupted, clean] : [clean, corrupted];
  const [, otherCache] = await model.runWithCache(other);
  const baseMetric = metric(await model.forward(base)).item();
  return (await fn(model, base, otherCache, metric)).sub(baseMetric);
}

async function expectExact(
  model: HookedTransformer,
  attr: AttrFn,
  patch: PatchFn,
  extra: { qkFix?: boolean } = {},
): Promise<void> {
  for (const convention of ["denoise", "noise"] as const) {
    const want = await truth(model, patch, convention);
    const got = await attr(model, { clean, corrupted, metric, convention, ...extra });
    expect(got.shape).toEqual(want.shape);
    expect(want.abs().max().item(), "the patches change the metric").toBeGreaterThan(1e-3);
    expect(got.sub(want).abs().max().item(), convention).toBeLessThanOrEqual(1e-5);
  }
}

describe("attribution = activation patching where the metric is linear in the activation", () => {
  const attnOnly = HookedTransformer.fromConfig(ATTN_ONLY);
  const withMlp = HookedTransformer.fromConfig(WITH_MLP);
  const a = attribution;
  const p = patching;
  it("attn_out, head outputs by position and over all positions (attention-only, no LayerNorm)", async () => {
    await expectExact(attnOnly, a.attrPatchAttnOut, p.getActPatchAttnOut);
    await expectExact(attnOnly, a.attrPatchAttnHeadOutByPos, p.getActPatchAttnHeadOutByPos);
    await expectExact(attnOnly, a.attrPatchAttnHeadOutAllPos, p.getActPatchAttnHeadOutAllPos);
  });
  it("values and the pattern", async () => {
    await expectExact(attnOnly, a.attrPatchAttnHeadVByPos, p.getActPatchAttnHeadVByPos);
    await expectExact(attnOnly, a.attrPatchAttnHeadVAllPos, p.getActPatchAttnHeadVAllPos);
    await expectExact(attnOnly, a.attrPatchAttnHeadPatternAllPos, p.getActPatchAttnHeadPatternAllPos);
    await expectExact(attnOnly, a.attrPatchAttnHeadPatternByPos, p.getActPatchAttnHeadPatternByPos);
    await expectExact(attnOnly, a.attrPatchAttnHeadPatternDestSrcPos, p.getActPatchAttnHeadPatternDestSrcPos);
  });
  it("queries and keys with AtP*'s query/key fix; the plain linear estimate is not exact there", async () => {
    await expectExact(attnOnly, a.attrPatchAttnHeadQByPos, p.getActPatchAttnHeadQByPos, { qkFix: true });
    await expectExact(attnOnly, a.attrPatchAttnHeadKByPos, p.getActPatchAttnHeadKByPos, { qkFix: true });
    await expectExact(attnOnly, a.attrPatchAttnHeadQAllPos, p.getActPatchAttnHeadQAllPos, { qkFix: true });
    await expectExact(attnOnly, a.attrPatchAttnHeadKAllPos, p.getActPatchAttnHeadKAllPos, { qkFix: true });
    const want = await truth(attnOnly, p.getActPatchAttnHeadKByPos, "denoise");
    const linear = await a.attrPatchAttnHeadKByPos(attnOnly, { clean, corrupted, metric });
    expect(linear.sub(want).abs().max().item()).toBeGreaterThan(1e-4);
  });
  it("mlp_out and the MLP neurons (one layer with an MLP, no LayerNorm)", async () => {
    await expectExact(withMlp, a.attrPatchMlpOut, p.getActPatchMlpOut);
    const neurons = await a.attrPatchMlpNeuronsByPos(withMlp, { clean, corrupted, metric });
    expect(neurons.shape).toEqual([1, 8, 64]);
    // the neurons' contributions add up to the whole MLP output's (mlp_out is linear in hook_post)
    const whole = await a.attrPatchMlpOut(withMlp, { clean, corrupted, metric });
    expect(neurons.sum(-1).sub(whole).abs().max().item()).toBeLessThanOrEqual(1e-5);
    const allPos = await a.attrPatchMlpNeuronsAllPos(withMlp, { clean, corrupted, metric });
    expect(allPos.sub(neurons.sum(1)).abs().max().item()).toBeLessThanOrEqual(1e-5);
  });
});

describe("GradDrop, progress, cancel, errors", () => {
  const twoLayer = HookedTransformer.fromConfig({ ...ATTN_ONLY, nLayers: 2, seed: 13 });
  it("GradDrop on two attention-only layers: layer 1 keeps |estimate|, layer 0 only its direct path to the logits", async () => {
    const gd = await attribution.attrPatchAttnOut(twoLayer, { clean, corrupted, metric, gradDrop: true });
    const plain = await attribution.attrPatchAttnOut(twoLayer, { clean, corrupted, metric });
    expect(gd.get(1).sub(plain.get(1).abs()).abs().max().item()).toBeLessThanOrEqual(1e-6);
    // dropping layer 1's gradient leaves layer 0's direct path: the gradient at the final residual (= attn_out 1's)
    const run = await attribution.gradRun(twoLayer, corrupted, metric, [
      "blocks.0.hook_attn_out",
      "blocks.1.hook_attn_out",
    ]);
    const [, cleanCache] = await twoLayer.runWithCache(clean);
    const direct = cleanCache
      .get("blocks.0.hook_attn_out")
      .sub(run.acts.get("blocks.0.hook_attn_out")!)
      .mul(run.grads.get("blocks.1.hook_attn_out")!)
      .sum([0, 2])
      .abs();
    expect(gd.get(0).sub(direct).abs().max().item()).toBeLessThanOrEqual(1e-5);
  });
  it("reports progress and honours an aborted signal", async () => {
    const seen: number[][] = [];
    await attribution.attrPatchResidPre(twoLayer, {
      clean,
      corrupted,
      metric,
      onProgress: (d, t) => seen.push([d, t]),
      progressBar: false,
    });
    expect(seen).toEqual([
      [1, 2],
      [2, 2],
    ]);
    const ctl = new AbortController();
    ctl.abort(new TlensError("stop"));
    await expect(
      attribution.attrPatchResidPre(twoLayer, { clean, corrupted, metric, signal: ctl.signal }),
    ).rejects.toThrow("stop");
  });
  it("bad input: a typed error naming the problem", async () => {
    const short = ids([[1, 2, 3]]);
    await expect(attribution.attrPatchResidPre(twoLayer, { clean, corrupted: short, metric })).rejects.toThrow(
      attribution.AttributionError,
    );
    await expect(
      attribution.attrPatchResidPre(twoLayer, { clean, corrupted, metric: (l) => l.sum(-1) }),
    ).rejects.toThrow(/scalar/);
    const rotary = HookedTransformer.fromConfig({ ...ATTN_ONLY, positionalEmbeddingType: "rotary", rotaryDim: 8 });
    await expect(
      attribution.attrPatchAttnHeadQByPos(rotary, { clean, corrupted, metric, qkFix: true }),
    ).rejects.toThrow(/rotary/);
    await expect(
      attribution.attrPatchResidPre(twoLayer, { clean, corrupted, metric, convention: "both" as "noise" }),
    ).rejects.toThrow(/convention/);
  });
});
