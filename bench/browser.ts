// `npm run bench -- browser [--quick]`: tlens in headless Chromium (playwright-core, the system's Chromium). Times
// the in-page forward pass of toy-ioi and of a GPT-2-small-shaped random model (1×21 and 8×21 tokens) on the wasm
// and the js kernels, and compares the page's toy-ioi logits with Node's. Speed is reported as the wasm/js ratio
// measured in the same page; the last line is `RESULT {json}` with `max_abs_err_vs_node`.
import { HookedTransformer } from "../src/index.js";
import { openBrowserSession } from "../test/browser/harness.js";
import type * as BenchPage from "./browser-page.js";

const PROMPT = "When Mary and John went to the store, John gave a drink to";
const BACKENDS = ["wasm", "js"] as const;

export async function main(args: string[]): Promise<void> {
  const quick = args.includes("--quick");
  const node = await HookedTransformer.fromPretrained("toy-ioi");
  const nodeLogits = (await node.forward(PROMPT)).dataSync();
  const session = await openBrowserSession({ extraEntries: { "bench-page": "bench/browser-page.ts" } });
  try {
    const page = session.page;
    page.setDefaultTimeout(0);
    await page.evaluate(() => (window as unknown as { tlens: { initBackend(): Promise<string> } }).tlens.initBackend());
    const call = <K extends keyof typeof BenchPage>(fn: K, ...fnArgs: Parameters<(typeof BenchPage)[K]>): Promise<Awaited<ReturnType<(typeof BenchPage)[K]>>> =>
      page.evaluate(({ fn, fnArgs }) => {
        const mod = (window as unknown as Record<string, Record<string, (...a: unknown[]) => unknown>>)["bench-page"];
        return mod[fn](...fnArgs);
      }, { fn, fnArgs: fnArgs as unknown[] }) as Promise<Awaited<ReturnType<(typeof BenchPage)[K]>>>;

    const toyIoiUrl = `${session.url}/models/toy-ioi/`;
    const err: Record<string, number> = {};
    for (const backend of BACKENDS) {
      const got = await call("toyIoiLogits", PROMPT, backend, toyIoiUrl);
      err[backend] = got.reduce((m, v, i) => Math.max(m, Math.abs(v - nodeLogits[i])), 0);
      console.log(`toy-ioi logits, page (${backend}) vs Node: max |diff| ${err[backend].toExponential(2)}`);
    }
    const times: Record<string, Record<string, Record<string, number>>> = {};
    for (const which of ["toy-ioi", "gpt2-small-random"] as const) {
      times[which] = {};
      for (const backend of BACKENDS) {
        const heavy = which !== "toy-ioi" && backend === "js";
        times[which][backend] = await call("timeForward", which, backend, [1, 8], {
          toyIoiUrl, minReps: heavy || quick ? 1 : 3, minMs: heavy || quick ? 0 : 1000,
        });
        for (const [shape, ms] of Object.entries(times[which][backend])) console.log(`${which} ${shape} ${backend}: ${ms.toFixed(1)} ms`);
      }
      for (const shape of ["1x21", "8x21"]) {
        console.log(`${which} ${shape}: wasm is ${(times[which].js[shape] / times[which].wasm[shape]).toFixed(2)}x the speed of js`);
      }
      if (which === "toy-ioi") await call("release");
    }
    if (session.errors.length) throw new Error(`page errors: ${session.errors.join("; ")}`);
    const flat: Record<string, number> = {};
    for (const [which, byBackend] of Object.entries(times)) {
      for (const [backend, byShape] of Object.entries(byBackend)) {
        for (const [shape, ms] of Object.entries(byShape)) flat[`${which.replace(/-/g, "_")}_${shape}_${backend}_ms`] = Number(ms.toFixed(2));
      }
      for (const shape of ["1x21", "8x21"]) flat[`${which.replace(/-/g, "_")}_${shape}_wasm_speedup_vs_js`] = Number((byBackend.js[shape] / byBackend.wasm[shape]).toFixed(3));
    }
    console.log(`RESULT ${JSON.stringify({ ...flat, max_abs_err_vs_node: Math.max(...Object.values(err)), max_abs_err_vs_node_wasm: err.wasm, max_abs_err_vs_node_js: err.js })}`);
  } finally {
    await session.close();
  }
}
