// toy-ioi in headless Chromium: the browser bundle, served from 127.0.0.1, loads the model over fetch into a Web
// Worker (wasm kernels, then the JS ones) and in the page itself; logits and a sample of cached activations must
// equal Node's (≤ 1e-4). Locally without Chromium this is skipped; in CI (.ci/run installs it) it always runs.
import { availableParallelism } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HookedTransformer, logitLens, type ActivationCache, type Tensor } from "../../src/index.js";
import { openBrowserSession, type BrowserSession, type TlensModule } from "./harness.js";

const PROMPT = "When Mary and John went to the store, John gave a drink to";
const SAMPLED = [
  "hook_embed",
  "hook_pos_embed",
  "blocks.0.attn.hook_pattern",
  "blocks.1.attn.hook_z",
  "blocks.1.hook_resid_mid",
  "blocks.2.mlp.hook_post",
  "blocks.3.hook_resid_post",
  "ln_final.hook_scale",
];

/** The logit lens of " Mary" vs " John" at the last position. */
function lensOpts(model: { toSingleToken(s: string): number }): logitLens.LogitLensOptions {
  return { posSlice: -1, tokens: [model.toSingleToken(" Mary")], incorrectTokens: [model.toSingleToken(" John")] };
}

interface PageTensor {
  shape: number[];
  data: number[];
}

/** Largest |a - b| over two tensors of one shape (the page's values against Node's). */
function maxDiff(page: PageTensor, node: Tensor): number {
  expect(page.shape).toEqual(node.shape);
  const want = node.dataSync();
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(page.data[i]! - want[i]!));
  return worst;
}

/** The bundle has wasm kernels where the toolchain builds them (CI installs it; locally the js runs stand alone). */
const BACKENDS = ["wasm", "js"] as const;

let session: BrowserSession;
let nodeLogits: Tensor;
let nodeCache: ActivationCache;
let nodeModel: HookedTransformer;

async function nodeReference(): Promise<void> {
  nodeModel ??= await HookedTransformer.fromPretrained("toy-ioi");
  [nodeLogits, nodeCache] = await nodeModel.runWithCache(PROMPT);
}

/** Loads toy-ioi into a worker model of the session's page and runs forward, runWithCache and a logit lens there. */
async function inWorker(session: BrowserSession, backend: "wasm" | "js") {
  return session.page.evaluate(
    async ({ prompt, names, backend, lens0 }) => {
      const tlens = (window as unknown as { tlens: TlensModule }).tlens;
      const progress: { file: string; loaded: number; total: number | null }[] = [];
      const model = await tlens.createWorkerModel("/models/toy-ioi/", {
        backend,
        onProgress: (p: (typeof progress)[number]) => progress.push(p),
      });
      const plain = (t: { shape: number[]; dataSync(): ArrayLike<number> }) => ({
        shape: t.shape,
        data: Array.from(t.dataSync()),
      });
      const logits = await model.forward(prompt);
      const run = await model.runWithCache(prompt, names);
      const lens = await model.analysis("logitLens", prompt, lens0);
      model.terminate();
      return {
        info: model.info,
        isolated: crossOriginIsolated,
        progress,
        logits: plain(logits),
        cacheLogits: plain(run.logits),
        logitDiff: plain(lens.logitDiff!),
        cache: Object.fromEntries(Object.entries(run.cache).map(([k, v]) => [k, plain(v as Tensor)])),
      };
    },
    { prompt: PROMPT, names: SAMPLED, backend, lens0: lensOpts(nodeModel) },
  );
}

/** The worker's results against Node's: logits, the sampled cache entries and the logit lens, all within 1e-4. */
function checkParity(got: Awaited<ReturnType<typeof inWorker>>): void {
  expect(got.info.nLayers).toBe(4);
  // progress: config.json then model.safetensors, ending at the full size
  const last = got.progress.filter((p) => p.file === "model.safetensors").at(-1)!;
  expect(last.total).toBe(14473232);
  expect(last.loaded).toBe(14473232);
  expect(maxDiff(got.logits, nodeLogits)).toBeLessThanOrEqual(1e-4);
  expect(maxDiff(got.cacheLogits, nodeLogits)).toBeLessThanOrEqual(1e-4);
  expect(Object.keys(got.cache).sort()).toEqual([...SAMPLED].sort());
  for (const name of SAMPLED) expect(maxDiff(got.cache[name]!, nodeCache.get(name)), name).toBeLessThanOrEqual(1e-4);
  // an analysis run in the worker: the logit lens of " Mary" vs " John"
  expect(
    maxDiff(got.logitDiff, logitLens.logitLens(nodeModel, nodeCache, lensOpts(nodeModel)).logitDiff!),
  ).toBeLessThanOrEqual(1e-4);
}

describe("toy-ioi in Chromium vs Node", () => {
  beforeAll(async () => {
    await nodeReference();
    session = await openBrowserSession();
  });
  afterAll(async () => {
    await session?.close();
  });

  for (const backend of BACKENDS) {
    it(`in a Web Worker on the ${backend} kernels: forward and runWithCache equal Node's`, async () => {
      const got = await inWorker(session, backend);
      expect(got.info.backend).toBe(backend);
      expect(got.info.threads).toBe(1); // not cross-origin isolated: one thread
      checkParity(got);
      expect(session.errors).toEqual([]);
    });
  }

  it("on the page's main thread: HookedTransformer.fromPretrained(url), runWithHooks, an analysis and a figure", async () => {
    const got = await session.page.evaluate(
      async ({ prompt, lens0 }) => {
        const tlens = (window as unknown as { tlens: TlensModule }).tlens;
        const { backend } = await tlens.initBackend();
        const model = await tlens.HookedTransformer.fromPretrained("/models/toy-ioi/");
        const ablated = await model.runWithHooks(prompt, {
          fwdHooks: [
            [
              "blocks.1.attn.hook_z",
              (z: { set(idx: unknown[], v: number): void }) => {
                z.set([":", ":", 2], 0);
              },
            ],
          ],
        });
        const [, cache] = await model.runWithCache(prompt);
        const lens = tlens.logitLens.logitLens(model, cache, lens0);
        const fig = tlens.viz.imshow(lens.tokenLogits!, { title: "logit lens" });
        return {
          backend,
          ablated: { shape: ablated.shape, data: Array.from(ablated.dataSync() as Float32Array) },
          labels: lens.labels,
          logitDiff: Array.from(lens.logitDiff!.dataSync()),
          figType: fig.data[0]!.type,
          figRows: (fig.data[0] as { z: unknown[] }).z.length,
        };
      },
      { prompt: PROMPT, lens0: lensOpts(nodeModel) },
    );
    expect(got.backend).toBe("wasm");
    const want = await nodeModel.runWithHooks(PROMPT, {
      fwdHooks: [
        [
          "blocks.1.attn.hook_z",
          (z) => {
            z.set([":", ":", 2], 0);
          },
        ],
      ],
    });
    expect(maxDiff(got.ablated, want)).toBeLessThanOrEqual(1e-4);
    expect(maxDiff(got.ablated, nodeLogits)).toBeGreaterThan(1e-3); // the ablation changed something
    expect(got.labels).toEqual(["0_pre", "1_pre", "2_pre", "3_pre", "final_post"]);
    const nodeLens = logitLens.logitLens(nodeModel, nodeCache, lensOpts(nodeModel));
    expect(maxDiff({ shape: nodeLens.logitDiff!.shape, data: got.logitDiff }, nodeLens.logitDiff!)).toBeLessThanOrEqual(
      1e-4,
    );
    expect(got.figType).toBe("heatmap");
    expect(got.figRows).toBe(5);
    expect(session.errors).toEqual([]);
  });

  it("cancel: an aborted call rejects and the worker goes on serving", async () => {
    const got = await session.page.evaluate(
      async ({ prompt }) => {
        const tlens = (window as unknown as { tlens: TlensModule }).tlens;
        const model = await tlens.createWorkerModel("/models/toy-ioi/");
        const ctl = new AbortController();
        const doomed = model.runWithCache(prompt, ["hook_embed"], {}, { signal: ctl.signal });
        ctl.abort(new Error("stopped by the page"));
        const outcome = await doomed.then(
          () => "resolved",
          (e: Error) => e.message,
        );
        const after = await model.forward(prompt);
        model.terminate();
        return { outcome, afterShape: after.shape };
      },
      { prompt: PROMPT },
    );
    expect(got.outcome).toBe("stopped by the page");
    expect(got.afterShape).toEqual(nodeLogits.shape);
  });
});

describe("toy-ioi in a cross-origin isolated page: threaded wasm", () => {
  let isolated: BrowserSession;
  beforeAll(async () => {
    await nodeReference();
    isolated = await openBrowserSession({ isolated: true });
  });
  afterAll(async () => {
    await isolated?.close();
  });

  it("runs the worker's kernels on helper threads sharing the wasm memory, with Node's results", async () => {
    const got = await inWorker(isolated, "wasm");
    expect(got.isolated).toBe(true);
    expect(got.info.backend).toBe("wasm");
    expect(got.info.threads).toBe(Math.min(8, availableParallelism()));
    checkParity(got);
    expect(isolated.errors).toEqual([]);
  });
});
