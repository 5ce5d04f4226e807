// `npm run bench -- patching`: getActPatchResidPre (12 layers × 21 positions), getActPatchAttnHeadOutAllPos and
// getActPatchAttnHeadQAllPos (12 × 12 heads) on a GPT-2-small-shaped random model, batch 8 × 21, logit-difference
// metric at the last position; each the median of [reps] runs (`npm run bench -- patching [reps]`, default 3).
// Reference in the same run: the naive sweep's cost (one full patched forward per patch, as TransformerLens does),
// measured as the median patched forward × the number of patches.
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { backend, patching, randint, type Tensor } from "../src/index.js";
import { GPT2_SMALL_SHAPE, randomGpt2Small } from "./random-model.js";

// TransformerLens 2.x's own time for each sweep (s: TL's get_act_patch_* on the same shapes, full logits per patch),
// named by the CPU kind it was measured on. The vs-TL column divides by these: on another CPU kind it is a ratio
// across machines (the bench says so), not a measurement on this one.
const TL_SECONDS = {
  head_out: { s: 87.8, cpu: "AMD EPYC Zen 4, 2 cores (issue #24)" },
  resid_pre: { s: 120.8, cpu: "CPU not recorded (the bench's first figures, 2026-11-22)" },
} as const;

/** lscpu-style model name plus the kind its flags tell (AMX tiles: Intel Sapphire Rapids or later; AMD with
 *  AVX-512: Zen 4 or later). */
function cpuKind(): string {
  let info = "";
  try {
    info = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    /* not Linux: the model name alone */
  }
  const flags = new Set((/^flags\s*:(.*)$/m.exec(info)?.[1] ?? "").trim().split(/\s+/));
  const name = cpus()[0]?.model ?? "unknown";
  const kind = flags.has("amx_tile")
    ? "Intel Sapphire Rapids class (AMX)"
    : /AMD/.test(name) && flags.has("avx512f")
      ? "AMD Zen 4 class (AVX-512)"
      : "";
  return `${name}${kind ? `, ${kind}` : ""}, ${cpus().length} CPUs`;
}

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
  const cpu = cpuKind();
  console.log(`backend: ${backend.getBackend().name}; CPU: ${cpu}; building a random GPT-2-small-shaped model...`);
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
  const runOnce = (): Promise<Tensor> =>
    model.runWithHooks(corrupted, {
      fwdHooks: [
        [
          "blocks.6.attn.hook_z",
          (a) => {
            a.set([":", ":", 3], z.get(":", ":", 3));
          },
        ],
      ],
    });
  await runOnce();
  const perRun = await medianMs(3, runOnce);
  const reps = Number(args[0] ?? 3);
  const ms = {
    resid_pre: await medianMs(reps, () => patching.getActPatchResidPre(model, corrupted, cleanCache, metric, opts)),
    head_out: await medianMs(reps, () =>
      patching.getActPatchAttnHeadOutAllPos(model, corrupted, cleanCache, metric, opts),
    ),
    head_q: await medianMs(reps, () => patching.getActPatchAttnHeadQAllPos(model, corrupted, cleanCache, metric, opts)),
  };
  // the corrupted prompts above share the clean ones' first 5 tokens, so every patch starts at position 5 (as IOI
  // pairs share their prefix); for comparison, prompts that differ from the first token on
  const unrelated = randint(0, GPT2_SMALL_SHAPE.dVocab, [8, 21]);
  const headUnrelatedMs = await medianMs(reps, () =>
    patching.getActPatchAttnHeadOutAllPos(model, unrelated, cleanCache, metric, opts),
  );
  const naive = { resid_pre: perRun * 12 * 21, head_out: perRun * 12 * 12, head_q: perRun * 12 * 12 };
  console.log(`one patched forward (8×21, full logits): ${perRun.toFixed(1)} ms`);
  console.log(
    `${"sweep".padEnd(12)}${"tlens ms".padStart(11)}${"naive ms".padStart(11)}${"speed-up".padStart(10)}${"TL ms".padStart(10)}${"vs TL".padStart(8)}`,
  );
  for (const k of ["resid_pre", "head_out", "head_q"] as const) {
    const tl = k === "head_q" ? null : TL_SECONDS[k].s * 1000;
    console.log(
      `${k.padEnd(12)}${ms[k].toFixed(0).padStart(11)}${naive[k].toFixed(0).padStart(11)}${(naive[k] / ms[k]).toFixed(1).padStart(10)}` +
        `${tl ? tl.toFixed(0) : "-"}`.padStart(10) +
        `${tl ? (tl / ms[k]).toFixed(1) : "-"}`.padStart(8),
    );
  }
  for (const [k, t] of Object.entries(TL_SECONDS)) console.log(`TL ${k}: ${t.s} s, measured on ${t.cpu}`);
  console.log(`(this run: ${cpu}; where that is another CPU kind, vs TL is a ratio across machines)`);
  console.log(
    `head_out with corrupted prompts that share no prefix with the clean ones: ${headUnrelatedMs.toFixed(0)} ms ` +
      `(${((TL_SECONDS.head_out.s * 1000) / headUnrelatedMs).toFixed(1)}x vs TL)`,
  );
  console.log(
    "RESULT " +
      JSON.stringify({
        bench: "patching",
        backend: backend.getBackend().name,
        cpu,
        resid_pre_sweep_ms: ms.resid_pre,
        head_out_sweep_ms: ms.head_out,
        head_q_sweep_ms: ms.head_q,
        naive_forward_ms: perRun,
        resid_pre_speedup_vs_naive: naive.resid_pre / ms.resid_pre,
        head_out_speedup_vs_naive: naive.head_out / ms.head_out,
        head_q_speedup_vs_naive: naive.head_q / ms.head_q,
        resid_pre_speedup_vs_tl: (TL_SECONDS.resid_pre.s * 1000) / ms.resid_pre,
        head_out_speedup_vs_tl: (TL_SECONDS.head_out.s * 1000) / ms.head_out,
        tl_cpu: { resid_pre: TL_SECONDS.resid_pre.cpu, head_out: TL_SECONDS.head_out.cpu },
        head_out_no_shared_prefix_ms: headUnrelatedMs,
      }),
  );
}
