// `npm run bench -- bf16 [reps]`: the bf16 fast path (matmulPrecision "bf16") against fp32 on the
// GPT-2-small-shaped random model, in one run: forwards at 1×21, 8×21 and 100×21 (full logits), generation (20
// greedy tokens after a 21-token prompt, KV cache) and a patching sweep (getActPatchResidPre, 12 layers × 12
// positions on 2×12 tokens, metric at the last position) — each time and the bf16 result's max abs error
// against fp32 (with the fp32 values' scale beside it).
import { spawnSync } from "node:child_process";
import { loadNativeAddon } from "../src/backend/native.js";
import { backend, patching, randint, type Tensor } from "../src/index.js";
import { cpuModel, medianMs } from "./forward.js";
import { GPT2_SMALL_SHAPE, randomGpt2Small } from "./random-model.js";

const maxAbs = (t: Tensor): number => t.abs().max().item();
const maxAbsDiff = (a: Tensor, b: Tensor): number => maxAbs(a.sub(b));

interface Row {
  fp32_ms: number;
  bf16_ms: number;
  speedup: number;
  max_abs_err: number;
  max_abs_fp32: number;
}

/** fp32 and bf16 timings of run(precision) (alternating, so load changes hit both), and the error of bf16's result. */
async function compare(reps: number, run: (p: "fp32" | "bf16") => Promise<Tensor>): Promise<Row> {
  const ref = await run("fp32");
  const err = maxAbsDiff(await run("bf16"), ref);
  const fp32 = await medianMs(reps, () => run("fp32"));
  const bf16 = await medianMs(reps, () => run("bf16"));
  return { fp32_ms: fp32, bf16_ms: bf16, speedup: fp32 / bf16, max_abs_err: err, max_abs_fp32: maxAbs(ref) };
}

export async function main(args: string[]): Promise<void> {
  const reps = Number(args[0] ?? 5);
  const info = loadNativeAddon()?.bf16Info?.() ?? { fast: false, kernel: "none" };
  const cpu = cpuModel();
  const load = spawnSync("uptime", [], { encoding: "utf8" }).stdout?.trim() ?? "";
  console.log(
    `backend: ${backend.getBackend().name}; bf16 kernel: ${info.kernel} (${info.fast ? "fast" : "emulated over fp32"}); CPU: ${cpu}`,
  );
  console.log(`load: ${load}`);
  const model = randomGpt2Small();
  const rows: Record<string, Row> = {};
  for (const [b, reps_] of [
    [1, Math.max(reps, 10)],
    [8, reps],
    [100, Math.max(2, Math.ceil(reps / 2))],
  ] as const) {
    const tokens = randint(0, GPT2_SMALL_SHAPE.dVocab, [b, 21]);
    rows[`forward_${b}x21`] = await compare(reps_, (p) => model.forward(tokens, { matmulPrecision: p }));
  }
  const prompt = randint(0, GPT2_SMALL_SHAPE.dVocab, [1, 21]);
  const gen = (p: "fp32" | "bf16"): Promise<Tensor> =>
    model.generate(prompt, {
      maxNewTokens: 20,
      doSample: false,
      stopAtEos: false,
      matmulPrecision: p,
    }) as Promise<Tensor>;
  const genRow = await compare(Math.max(2, Math.ceil(reps / 2)), gen);
  // the error column of generation: tokens that differ (of 20)
  rows.generate_20_tokens = {
    ...genRow,
    max_abs_err: (await gen("bf16"))
      .ne(await gen("fp32"))
      .sum()
      .item(),
    max_abs_fp32: 20,
  };
  const clean = randint(0, GPT2_SMALL_SHAPE.dVocab, [2, 12]);
  const corrupted = clean.clone();
  corrupted.set([":", 5], randint(0, GPT2_SMALL_SHAPE.dVocab, [2]));
  const [ioTok, sTok] = [
    randint(0, GPT2_SMALL_SHAPE.dVocab, [2]).dataSync(),
    randint(0, GPT2_SMALL_SHAPE.dVocab, [2]).dataSync(),
  ];
  const metric = (l: Tensor): number =>
    (l.get(0, -1, ioTok[0]!).item() -
      l.get(0, -1, sTok[0]!).item() +
      l.get(1, -1, ioTok[1]!).item() -
      l.get(1, -1, sTok[1]!).item()) /
    2;
  const [, cleanCache] = await model.runWithCache(clean);
  rows.patch_resid_pre_2x12 = await compare(Math.max(2, Math.ceil(reps / 2)), (p) =>
    patching.getActPatchResidPre(model, corrupted, cleanCache, metric, {
      metricPositions: "last",
      progressBar: false,
      matmulPrecision: p,
    }),
  );
  console.log(
    `\n${"case".padEnd(24)}${"fp32 ms".padStart(10)}${"bf16 ms".padStart(10)}${"speedup".padStart(9)}${"max|err|".padStart(11)}${"max|fp32|".padStart(11)}`,
  );
  for (const [k, r] of Object.entries(rows)) {
    console.log(
      `${k.padEnd(24)}${r.fp32_ms.toFixed(1).padStart(10)}${r.bf16_ms.toFixed(1).padStart(10)}${r.speedup.toFixed(2).padStart(9)}` +
        `${r.max_abs_err.toPrecision(3).padStart(11)}${r.max_abs_fp32.toPrecision(3).padStart(11)}`,
    );
  }
  console.log("(generate_20_tokens: the error column counts tokens that differ, of 20)");
  console.log(`RESULT ${JSON.stringify({ bf16_kernel: info.kernel, bf16_fast: info.fast, cpu, load, ...rows })}`);
}
