// `npm run bench -- families [reps]`: forward speed of family-shaped models beside GPT-2 of the same size, same run.
// Each model has GPT-2-small's sizes (12 layers, d_model 768, 12 heads of 64, d_mlp 3072, vocab 50257) and seeded
// random weights, in the form fromPretrained leaves it (LNPre / RMSPre); only the family's architecture differs:
// Pythia (parallel attn + MLP, partial NeoX rotary 16 of 64), Llama (RMS, rotary, SwiGLU), Qwen2 (as Llama, GQA 12/2
// heads), Gemma-2 (GQA 12/4, (pre+post) norms, GeGLU, soft caps, local/global layers, embedding scale). Prints
// each family's median ms and its ratio to GPT-2's on 4×64 tokens (full logits), then a RESULT line.
import { backend, randint } from "../src/index.js";
import type { HookedTransformerConfig } from "../src/loading/config.js";
import { medianMs } from "./forward.js";
import { GPT2_SMALL_SHAPE, randomGpt2Small } from "./random-model.js";

const ROTARY = { positionalEmbeddingType: "rotary", rotaryDim: 64 } as const;
const LLAMA = { ...ROTARY, normalizationType: "RMSPre", finalRms: true, gatedMlp: true, actFn: "silu" } as const;

/** Family → its architecture fields on top of GPT-2-small's sizes. */
export const FAMILY_SHAPES: Record<string, Partial<HookedTransformerConfig>> = {
  pythia: { ...ROTARY, rotaryDim: 16, parallelAttnMlp: true, actFn: "gelu" },
  llama: LLAMA,
  qwen2: { ...LLAMA, nKeyValueHeads: 2 },
  gemma2: {
    ...LLAMA,
    actFn: "gelu_pytorch_tanh",
    nKeyValueHeads: 4,
    useNormalizationBeforeAndAfter: true,
    attnScoresSoftCap: 50,
    outputLogitsSoftCap: 30,
    useLocalAttn: true,
    windowSize: 32,
    attnTypes: Array.from({ length: 12 }, (_, l) => (l % 2 === 0 ? "local" : "global")),
  },
};

export async function main(args: string[]): Promise<void> {
  const reps = Number(args[0] ?? 3);
  const tokens = randint(0, GPT2_SMALL_SHAPE.dVocab, [4, 64]);
  console.log(
    `backend: ${backend.getBackend().name}; GPT-2-small-sized models, forward on 4×64 tokens, median of ${reps}`,
  );
  const gpt2 = randomGpt2Small();
  const gpt2Ms = await medianMs(reps, () => gpt2.forward(tokens));
  const result: Record<string, number> = { gpt2_ms: gpt2Ms };
  console.log(`${"model".padEnd(10)}${"ms".padStart(10)}${"× gpt2".padStart(10)}`);
  console.log(`${"gpt2".padEnd(10)}${gpt2Ms.toFixed(1).padStart(10)}${"1.000".padStart(10)}`);
  for (const [name, fields] of Object.entries(FAMILY_SHAPES)) {
    const model = randomGpt2Small({ ...GPT2_SMALL_SHAPE, ...fields });
    const ms = await medianMs(reps, () => model.forward(tokens));
    result[`${name}_ms`] = ms;
    result[`${name}_ratio`] = ms / gpt2Ms;
    console.log(`${name.padEnd(10)}${ms.toFixed(1).padStart(10)}${(ms / gpt2Ms).toFixed(3).padStart(10)}`);
  }
  console.log(
    "RESULT " + JSON.stringify({ bench: "families", backend: backend.getBackend().name, tokens: [4, 64], ...result }),
  );
}
