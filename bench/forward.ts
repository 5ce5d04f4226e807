// `npm run bench -- forward [reps]`: a GPT-2-small-shaped model with random weights (12 layers, d_model 768,
// 12 heads, d_mlp 3072, vocab 50257) on 100×21 tokens (full logits; last-position logits only), 1×21, and
// runWithCache (every hook) on 100×21 — beside PyTorch running the same shapes in the same run when
// `python3 -c "import torch"` works (Debian: apt-get install python3-torch libopenblas0-pthread — without OpenBLAS,
// Debian's torch falls back to the reference BLAS and runs ~100x slower).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { cpus } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { backend, randint, type HookedTransformer, type Tensor } from "../src/index.js";
import { createRequire } from "node:module";
import { GPT2_SMALL_SHAPE, randomGpt2Small } from "./random-model.js";
import { maxAbsDiff, ortRunner } from "./ort-forward.js";

// The previous run's tensors are garbage by the next run; collect them first (untimed), as Python's reference
// counting frees the reference's at once, so each run starts from the same heap.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

export async function medianMs(reps: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    collectGarbage();
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function numThreads(): number {
  return Number(process.env.TLENS_NUM_THREADS) || cpus().length;
}

/** Runs bench/reference/<script> (PyTorch) with reps; its last stdout line is a JSON object. */
export function torchReference(
  reps: number,
  script = "torch_forward.py",
  extra: readonly string[] = [],
): Record<string, number | string> | null {
  const path = fileURLToPath(new URL(`./reference/${script}`, import.meta.url));
  // Debian's python3-torch lives under /usr/bin/python3, which may not be the python3 on PATH
  const python = ["python3", "/usr/bin/python3"].find((py) => spawnSync(py, ["-c", "import torch"]).status === 0);
  if (!python) {
    console.log("PyTorch not available (python3 -c 'import torch' failed): skipping the reference column");
    return null;
  }
  const res = spawnSync(python, [path, String(reps), ...extra], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
    env: { ...process.env, TLENS_NUM_THREADS: String(numThreads()) },
  });
  if (res.status !== 0) {
    console.log(`PyTorch reference failed: ${res.stderr.split("\n").slice(-3).join(" ")}`);
    return null;
  }
  return JSON.parse(res.stdout.trim().split("\n").pop()!) as Record<string, number | string>;
}

export async function main(args: string[]): Promise<void> {
  const reps = Number(args[0] ?? 3);
  console.log(`backend: ${backend.getBackend().name}; building a random GPT-2-small-shaped model...`);
  const model = randomGpt2Small();
  const big = randint(0, GPT2_SMALL_SHAPE.dVocab, [100, 21]);
  const small = randint(0, GPT2_SMALL_SHAPE.dVocab, [1, 21]);
  const mid = randint(0, GPT2_SMALL_SHAPE.dVocab, [8, 21]);
  const tlens = {
    full_100x21_ms: await medianMs(reps, () => model.forward(big)),
    last_pos_100x21_ms: await medianMs(reps, () => model.forward(big, { logitPositions: "last" })),
    full_1x21_ms: await medianMs(Math.max(reps, 10), () => model.forward(small)),
    full_8x21_ms: await medianMs(Math.max(reps, 5), () => model.forward(mid)),
    cache_100x21_ms: await medianMs(reps, () => model.runWithCache(big)),
  };
  const ort = await ortColumn(model, reps, { "1x21": small, "8x21": mid, "100x21": big });
  const torch = torchReference(reps);
  const keys = Object.keys(tlens) as (keyof typeof tlens)[];
  console.log(`\n${"case".padEnd(22)}${"tlens ms".padStart(12)}${"torch ms".padStart(12)}${"ratio".padStart(9)}`);
  const ratios: Record<string, number> = {};
  for (const k of keys) {
    const ref = torch ? Number(torch[k]) : NaN;
    ratios[k.replace(/_ms$/, "_ratio")] = tlens[k] / ref;
    console.log(
      `${k.padEnd(22)}${tlens[k].toFixed(1).padStart(12)}${(torch ? ref.toFixed(1) : "-").padStart(12)}${(torch ? (tlens[k] / ref).toFixed(3) : "-").padStart(9)}`,
    );
  }
  const cacheOverForward = tlens.cache_100x21_ms / tlens.full_100x21_ms;
  console.log(`runWithCache / forward: ${cacheOverForward.toFixed(3)}`);
  console.log(
    "RESULT " +
      JSON.stringify({
        bench: "forward",
        backend: backend.getBackend().name,
        ...tlens,
        cache_over_forward: cacheOverForward,
        torch: torch ?? null,
        ...(torch ? ratios : {}),
        ...ortResult(tlens, ort),
        cpu: cpuModel(),
      }),
  );
}

/** lscpu's model name (os.cpus() where lscpu is missing). */
export function cpuModel(): string {
  const res = spawnSync("lscpu", [], { encoding: "utf8" });
  const line = res.status === 0 ? res.stdout.split("\n").find((l) => l.startsWith("Model name:")) : undefined;
  return line ? line.slice("Model name:".length).trim() : (cpus()[0]?.model ?? "unknown");
}

/** onnxruntime-node (2 threads) on the same weights: median ms per case, and its max |logit difference| from tlens. */
async function ortColumn(
  model: HookedTransformer,
  reps: number,
  cases: Record<string, Tensor>,
): Promise<Record<string, number>> {
  const runner = await ortRunner(model, 21, 2);
  const out: Record<string, number> = {};
  for (const [name, tokens] of Object.entries(cases)) {
    out[`ort_full_${name}_ms`] = await medianMs(tokens.shape[0] === 100 ? reps : Math.max(reps, 10), () =>
      runner.run(tokens),
    );
  }
  const ref = (await model.forward(cases["8x21"]!)).contiguous().dataSync();
  out.ort_max_abs_logit_diff = maxAbsDiff(await runner.run(cases["8x21"]!), ref);
  return out;
}

function ortResult(tlens: Record<string, number>, ort: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = { ...ort };
  console.log(
    `\nonnxruntime-node ${ortVersion()} (2 threads), same weights; max |logit diff| ${ort.ort_max_abs_logit_diff!.toExponential(2)}`,
  );
  console.log(`${"case".padEnd(22)}${"tlens ms".padStart(12)}${"ort ms".padStart(12)}${"ratio".padStart(9)}`);
  for (const name of ["1x21", "8x21", "100x21"]) {
    const t = tlens[`full_${name}_ms`]!,
      o = ort[`ort_full_${name}_ms`]!;
    out[`ort_full_${name}_ratio`] = t / o;
    console.log(
      `${`full_${name}`.padEnd(22)}${t.toFixed(1).padStart(12)}${o.toFixed(1).padStart(12)}${(t / o).toFixed(3).padStart(9)}`,
    );
  }
  return out;
}

function ortVersion(): string {
  return (createRequire(import.meta.url)("onnxruntime-node/package.json") as { version: string }).version;
}
