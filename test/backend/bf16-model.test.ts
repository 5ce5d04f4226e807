// The bf16 matmul precision above the kernels: the tensor option, and the per-call model option (forward,
// runWithCache, runWithHooks, generate, the patching sweeps) on toy-ioi — off by default, within a stated
// tolerance of fp32 when on. Never used by the parity tests.
import { describe, expect, it } from "vitest";
import { backend, HookedTransformer, patching, randn, manualSeed, Tensor } from "../../src/index.js";
import { roundToBf16 } from "../../src/backend/bf16.js";
import { TensorError } from "../../src/errors.js";

const CLEAN = "When Mary and John went to the store, John gave a drink to";
const CORRUPTED = "When Mary and John went to the store, Mary gave a drink to";

const maxAbsDiff = (a: Tensor, b: Tensor): number => a.sub(b).abs().max().item();

describe("matmul precision", () => {
  it("bf16 equals the fp32 product of the rounded operands, on every backend; fp32 is the default", () => {
    manualSeed(7);
    const x = randn([5, 21, 40]);
    const w = randn([40, 33]);
    w.storage.reusable = true; // a weight: cached (and packed) by the backend
    const rounded = (t: Tensor): Tensor =>
      Tensor.fromTypedArray(roundToBf16(Float32Array.from(t.contiguous().dataSync() as Float32Array)), t.shape);
    const exact = rounded(x).to("float64").matmul(rounded(w).to("float64"));
    for (const be of ["js", "native"] as const) {
      backend.withBackend(be, () => {
        const bf = x.matmul(w, { precision: "bf16" });
        expect(bf.shape).toEqual([5, 21, 33]);
        expect(maxAbsDiff(bf.to("float64"), exact), be).toBeLessThan(1e-4);
        expect(maxAbsDiff(x.matmul(w), x.matmul(w, { precision: "fp32" })), be).toBe(0);
        expect(maxAbsDiff(bf, x.matmul(w)), be).toBeGreaterThan(1e-3);
      });
    }
    expect(() => x.matmul(w, { precision: "fp16" as "bf16" })).toThrow(TensorError);
  });

  it("leaves float64 products exact", () => {
    const a = randn([3, 4]).to("float64");
    const b = randn([4, 2]).to("float64");
    expect(maxAbsDiff(a.matmul(b, { precision: "bf16" }), a.matmul(b))).toBe(0);
  });
});

describe("matmulPrecision on a model (toy-ioi)", () => {
  it("is off by default, and bf16 logits stay within 0.2 of fp32 (measured 0.07; |logits| up to 18)", async () => {
    const model = await HookedTransformer.fromPretrained("toy-ioi");
    const tokens = model.toTokens([CLEAN, CORRUPTED]);
    const base = await model.forward(tokens);
    expect(maxAbsDiff(base, await model.forward(tokens, { matmulPrecision: "fp32" }))).toBe(0);
    const bf = await model.forward(tokens, { matmulPrecision: "bf16" });
    const err = maxAbsDiff(bf, base);
    expect(err).toBeGreaterThan(1e-4);
    expect(err).toBeLessThan(0.2);
    // the IOI logit difference survives
    const io = model.toSingleToken(" Mary"),
      s = model.toSingleToken(" John");
    const diff = (l: Tensor): number => l.get(0, -1, io).item() - l.get(0, -1, s).item();
    expect(Math.abs(diff(bf) - diff(base))).toBeLessThan(0.1);
    // a default forward afterwards is fp32 again
    expect(maxAbsDiff(await model.forward(tokens), base)).toBe(0);
  });

  it("reaches runWithCache, runWithHooks and generate", async () => {
    const model = await HookedTransformer.fromPretrained("toy-ioi");
    const tokens = model.toTokens(CLEAN);
    const [, fp32] = await model.runWithCache(tokens);
    const [, bf16] = await model.runWithCache(tokens, { matmulPrecision: "bf16" });
    const pre = "blocks.1.mlp.hook_pre";
    const e = maxAbsDiff(fp32.get(pre), bf16.get(pre));
    expect(e).toBeGreaterThan(1e-5);
    expect(e).toBeLessThan(0.05); // measured 0.011
    let seen: Tensor | null = null;
    await model.runWithHooks(tokens, {
      fwdHooks: [
        [
          pre,
          (x) => {
            seen = x.clone();
          },
        ],
      ],
      matmulPrecision: "bf16",
    });
    expect(maxAbsDiff(seen!, bf16.get(pre))).toBeLessThan(1e-5);
    const steps: Tensor[] = [];
    const grab = (x: Tensor): void => {
      steps.push(x.clone());
    };
    await model.generate(tokens, {
      maxNewTokens: 1,
      doSample: false,
      verbose: false,
      fwdHooks: [[pre, grab]],
      matmulPrecision: "bf16",
    });
    expect(maxAbsDiff(steps[0]!, bf16.get(pre))).toBeLessThan(1e-5);
  });

  it("gives a patching sweep within 0.08 of fp32's (measured 0.03; scores up to 10.5)", async () => {
    const model = await HookedTransformer.fromPretrained("toy-ioi");
    const clean = model.toTokens(CLEAN),
      corrupted = model.toTokens(CORRUPTED);
    const io = model.toSingleToken(" Mary"),
      s = model.toSingleToken(" John");
    const metric = (l: Tensor): number => l.get(0, -1, io).item() - l.get(0, -1, s).item();
    const [, cleanCache] = await model.runWithCache(clean);
    const opts = { metricPositions: "last" as const, progressBar: false };
    const fp32 = await patching.getActPatchResidPre(model, corrupted, cleanCache, metric, opts);
    const bf16 = await patching.getActPatchResidPre(model, corrupted, cleanCache, metric, {
      ...opts,
      matmulPrecision: "bf16",
    });
    const err = maxAbsDiff(fp32, bf16);
    expect(err).toBeGreaterThan(1e-5);
    expect(err).toBeLessThan(0.08);
    // the naive sweep takes the option too
    const naive = await patching.getActPatchResidPre(model, corrupted, cleanCache, metric, {
      ...opts,
      fast: false,
      matmulPrecision: "bf16",
    });
    expect(maxAbsDiff(naive, bf16)).toBeLessThan(1e-4);
  });
});
