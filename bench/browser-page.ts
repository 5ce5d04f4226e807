// The in-page half of `npm run bench -- browser` (bench/browser.ts bundles it beside tlens.js and calls it through
// window["bench-page"]): builds the models in the page and times forward passes on the wasm and js kernels.
import { backend, fromPretrained, randint, type HookedTransformer } from "../src/browser/index.js";
import { medianMs } from "./forward-ms.js";
import { randomGpt2Small } from "./random-model.js";

export type PageModel = "toy-ioi" | "gpt2-small-random";

let models: Partial<Record<PageModel, HookedTransformer>> = {};

async function model(which: PageModel, toyIoiUrl: string): Promise<HookedTransformer> {
  models[which] ??= which === "toy-ioi" ? await fromPretrained(toyIoiUrl) : randomGpt2Small();
  return models[which]!;
}

/** Forward times of one model on one backend for batches × 21 random tokens (seeded). */
export async function timeForward(
  which: PageModel,
  kernels: "wasm" | "js",
  batches: number[],
  opts: { toyIoiUrl: string; minReps: number; minMs: number },
): Promise<Record<string, number>> {
  const m = await model(which, opts.toyIoiUrl);
  backend.setBackend(kernels);
  const out: Record<string, number> = {};
  for (const b of batches) {
    const tokens = randint(0, m.cfg.dVocab, [b, 21]);
    out[`${b}x21`] = await medianMs(() => m.forward(tokens), opts.minReps, opts.minMs);
  }
  return out;
}

/** toy-ioi's logits for `prompt` on one backend, as plain numbers (compared with Node's by the caller). */
export async function toyIoiLogits(prompt: string, kernels: "wasm" | "js", toyIoiUrl: string): Promise<number[]> {
  const m = await model("toy-ioi", toyIoiUrl);
  backend.setBackend(kernels);
  return Array.from((await m.forward(prompt)).dataSync());
}

/** Drops the models (the GPT-2-sized one holds ~0.5 GB of weights plus their packed copies). */
export function release(): void {
  models = {};
}
