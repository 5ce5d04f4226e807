// Trains the SAE shipped in models/toy-ioi-sae/ (the `tlens sae` default on toy-ioi): TopK (k 8), 4× expansion
// (d_sae 512) on toy-ioi's blocks.2.hook_resid_pre over 2000 IOI prompts (seed 0), with TopK's auxiliary loss on
// dead features (trainSae's default), saved in SAELens format.
// Run: node --import tsx scripts/train-toy-ioi-sae.ts [out-dir]
import { HookedTransformer } from "../src/index.js";
import { IOIDataset } from "../src/datasets/ioi.js";
import { evaluateSae, saeOfParams, saveTrainedSae, trainSae } from "../src/sae/index.js";

const out = process.argv[2] ?? "models/toy-ioi-sae";
const hookName = "blocks.2.hook_resid_pre";
const model = await HookedTransformer.fromPretrained("toy-ioi");
const train = new IOIDataset({ promptType: "mixed", N: 2000, seed: 0, prependBos: true }).toks;
const held = new IOIDataset({ promptType: "mixed", N: 100, seed: 1, prependBos: true }).toks;
const trained = await trainSae(model, train, {
  hookName,
  expansionFactor: 4,
  sparsity: { kind: "topk", k: 8 },
  trainingTokens: 400_000,
  batchSize: 2048,
  lr: 3e-3,
  lrWarmUpSteps: 10,
  lrDecaySteps: 40,
  logEvery: 50,
  seed: 0,
  onLog: (e) => console.log(JSON.stringify(e)),
});
const sae = saeOfParams(trained.params, trained.options.sparsity, hookName, {
  modelName: "toy-ioi",
  contextSize: train.shape[1],
});
console.log(await evaluateSae(model, sae, held));
console.log(
  `dead in the last window of training: ${((100 * trained.featureFrequency.filter((f) => f === 0).length) / trained.params.dSae).toFixed(1)}%`,
);
await saveTrainedSae(trained, out, {
  modelName: "toy-ioi",
  contextSize: train.shape[1],
  datasetPath: "IOIDataset mixed N=2000 seed=0",
});
console.log(`saved ${out}`);
