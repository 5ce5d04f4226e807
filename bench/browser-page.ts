// The in-page half of `npm run bench -- browser` (bench/browser.ts bundles it beside tlens.js and calls it through
// window["bench-page"]): builds the models in the page and times forward passes on the wasm and js kernels.
import { fromPretrained, randint, setBackend, type HookedTransformer } from "../src/browser/index.js";
import { randomGpt2Small } from "./random-model.js";

export type PageModel = "toy-ioi" | "gpt2-small-random";

let models: Partial<Record<PageModel, HookedTransformer>> = {};

async function model(which: PageModel, toyIoiUrl: string): Promise<HookedTransformer> {
  models[which] ??= which === "toy-ioi" ? await fromPretrained(toyIoiUrl) : randomGpt2Small();
  return models[which]!;
}

/** Median forward time (ms) over at least `minReps` runs and `minMs` of running, after one warm-up run. */
async function forwardMs(m: HookedTransformer, tokens: ReturnType<typeof randint>, minReps: number, minMs: number): Promise<number> {
  await m.forward(tokens);
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minReps || (performance.now() - start < minMs && times.length < 50)) {
    const t = performance.now();
    await m.forward(tokens);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Forward times of one model on one backend for batches × 21 random tokens (seeded). */
export async function timeForward(which: PageModel, backend: "wasm" | "js", batches: number[], opts: { toyIoiUrl: string; minReps: number; minMs: number }):
  Promise<Record<string, number>> {
  const m = await model(which, opts.toyIoiUrl);
  setBackend(backend);
  const out: Record<string, number> = {};
  for (const b of batches) out[`${b}x21`] = await forwardMs(m, randint(0, m.cfg.dVocab, [b, 21]), opts.minReps, opts.minMs);
  return out;
}

/** toy-ioi's logits for `prompt` on one backend, as plain numbers (compared with Node's by the caller). */
export async function toyIoiLogits(prompt: string, backend: "wasm" | "js", toyIoiUrl: string): Promise<number[]> {
  const m = await model("toy-ioi", toyIoiUrl);
  setBackend(backend);
  return Array.from((await m.forward(prompt)).dataSync());
}

/** Drops the models (the GPT-2-sized one holds ~0.5 GB of weights plus their packed copies). */
export function release(): void {
  models = {};
}
