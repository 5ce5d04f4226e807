// `npm run bench -- sae [trainingTokens]`: trains a TopK (k 16) SAE, 8× expansion, on stories260K's
// blocks.2.hook_resid_pre (d_model 64) over text the model generates (256 sampled stories of 128 tokens), reports
// variance explained, L0, dead features and CE loss recovered on 32 held-out stories, the training loop's tokens/s,
// and the SAE training step alone (batch 4096) beside the same step in PyTorch (bench/reference/torch_sae.py,
// autograd + torch.optim.Adam) in the same run: the TopK step the loop trains with (k 16, unit-norm decoder rows)
// and the standard SAE's (ReLU + decoder-norm-weighted L1).
import { fileURLToPath } from "node:url";
import { backend, HookedTransformer, Tensor } from "../src/index.js";
import { evaluateSae } from "../src/sae/train/evaluate.js";
import { initSaeParams } from "../src/sae/train/params.js";
import { saeOfParams } from "../src/sae/train/save.js";
import { SaeStep, type Sparsity } from "../src/sae/train/sae-step.js";
import { Adam } from "../src/sae/train/adam.js";
import { applyUpdate, trainSae } from "../src/sae/train/trainer.js";
import { medianMs, torchReference } from "./forward.js";

const MODEL = fileURLToPath(new URL("../../shared/models/stories260K", import.meta.url));
const HOOK = "blocks.2.hook_resid_pre";
const BATCH = 4096;

async function generated(model: HookedTransformer, rows: number, seed: number): Promise<Tensor> {
  const bos = Tensor.fromTypedArray(new Int32Array(rows).fill(1), [rows, 1]);
  return (await model.generate(bos, { maxNewTokens: 127, doSample: true, seed, stopAtEos: false })) as Tensor;
}

/** Median ms of one SAE training step (forward, backward, Adam; TopK with unit-norm decoder rows, L1 with
 *  weighted norms, as trainSae's defaults) on random activations [4096, 64]. */
async function stepMs(reps: number, sparsity: Sparsity): Promise<number> {
  const p = initSaeParams(64, 512, 0);
  const step = new SaeStep(p, BATCH);
  const adam = new Adam([p.W_enc, p.W_dec, p.b_enc, p.b_dec]);
  const x = Float32Array.from({ length: BATCH * 64 }, () => Math.random() * 2 - 1);
  const fired = new Float64Array(512);
  return medianMs(reps, async () => {
    step.run(x, sparsity, fired);
    applyUpdate(p, step.grads, adam, 3e-4, sparsity.kind === "topk" ? "unit" : "weighted");
  });
}

/** tlens's and torch's ms per step of one kind, and tlens's tokens/s over torch's. */
async function stepColumn(
  reps: number,
  sparsity: Sparsity,
): Promise<{ ms: number; torchMs: number | null; ratio: number | null }> {
  const ms = await stepMs(reps, sparsity);
  const torch = torchReference(reps, "torch_sae.py", [
    "64",
    "512",
    String(BATCH),
    sparsity.kind === "topk" ? `topk:${sparsity.k}` : String(sparsity.coefficient),
  ]);
  const torchMs = torch ? Number(torch.step_ms) : null;
  return { ms, torchMs, ratio: torchMs === null ? null : torchMs / ms };
}

export async function main(args: string[]): Promise<void> {
  const trainingTokens = Number(args[0] ?? 1_000_000);
  console.log(`backend: ${backend.getBackend().name}; generating stories with stories260K...`);
  const model = await HookedTransformer.fromPretrained(MODEL);
  const train = await generated(model, 256, 0);
  const heldOut = await generated(model, 32, 1);
  const sae = await trainSae(model, train, {
    hookName: HOOK,
    expansionFactor: 8,
    sparsity: { kind: "topk", k: 16 },
    trainingTokens,
    batchSize: BATCH,
    lr: 3e-3,
    lrWarmUpSteps: 10,
    lrDecaySteps: 20,
    normalizeActivations: "expected_average_only_in",
    logEvery: 50,
    onLog: (e) =>
      console.log(
        `step ${e.step}: mse ${e.mse.toFixed(3)} L0 ${e.l0.toFixed(1)} var.expl. ${e.varianceExplained.toFixed(3)} dead ${(100 * e.deadFraction).toFixed(1)}%`,
      ),
  });
  const ev = await evaluateSae(model, saeOfParams(sae.params, sae.options.sparsity, HOOK), heldOut);
  const dead = sae.featureFrequency.filter((f) => f === 0).length / sae.params.dSae;
  const topk = await stepColumn(10, { kind: "topk", k: 16 });
  const l1 = await stepColumn(10, { kind: "l1", coefficient: 5 });
  const tps = (ms: number | null): string => (ms === null ? "-" : `${((BATCH / ms) * 1000).toFixed(0)}`);
  console.log(
    `held out: variance explained ${ev.varianceExplained.toFixed(3)}, L0 ${ev.l0.toFixed(1)}, dead ${(100 * dead).toFixed(1)}%, CE loss clean ${ev.cleanLoss.toFixed(3)} / SAE ${ev.splicedLoss.toFixed(3)} / zero ${ev.zeroAblatedLoss.toFixed(3)} (recovered ${ev.ceLossRecovered.toFixed(3)})`,
  );
  console.log(`training loop ${sae.tokensPerSecond.toFixed(0)} tokens/s (model runs included)`);
  for (const [name, c] of [
    ["TopK k 16", topk],
    ["L1", l1],
  ] as const) {
    console.log(
      `step alone, ${name}: tlens ${c.ms.toFixed(1)} ms = ${tps(c.ms)} tokens/s; torch ${c.torchMs?.toFixed(1) ?? "-"} ms = ${tps(c.torchMs)} tokens/s; tlens / torch tokens/s ${c.ratio?.toFixed(2) ?? "-"}`,
    );
  }
  // the goal: variance explained ≥ 0.9 at L0 ≤ 20 with < 10% dead features, tlens ≥ 1× torch's tokens/s
  const goal = {
    quality: ev.varianceExplained >= 0.9 && ev.l0 <= 20 && dead < 0.1,
    speed: topk.ratio === null ? null : topk.ratio >= 1,
  };
  console.log(
    `goal: quality ${goal.quality ? "met" : "NOT met"}; speed (TopK step vs torch) ${goal.speed === null ? "not measured" : goal.speed ? "met" : "NOT met"}`,
  );
  console.log(
    "RESULT " +
      JSON.stringify({
        bench: "sae",
        backend: backend.getBackend().name,
        model: "stories260K",
        hook: HOOK,
        d_in: 64,
        d_sae: sae.params.dSae,
        k: 16,
        training_tokens: trainingTokens,
        variance_explained: ev.varianceExplained,
        l0: ev.l0,
        dead_fraction: dead,
        ce_loss_recovered: ev.ceLossRecovered,
        clean_loss: ev.cleanLoss,
        sae_loss: ev.splicedLoss,
        zero_ablated_loss: ev.zeroAblatedLoss,
        train_tokens_per_s: sae.tokensPerSecond,
        topk_step_ms: topk.ms,
        topk_step_tokens_per_s: (BATCH / topk.ms) * 1000,
        torch_topk_step_ms: topk.torchMs,
        topk_ratio_vs_torch: topk.ratio,
        l1_step_ms: l1.ms,
        l1_step_tokens_per_s: (BATCH / l1.ms) * 1000,
        torch_l1_step_ms: l1.torchMs,
        l1_ratio_vs_torch: l1.ratio,
        quality_goal_met: goal.quality,
        speed_goal_met: goal.speed,
      }),
  );
}
