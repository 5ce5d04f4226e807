// Seed 003 ("Patching positions"): does a copy-suppression head find IO by its position as well as by its token?
// The head's query input at layer L is patched with the residual stream of the ABB→BAB flipped prompts (IO and S1
// swap places) with ln1's scale frozen, and separately the query at `end` is projected onto span(W_U[IO], W_U[S1]).
// Each run prints the mean attention-score difference score(end→IO) − score(end→S1) of the head, as the notebook's
// table. The notebook's dataset: generate_data_and_caches(N=150, seed=42, prepend_bos=True, symmetric=True).
//
//   npx tsx examples/position-flip.ts                              # toy-ioi, heads 2.0, 2.2, 3.0
//   npx tsx examples/position-flip.ts --model gpt2-small           # head 10.7, as the notebook
//   npx tsx examples/position-flip.ts --heads 2.2 --n 40 --seed 1
import { IOIDataset, copySuppression, type HookedTransformer } from "../src/index.js";
import { intArg, isGpt2Small, isMain, loadModel, parseArgs, parseHead, table } from "./common.js";

export interface PositionFlipRun {
  head: [number, number];
  result: copySuppression.PositionFlipResult;
}

export async function runPositionFlip(
  model: HookedTransformer,
  opts: { N?: number; seed?: number; heads?: [number, number][] } = {},
): Promise<{ dataset: IOIDataset; runs: PositionFlipRun[] }> {
  const dataset = new IOIDataset({
    promptType: "mixed",
    N: opts.N ?? 150,
    seed: opts.seed ?? 42,
    prependBos: true,
    symmetric: true,
  });
  const heads =
    opts.heads ??
    (isGpt2Small(model)
      ? [[10, 7]]
      : [
          [2, 0],
          [2, 2],
          [3, 0],
        ]);
  const runs: PositionFlipRun[] = [];
  for (const head of heads)
    runs.push({ head, result: await copySuppression.positionFlipPatching(model, dataset, { head }) });
  return { dataset, runs };
}

async function main(): Promise<void> {
  const args = parseArgs();
  const model = await loadModel(args);
  const heads = args.get("heads")?.split(",").map(parseHead);
  const t0 = performance.now();
  const { dataset, runs } = await runPositionFlip(model, {
    N: intArg(args, "n", 150),
    seed: intArg(args, "seed", 42),
    heads,
  });
  console.log(`model: ${model.cfg.modelName}, IOI dataset: mixed, N = ${dataset.N}, seed = ${dataset.seed}, symmetric`);
  console.log("First 3 sentences of IOI dataset:");
  for (let i = 0; i < 3; i++) console.log(dataset.sentences[i]);
  console.log("\nFirst 3 sentences of IOI-flipped dataset:");
  for (let i = 0; i < 3; i++) console.log(runs[0]!.result.flippedDataset.sentences[i]);
  for (const {
    head: [l, h],
    result,
  } of runs) {
    console.log("");
    console.log(
      table(
        ["Intervention", "Attention Score Diff (IO - S1)"],
        [
          ["Clean", result.clean],
          ["Flipped positional information (patched)", result.patched],
          ["Project queries onto W_U[IO, S1]", result.projected],
        ],
        `IOI patching, effect on ${l}.${h} attn score diff`,
      ),
    );
  }
  console.error(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

if (isMain(import.meta.url)) await main();
