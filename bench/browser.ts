// `npm run bench -- browser [--quick]`: tlens in headless Chromium (playwright-core, the system's Chromium). Times
// the in-page forward pass of toy-ioi and of a GPT-2-small-shaped random model (1×21 and 8×21 tokens) on the wasm
// kernels (one thread; and threaded, in a cross-origin isolated page) and on the js kernels, times the same forwards
// in Node on the native backend, and compares the page's toy-ioi logits with Node's. Speed is reported as ratios to
// the js kernels measured in the same browser and to native measured in the same run; the last line is
// `RESULT {json}` with `max_abs_err_vs_node` and `<model>_<shape>_native_ms`.
import { backend, HookedTransformer, randint } from "../src/index.js";
import { medianMs } from "./forward-ms.js";
import { randomGpt2Small } from "./random-model.js";
import { openBrowserSession, type BrowserSession, type TlensModule } from "../test/browser/harness.js";
import type * as BenchPage from "./browser-page.js";

const PROMPT = "When Mary and John went to the store, John gave a drink to";
const MODELS = ["toy-ioi", "gpt2-small-random"] as const;
const SHAPES = ["1x21", "8x21"];

/** One page: its wasm thread count, and per kernel set (backend label) the toy-ioi error and the forward times. */
async function measure(
  session: BrowserSession,
  backends: ("wasm" | "js")[],
  nodeLogits: ArrayLike<number>,
  quick: boolean,
  label: (b: string) => string,
): Promise<{
  threads: number;
  err: Record<string, number>;
  times: Record<string, Record<string, Record<string, number>>>;
}> {
  const page = session.page;
  page.setDefaultTimeout(0);
  const { threads } = await page.evaluate(() => (window as unknown as { tlens: TlensModule }).tlens.initBackend());
  const call = <K extends keyof typeof BenchPage>(
    fn: K,
    ...fnArgs: Parameters<(typeof BenchPage)[K]>
  ): Promise<Awaited<ReturnType<(typeof BenchPage)[K]>>> =>
    page.evaluate(
      ({ fn, fnArgs }) => {
        const mod = (window as unknown as Record<string, Record<string, (...a: unknown[]) => unknown>>)["bench-page"]!;
        return mod[fn]!(...fnArgs);
      },
      { fn, fnArgs: fnArgs as unknown[] },
    ) as Promise<Awaited<ReturnType<(typeof BenchPage)[K]>>>;
  const toyIoiUrl = `${session.url}/models/toy-ioi/`;
  const err: Record<string, number> = {};
  for (const backend of backends) {
    const got = await call("toyIoiLogits", PROMPT, backend, toyIoiUrl);
    err[label(backend)] = got.reduce((m, v, i) => Math.max(m, Math.abs(v - nodeLogits[i]!)), 0);
    console.log(
      `toy-ioi logits, page (${label(backend)}) vs Node: max |diff| ${err[label(backend)]!.toExponential(2)}`,
    );
  }
  const times: Record<string, Record<string, Record<string, number>>> = {};
  for (const which of MODELS) {
    times[which] = {};
    for (const backend of backends) {
      const heavy = which !== "toy-ioi" && backend === "js";
      const t = await call("timeForward", which, backend, [1, 8], {
        toyIoiUrl,
        minReps: heavy || quick ? 1 : 3,
        minMs: heavy || quick ? 0 : 1000,
      });
      times[which][label(backend)] = t;
      for (const [shape, ms] of Object.entries(t))
        console.log(`${which} ${shape} ${label(backend)}: ${ms.toFixed(1)} ms`);
    }
    await call("release");
  }
  if (session.errors.length) throw new Error(`page errors: ${session.errors.join("; ")}`);
  return { threads, err, times };
}

/** Node's native-backend forward times of toy-ioi and the GPT-2-small shape, [model][shape] in ms. */
async function timeNative(toyIoi: HookedTransformer, quick: boolean): Promise<Record<string, Record<string, number>>> {
  backend.setBackend("native");
  const times: Record<string, Record<string, number>> = {};
  for (const which of MODELS) {
    const m = which === "toy-ioi" ? toyIoi : randomGpt2Small();
    times[which] = {};
    for (const shape of SHAPES) {
      const tokens = randint(0, m.cfg.dVocab, [Number(shape.split("x")[0]), 21]);
      const ms = await medianMs(() => m.forward(tokens), 3, quick ? 0 : 1000);
      times[which][shape] = ms;
      console.log(`${which} ${shape} native (Node): ${ms.toFixed(1)} ms`);
    }
  }
  return times;
}

export async function main(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const node = await HookedTransformer.fromPretrained("toy-ioi");
  const nodeLogits = (await node.forward(PROMPT)).dataSync();
  const native = await timeNative(node, quick);
  const extraEntries = { "bench-page": "bench/browser-page.ts" };

  const plainPage = await openBrowserSession({ extraEntries });
  const plain = await measure(plainPage, ["wasm", "js"], nodeLogits, quick, (b) => b).finally(() => plainPage.close());
  const isolatedPage = await openBrowserSession({ extraEntries, isolated: true });
  const isolated = await measure(isolatedPage, ["wasm"], nodeLogits, quick, () => "wasm_mt").finally(() =>
    isolatedPage.close(),
  );
  console.log(`wasm threads: ${plain.threads} (page not isolated), ${isolated.threads} (cross-origin isolated)`);

  const err = { ...plain.err, ...isolated.err };
  const result: Record<string, number> = { wasm_mt_threads: isolated.threads };
  for (const which of MODELS) {
    const byKernels = { ...plain.times[which], ...isolated.times[which] };
    const key = which.replace(/-/g, "_");
    for (const [kernels, byShape] of Object.entries(byKernels)) {
      for (const shape of SHAPES) result[`${key}_${shape}_${kernels}_ms`] = Number(byShape[shape]!.toFixed(2));
    }
    for (const shape of SHAPES) {
      result[`${key}_${shape}_native_ms`] = Number(native[which]![shape]!.toFixed(2));
      const threads = byKernels.wasm![shape]! / byKernels.wasm_mt![shape]!;
      result[`${key}_${shape}_wasm_mt_speedup_vs_wasm`] = Number(threads.toFixed(3));
      console.log(`${which} ${shape}: wasm_mt is ${threads.toFixed(2)}x the speed of wasm (1 thread)`);
    }
    for (const kernels of ["wasm", "wasm_mt"]) {
      for (const shape of SHAPES) {
        const vsNative = byKernels[kernels]![shape]! / native[which]![shape]!;
        result[`${key}_${shape}_${kernels}_vs_native`] = Number(vsNative.toFixed(3));
        console.log(`${which} ${shape}: ${kernels} takes ${vsNative.toFixed(2)}x the native time`);
        const speedup = byKernels.js![shape]! / byKernels[kernels]![shape]!;
        result[`${key}_${shape}_${kernels}_speedup_vs_js`] = Number(speedup.toFixed(3));
        console.log(`${which} ${shape}: ${kernels} is ${speedup.toFixed(2)}x the speed of js`);
      }
    }
  }
  for (const [kernels, e] of Object.entries(err)) result[`max_abs_err_vs_node_${kernels}`] = e;
  console.log(`RESULT ${JSON.stringify({ ...result, max_abs_err_vs_node: Math.max(...Object.values(err)) })}`);
}
