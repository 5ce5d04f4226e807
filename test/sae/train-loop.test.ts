// The activation store, trainSae, evaluateSae and the SAELens save on stories260K (d_model 64), small runs.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, Tensor } from "../../src/index.js";
import { readSafetensorsFile } from "../../src/loading/safetensors-file.js";
import { ActivationStore, hookLayer } from "../../src/sae/train/activation-store.js";
import { learningRate, resolveTrainOptions, sparsityAt } from "../../src/sae/train/config.js";
import { evaluateSae } from "../../src/sae/train/evaluate.js";
import { saeOfParams, saveTrainedSae } from "../../src/sae/train/save.js";
import { loadSaeFromDisk } from "../../src/sae/formats/saelens.js";
import { trainSae } from "../../src/sae/train/trainer.js";

const MODEL = fileURLToPath(new URL("../../../shared/models/stories260K", import.meta.url));
const HOOK = "blocks.1.hook_resid_pre";
let model: HookedTransformer;
let tokens: Tensor;

beforeAll(async () => {
  model = await HookedTransformer.fromPretrained(MODEL);
  const bos = Tensor.fromTypedArray(new Int32Array(8).fill(1), [8, 1]);
  tokens = (await model.generate(bos, { maxNewTokens: 31, seed: 0, stopAtEos: false })) as Tensor; // [8, 32]
}, 60_000);

describe("ActivationStore", () => {
  it("gives the hook's activations (BOS position left out) and draws shuffled batches from them", async () => {
    const store = new ActivationStore(model, { hookName: HOOK, tokens, rowsPerRun: 4, bufferSize: 64 });
    const acts = await store.nextActivations();
    const [, cache] = await model.runWithCache(tokens.narrow(0, 0, 4), { namesFilter: [HOOK] });
    const ref = cache.get(HOOK).narrow(1, 1, 31).contiguous().dataSync() as Float32Array;
    expect(acts.length).toBe(4 * 31 * 64);
    expect(Math.max(...acts.map((v, i) => Math.abs(v - ref[i]!)))).toBeLessThan(1e-5);
    // a batch holds rows of the activations the model gives, in a shuffled order
    const batch = await store.nextBatch(16);
    const all = new Set<number>();
    for (const start of [0, 4]) {
      const [, c] = await model.runWithCache(tokens.narrow(0, start, 4), { namesFilter: [HOOK] });
      const d = c.get(HOOK).narrow(1, 1, 31).contiguous().dataSync() as Float32Array;
      for (let r = 0; r < d.length / 64; r++) all.add(d[r * 64]!);
    }
    for (let r = 0; r < 16; r++) expect(all.has(batch[r * 64]!)).toBe(true);
    expect(store.rowsRun).toBeGreaterThanOrEqual(8);
    await expect(store.nextBatch(40)).rejects.toThrow(/needs a buffer of at least 80 activations/);
  });

  it("rejects unknown hooks and bad token shapes", () => {
    expect(() => new ActivationStore(model, { hookName: "blocks.1.hook_nope", tokens })).toThrow(
      /no hook point "blocks.1.hook_nope"/,
    );
    expect(() => new ActivationStore(model, { hookName: HOOK, tokens: tokens.reshape(-1) })).toThrow(
      /tokens must be \[rows, ctx\]/,
    );
    expect(hookLayer("hook_embed", 5)).toBe(-1);
    expect(hookLayer("blocks.3.mlp.hook_post", 5)).toBe(3);
    expect(() => hookLayer("blocks.7.hook_resid_pre", 5)).toThrow(/names block 7, but the model has 5 blocks/);
    expect(() => hookLayer("ln_final.hook_scale", 5)).toThrow(/not a hook point inside a block/);
  });
});

describe("trainSae", () => {
  it("trains a TopK SAE that reconstructs the residual stream, evaluates and saves it in SAELens format", async () => {
    const logs: number[] = [];
    const sae = await trainSae(model, tokens, {
      hookName: HOOK,
      expansionFactor: 4,
      sparsity: { kind: "topk", k: 8 },
      trainingTokens: 120 * 256,
      batchSize: 256,
      lr: 3e-3,
      lrWarmUpSteps: 5,
      lrDecaySteps: 10,
      normalizeActivations: "expected_average_only_in",
      logEvery: 20,
      resampleEvery: 50,
      onLog: (e) => logs.push(e.varianceExplained),
      progressBar: false,
    });
    expect(sae.params.dSae).toBe(256);
    expect(sae.log.length).toBe(6);
    expect(logs[logs.length - 1]).toBeGreaterThan(logs[0]!);
    expect(sae.final.l0).toBeLessThanOrEqual(8);
    const ev = await evaluateSae(model, saeOfParams(sae.params, sae.options.sparsity, HOOK), tokens);
    // scale folded into the weights: the SAE works on raw activations
    expect(ev.varianceExplained).toBeGreaterThan(0.7);
    expect(ev.l0).toBeLessThanOrEqual(8);
    expect(ev.splicedLoss).toBeGreaterThanOrEqual(ev.cleanLoss - 0.05);
    expect(ev.ceLossRecovered).toBeGreaterThan(0.5);
    expect(ev.ceLossRecovered).toBeLessThan(1.05);
    const dir = mkdtempSync(join(tmpdir(), "tlens-sae-"));
    await saveTrainedSae(sae, dir, { modelName: "stories260K", contextSize: 32 });
    const cfg = JSON.parse(readFileSync(join(dir, "cfg.json"), "utf8")) as Record<string, unknown>;
    expect(cfg).toMatchObject({
      architecture: "topk",
      d_in: 64,
      d_sae: 256,
      k: 8,
      normalize_activations: "none",
      apply_b_dec_to_input: true,
      metadata: { hook_name: HOOK, model_name: "stories260K", context_size: 32 },
    });
    // loads back through the SAE class and reconstructs as the trained weights do
    const loaded = await loadSaeFromDisk(dir);
    expect(loaded.sae.cfg.k).toBe(8);
    const weights = (await readSafetensorsFile(join(dir, "sae_weights.safetensors"))).tensors;
    expect(weights.get("W_enc")!.shape).toEqual([64, 256]);
    expect(weights.get("W_dec")!.shape).toEqual([256, 64]);
    expect(weights.get("b_dec")!.dataSync()).toEqual(sae.params.b_dec);
    const sparsity = (await readSafetensorsFile(join(dir, "sparsity.safetensors"))).tensors.get("sparsity")!;
    expect(Math.max(...(sparsity.dataSync() as Float32Array))).toBeLessThanOrEqual(0);
  }, 60_000);

  it("trains a standard (L1) SAE whose L1 penalty lowers L0 as the coefficient warms up", async () => {
    const sae = await trainSae(model, tokens, {
      hookName: HOOK,
      expansionFactor: 2,
      sparsity: { kind: "l1", coefficient: 2 },
      trainingTokens: 60 * 256,
      batchSize: 256,
      lr: 3e-3,
      logEvery: 20,
      l1WarmUpSteps: 20,
    });
    expect(sae.log[2]!.l0).toBeLessThan(sae.log[0]!.l0);
    expect(sae.log[0]!.l1Coefficient).toBe(2);
    expect(sae.options.decoderNorm).toBe("weighted");
  }, 60_000);
});

describe("training options", () => {
  it("fills defaults, schedules the learning rate and L1, and rejects bad values", () => {
    const o = resolveTrainOptions({
      hookName: HOOK,
      trainingTokens: 1000,
      batchSize: 10,
      lrWarmUpSteps: 10,
      lrDecaySteps: 20,
      lr: 1,
    });
    expect(o.steps).toBe(100);
    expect(o.l1WarmUpSteps).toBe(5);
    expect([0, 4, 9, 50, 90, 99].map((s) => learningRate(o, s))).toEqual([0.1, 0.5, 1, 1, 0.5, 0.05]);
    expect(sparsityAt(o, 0)).toEqual({ kind: "l1", coefficient: 1 });
    expect(sparsityAt(o, 50)).toEqual({ kind: "l1", coefficient: 5 });
    expect(() => resolveTrainOptions({ hookName: HOOK, trainingTokens: 5, batchSize: 10 })).toThrow(
      /less than one batch/,
    );
    expect(() => resolveTrainOptions({ hookName: HOOK, lr: -1 })).toThrow(/lr must be a positive number/);
    expect(() => resolveTrainOptions({ hookName: HOOK, sparsity: { kind: "topk", k: 0 } })).toThrow(
      /k must be a positive integer/,
    );
    expect(() => resolveTrainOptions({ hookName: HOOK, sparsity: { kind: "l1", coefficient: -1 } })).toThrow(
      /must be ≥ 0/,
    );
  });
});
