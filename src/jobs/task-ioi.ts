// The "ioi" task: IOI prompts (the Python generator, src/datasets) against their ABC-flipped versions (all three
// names replaced), scored by the mean logit difference logit[IO] − logit[S] at each prompt's `end` position.
import { IOIDataset } from "../datasets/index.js";
import { arange, Tensor } from "../tensor/index.js";
import type { HookedTransformer } from "../model/hooked-transformer.js";
import { SpecError } from "./errors.js";
import type { JsonValue } from "./spec.js";
import { knownOptions, option } from "./task-options.js";
import type { PairBlock, SweepTask } from "./tasks.js";

const ABC_FLIP = "ABB->XYZ, BAB->XYZ";

function int32(values: readonly number[]): Tensor {
  return Tensor.fromTypedArray(Int32Array.from(values), [values.length]);
}

function promptType(v: JsonValue, where: string): string {
  if (typeof v !== "string" || !v)
    throw new SpecError(`${where}: expected a prompt type such as "mixed", "ABBA" or "BABA"`);
  return v;
}

function bool(v: JsonValue, where: string): boolean {
  if (typeof v !== "boolean") throw new SpecError(`${where}: expected true or false`);
  return v;
}

export const ioiTask: SweepTask = {
  name: "ioi",
  build(model: HookedTransformer, N, options, seed) {
    knownOptions(options, "ioi", ["promptType", "prependBos"]);
    const type = option(options, "promptType", "mixed", promptType);
    const prependBos = option(options, "prependBos", false, bool);
    if (model.cfg.dVocab < 50257)
      throw new SpecError(`task "ioi" needs a model with the GPT-2 vocabulary (d_vocab ${model.cfg.dVocab} < 50257)`);
    const dataset = new IOIDataset({ promptType: type, N, seed, prependBos });
    const flipped = dataset.genFlippedPrompts(ABC_FLIP);
    const width = dataset.toks.shape[1]!;
    if (flipped.toks.shape[1] !== width)
      throw new SpecError(
        `task "ioi": the flipped prompts tokenize to ${flipped.toks.shape[1]} positions, the clean ones to ${width}`,
      );
    if (model.cfg.nCtx < width)
      throw new SpecError(`task "ioi": the prompts have ${width} tokens but the model's context is ${model.cfg.nCtx}`);
    return {
      nPairs: N,
      block(start, end): PairBlock {
        const ends = dataset.wordIdx.end!.slice(start, end);
        const positions = [...new Set(ends)].sort((a, b) => a - b);
        const rows = arange(0, end - start, 1, "int32");
        const io = int32(dataset.ioTokenIDs.slice(start, end));
        const s = int32(dataset.sTokenIDs.slice(start, end));
        const slots = int32(ends.map((p) => positions.indexOf(p)));
        return {
          clean: dataset.toks.narrow(0, start, end - start).contiguous(),
          corrupted: flipped.toks.narrow(0, start, end - start).contiguous(),
          metricPositions: positions,
          // logits [n, positions, d_vocab] → mean over rows of logit[IO] − logit[S] at the row's end (float64)
          metric: (logits) =>
            logits
              .get(rows, slots, io)
              .sub(logits.get(rows, slots, s))
              .to("float64")
              .mean()
              .item(),
        };
      },
    };
  },
};
