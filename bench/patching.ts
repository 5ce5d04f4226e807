// `npm run bench -- patching`: getActPatchResidPre (12 layers × 21 positions) and getActPatchAttnHeadOutAllPos
// (12 × 12 heads) on a GPT-2-small-shaped random model, batch 8 × 21, logit-difference metric at the last position;
// each the median of [reps] runs (`npm run bench -- patching [reps]`, default 3).
// Reference in the same run: the naive sweep's cost (one full patched forward per patch, as TransformerLens does),
// measured as the median patched forward × the number of patches. TransformerLens itself: 120.8 s and 68.6 s on
// this machine (0.48 s per run).
import { getBackend, patching, randint, type Tensor } from "../src/index.js";
import { GPT2_SMALL_SHAPE, randomGpt2Small } from "./random-model.js";

const TL_SECONDS = { resid_pre: 120.8, head_out: 68.6 };

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

/** Median ms of `reps` runs of fn (this machine's run-to-run noise reaches ±30%). */
async function medianMs(reps: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push((await timed(fn))[1]);
  return times.sort((a, b) => a - b)[Math.floor(reps / 2)]!;
}

export async function main(args: string[]): Promise<void> {
  console.log(`backend: ${getBackend().name}; building a random GPT-2-small-shaped model...`);
  const model = randomGpt2Small();
  const clean = randint(0, GPT2_SMALL_SHAPE.dVocab, [8, 21]);
  const corrupted = clean.clone();
  corrupted.set([":", 5], randint(0, GPT2_SMALL_SHAPE.dVocab, [8]));
  const answers = randint(0, GPT2_SMALL_SHAPE.dVocab, [8]).dataSync();
  const wrong = randint(0, GPT2_SMALL_SHAPE.dVocab, [8]).dataSync();
  const metric = (logits: Tensor): number => {
    let s = 0;
    for (let b = 0; b < 8; b++) s += logits.get(b, -1, answers[b]!).item() - logits.get(b, -1, wrong[b]!).item();
    return s / 8;
  };
  const [, cleanCache] = await model.runWithCache(clean);
  const opts = { metricPositions: "last" as const, progressBar: false };
  // naive reference: one whole patched forward per patch (full logits, as TL's run_with_hooks)
  const z = cleanCache.get("blocks.6.attn.hook_z");
  const runOnce = (): Promise<Tensor> => model.runWithHooks(corrupted, { fwdHooks: [["blocks.6.attn.hook_z", (a) => { a.set([":", ":", 3], z.get(":", ":", 3)); }]] });
  await runOnce();
  const perRun = await medianMs(3, runOnce);
  const reps = Number(args[0] ?? 3);
  const residMs = await medianMs(reps, () => patching.getActPatchResidPre(model, corrupted, cleanCache, metric, opts));
  const headMs = await medianMs(reps, () => patching.getActPatchAttnHeadOutAllPos(model, corrupted, cleanCache, metric, opts));
  // the corrupted prompts above share the clean ones' first 5 tokens, so every patch starts at position 5 (as IOI
  // pairs share their prefix); for comparison, prompts that differ from the first token on
  const unrelated = randint(0, GPT2_SMALL_SHAPE.dVocab, [8, 21]);
  const headUnrelatedMs = await medianMs(reps, () => patching.getActPatchAttnHeadOutAllPos(model, unrelated, cleanCache, metric, opts));
  const naive = { resid_pre: perRun * 12 * 21, head_out: perRun * 12 * 12 };
  console.log(`one patched forward (8×21, full logits): ${perRun.toFixed(1)} ms`);
  console.log(`${"sweep".padEnd(12)}${"tlens ms".padStart(11)}${"naive ms".padStart(11)}${"speed-up".padStart(10)}${"TL ms".padStart(10)}${"vs TL".padStart(8)}`);
  for (const [k, ms] of [["resid_pre", residMs], ["head_out", headMs]] as const) {
    console.log(`${k.padEnd(12)}${ms.toFixed(0).padStart(11)}${naive[k].toFixed(0).padStart(11)}${(naive[k] / ms).toFixed(1).padStart(10)}${(TL_SECONDS[k] * 1000).toFixed(0).padStart(10)}${(TL_SECONDS[k] * 1000 / ms).toFixed(1).padStart(8)}`);
  }
  console.log(`head_out with corrupted prompts that share no prefix with the clean ones: ${headUnrelatedMs.toFixed(0)} ms ` +
    `(${(TL_SECONDS.head_out * 1000 / headUnrelatedMs).toFixed(1)}x vs TL)`);
  console.log("RESULT " + JSON.stringify({
    bench: "patching", backend: getBackend().name, resid_pre_sweep_ms: residMs, head_out_sweep_ms: headMs, naive_forward_ms: perRun,
    resid_pre_speedup_vs_naive: naive.resid_pre / residMs, head_out_speedup_vs_naive: naive.head_out / headMs,
    resid_pre_speedup_vs_tl: (TL_SECONDS.resid_pre * 1000) / residMs, head_out_speedup_vs_tl: (TL_SECONDS.head_out * 1000) / headMs,
    head_out_no_shared_prefix_ms: headUnrelatedMs,
  }));
}
