// The "induction" task: a random token sequence repeated once (clean) against the same first half followed by
// fresh random tokens (corrupted), scored by the mean logit of the clean next token over the second half.
import { cat, Generator, randint, Tensor } from "../tensor/index.js";
import type { HookedTransformer } from "../model/hooked-transformer.js";
import { SpecError } from "./errors.js";
import { intField } from "./spec.js";
import { knownOptions, option } from "./task-options.js";
import type { PairBlock, SweepTask } from "./tasks.js";

export const inductionTask: SweepTask = {
  name: "induction",
  build(model: HookedTransformer, N, options, seed) {
    knownOptions(options, "induction", ["seqLen"]);
    const L = option(options, "seqLen", 10, (v, w) => intField(v, w, 2, 100_000));
    if (model.cfg.nCtx < 2 * L)
      throw new SpecError(
        `task "induction": 2 × seqLen = ${2 * L} tokens exceed the model's context ${model.cfg.nCtx}`,
      );
    const g = new Generator(seed);
    const vocab = model.cfg.dVocab;
    const first = randint(0, vocab, [N, L], { generator: g });
    const clean = cat([first, first], 1); // [N, 2L]
    const corrupted = cat([first, randint(0, vocab, [N, L], { generator: g })], 1);
    // positions L-1 .. 2L-2 predict the repeated tokens L .. 2L-1
    const positions = Array.from({ length: L }, (_, i) => L - 1 + i);
    return {
      nPairs: N,
      block(start, end): PairBlock {
        const n = end - start;
        const cleanRows = clean.narrow(0, start, n).contiguous();
        const rows = Tensor.fromTypedArray(
          Int32Array.from({ length: n * L }, (_, i) => Math.floor(i / L)),
          [n * L],
        );
        const slots = Tensor.fromTypedArray(
          Int32Array.from({ length: n * L }, (_, i) => i % L),
          [n * L],
        );
        const next = cleanRows
          .narrow(1, L, L)
          .contiguous()
          .reshape([n * L]);
        return {
          clean: cleanRows,
          corrupted: corrupted.narrow(0, start, n).contiguous(),
          metricPositions: positions,
          metric: (logits) => logits.get(rows, slots, next).to("float64").mean().item(),
        };
      },
    };
  },
};
