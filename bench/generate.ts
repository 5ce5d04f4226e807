// `npm run bench -- generate [steps] [reps]`: greedy generation at batch 1 with the KV cache on the GPT-2-small-shaped
// random model (prompt 21 tokens, default 64 decode steps), tlens's `generate` beside onnxruntime-node (2 threads) on
// the same weights with its own KV cache (bench/ort-graph.ts's decode-step graph), in one run. Decode speed only:
// tlens's time is generate(steps + 1 tokens) − generate(1 token) (both pay the same prompt forward), ort's the steps
// after the prompt. The tokens both pick are compared, and the first step's logits. tlens with bf16 weight GEMMs
// (matmulPrecision "bf16", docs/performance.md) is timed the same way beside them.
import { backend, randint, type MatmulPrecision, type Tensor } from "../src/index.js";
import { cpuModel, medianMs } from "./forward.js";
import { maxAbsDiff, ortGenerator } from "./ort-forward.js";
import { GPT2_SMALL_SHAPE, randomGpt2Small } from "./random-model.js";

export async function main(args: string[]): Promise<void> {
  const steps = Number(args[0] ?? 64);
  const reps = Number(args[1] ?? 3);
  console.log(`backend: ${backend.getBackend().name}; building a random GPT-2-small-shaped model...`);
  const model = randomGpt2Small();
  const prompt = randint(0, GPT2_SMALL_SHAPE.dVocab, [1, 21]);
  const gen = (n: number, matmulPrecision: MatmulPrecision = "fp32"): Promise<Tensor> =>
    model.generate(prompt, { maxNewTokens: n, doSample: false, stopAtEos: false, matmulPrecision }) as Promise<Tensor>;
  const decodeMs = async (precision: MatmulPrecision): Promise<[number, number]> => {
    const one = await medianMs(reps, () => gen(1, precision));
    return [(await medianMs(reps, () => gen(steps + 1, precision))) - one, one];
  };
  const [tlensDecodeMs, oneMs] = await decodeMs("fp32");
  const [bf16DecodeMs] = await decodeMs("bf16");
  const tlensTokens = Array.from((await gen(steps + 1)).contiguous().dataSync()).slice(21);
  const bf16Same = Array.from((await gen(steps + 1, "bf16")).contiguous().dataSync())
    .slice(21)
    .filter((t, i) => t === tlensTokens[i]).length;

  const ort = await ortGenerator(model, 2);
  const promptIds = Array.from(prompt.contiguous().dataSync());
  const runs = [];
  for (let i = 0; i <= reps; i++) runs.push(await ort.generate(promptIds, steps)); // the first is a warm-up
  const ortDecodeMs = runs
    .slice(1)
    .map((r) => r.decodeMs)
    .sort((a, b) => a - b)[Math.floor(reps / 2)]!;
  const firstLogits = (await model.forward(prompt)).get(0, -1).contiguous().dataSync();
  const logitDiff = maxAbsDiff(runs[0]!.firstLogits, firstLogits);
  const same = runs[0]!.tokens.filter((t, i) => t === tlensTokens[i]).length;

  const tps = (ms: number): number => (steps / ms) * 1000;
  console.log(
    `prompt 21 tokens, ${steps} decode steps (batch 1, greedy, KV cache), median of ${reps}; CPU: ${cpuModel()}`,
  );
  console.log(
    `tlens: ${tlensDecodeMs.toFixed(0)} ms = ${tps(tlensDecodeMs).toFixed(1)} tokens/s (generate of 1 token: ${oneMs.toFixed(1)} ms)`,
  );
  console.log(
    `tlens, bf16 weight GEMMs: ${bf16DecodeMs.toFixed(0)} ms = ${tps(bf16DecodeMs).toFixed(1)} tokens/s (same tokens as fp32: ${bf16Same} / ${steps + 1})`,
  );
  console.log(`onnxruntime-node (2 threads): ${ortDecodeMs.toFixed(0)} ms = ${tps(ortDecodeMs).toFixed(1)} tokens/s`);
  console.log(
    `tlens / ort time ${(tlensDecodeMs / ortDecodeMs).toFixed(3)}; same tokens ${same} / ${steps + 1}; first step's max |logit diff| ${logitDiff.toExponential(2)}`,
  );
  console.log(
    "RESULT " +
      JSON.stringify({
        bench: "generate",
        backend: backend.getBackend().name,
        steps,
        prompt_tokens: 21,
        tlens_decode_ms: tlensDecodeMs,
        tlens_tokens_per_s: tps(tlensDecodeMs),
        tlens_generate_1_ms: oneMs,
        tlens_bf16_decode_ms: bf16DecodeMs,
        tlens_bf16_tokens_per_s: tps(bf16DecodeMs),
        bf16_ratio_vs_ort: bf16DecodeMs / ortDecodeMs,
        bf16_same_tokens: bf16Same,
        ort_decode_ms: ortDecodeMs,
        ort_tokens_per_s: tps(ortDecodeMs),
        ratio: tlensDecodeMs / ortDecodeMs,
        same_tokens: same,
        compared_tokens: steps + 1,
        first_step_max_abs_logit_diff: logitDiff,
        cpu: cpuModel(),
      }),
  );
}
