// Path patching: the fast algorithm equals the literal one (whole forward passes, every hook_z frozen by hooks), and
// the invariants theory gives: patching every head at once is the activation patch of every hook_z (and, where the
// metric reads a token both runs share, the new run itself); a last-layer head's path to the logits is its
// activation patch; patches that cannot reach the metric change nothing.
import { beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { HookedTransformer, patching, Tensor, type ActivationCache, type IOIDataset } from "../../src/index.js";
import { generateIOIData } from "../../src/datasets/ioi-data.js";
import { logitsToAveLogitDiff } from "../../src/analysis/ioi/index.js";
import {
  getPathPatchHeadToFinalResidPost,
  getPathPatchHeadToHeads,
  resolvePositions,
  type Head,
  type PositionedMetric,
} from "../../src/analysis/path-patching.js";
import { ioiMetric } from "../../src/analysis/ioi/metric.js";

const GOLDEN = fileURLToPath(new URL("../../../shared/golden/tl", import.meta.url));
const maxDiff = (a: Tensor, b: Tensor): number => a.sub(b).abs().max().item();

let model: HookedTransformer;
let ioi: IOIDataset;
let abc: IOIDataset;
let ioiCache: ActivationCache;
let abcCache: ActivationCache;
let metric: ReturnType<typeof ioiMetric>;
let clean: number;
let corrupted: number;
let base: {
  origDataset: IOIDataset;
  newDataset: IOIDataset;
  origCache: ActivationCache;
  newCache: ActivationCache;
  progressBar: false;
};

beforeAll(async () => {
  model = await HookedTransformer.fromPretrained("toy-ioi");
  ({ ioiDataset: ioi, abcDataset: abc } = generateIOIData({ N: 24, seed: 3, prependBos: true }));
  let ioiLogits: Tensor;
  let abcLogits: Tensor;
  [ioiLogits, ioiCache] = await model.runWithCache(ioi.toks);
  [abcLogits, abcCache] = await model.runWithCache(abc.toks);
  clean = await logitsToAveLogitDiff(ioiLogits, ioi);
  corrupted = await logitsToAveLogitDiff(abcLogits, ioi);
  metric = ioiMetric(model, ioi, { clean, corrupted });
  base = { origDataset: ioi, newDataset: abc, origCache: ioiCache, newCache: abcCache, progressBar: false };
});

const allHeads = (): Head[] =>
  Array.from(
    { length: model.cfg.nLayers * model.cfg.nHeads },
    (_, i) => [Math.floor(i / model.cfg.nHeads), i % model.cfg.nHeads] as Head,
  );

describe("path patching → final residual stream", () => {
  it("toy-ioi solves IOI and the ABC run does not", () => {
    expect(clean).toBeGreaterThan(6);
    expect(corrupted).toBeLessThan(1.5);
  });

  it("fast equals the literal algorithm (MLPs recomputed or frozen, sender positions, groups)", async () => {
    for (const freezeMlps of [false, true]) {
      const fast = await getPathPatchHeadToFinalResidPost(model, metric, { ...base, freezeMlps });
      const lit = await getPathPatchHeadToFinalResidPost(model, metric, { ...base, freezeMlps, fast: false });
      expect(fast.scores.shape).toEqual([4, 4]);
      expect(maxDiff(fast.scores, lit.scores)).toBeLessThan(1e-5);
      expect(Math.abs(fast.baseline)).toBeLessThan(1e-6); // the normalised metric is 0 on the clean run
    }
    const senders = [
      [0, 3],
      [
        [0, 3],
        [1, 1],
      ],
      [
        [2, 0],
        [2, 2],
        [3, 1],
      ],
    ] as (Head | Head[])[];
    for (const senderPositions of ["end", "S2", [[1, 2], ...Array.from({ length: 23 }, () => [4])]] as const) {
      const fast = await getPathPatchHeadToFinalResidPost(model, metric, {
        ...base,
        senders,
        senderPositions: senderPositions as never,
      });
      const lit = await getPathPatchHeadToFinalResidPost(model, metric, {
        ...base,
        senders,
        senderPositions: senderPositions as never,
        fast: false,
      });
      expect(fast.scores.shape).toEqual([3]);
      expect(maxDiff(fast.scores, lit.scores)).toBeLessThan(1e-5);
    }
  });

  it("senders patched away from the metric's position have no direct effect (every other head is frozen)", async () => {
    const r = await getPathPatchHeadToFinalResidPost(model, metric, { ...base, senderPositions: "S2" });
    expect(r.scores.abs().max().item()).toBeLessThan(1e-5);
  });

  it("patching every head at once is the activation patch of every hook_z, and the new run where the tokens agree", async () => {
    const r = await getPathPatchHeadToFinalResidPost(model, metric, { ...base, senders: [allHeads()] });
    const hooks = Array.from(
      { length: model.cfg.nLayers },
      (_, l) =>
        [
          `blocks.${l}.attn.hook_z`,
          (z: Tensor) => {
            z.copy_(abcCache.get(`blocks.${l}.attn.hook_z`));
          },
        ] as [string, (z: Tensor) => void],
    );
    const patched = await metric(await model.runWithHooks(ioi.toks, { fwdHooks: hooks }));
    expect(Math.abs(r.scores.item() - patched)).toBeLessThan(1e-4);
    // the end token (" to") and its position are the same in both runs, so the end stream is the ABC run's: −1
    expect(ioi.wordIdx.end!.every((p, b) => ioi.toks.get(b, p).item() === abc.toks.get(b, p).item())).toBe(true);
    expect(Math.abs(r.scores.item() + 1)).toBeLessThan(1e-4);
  });

  it("a last-layer head's path to the logits is its activation patch (getActPatchAttnHeadOutAllPos)", async () => {
    const r = await getPathPatchHeadToFinalResidPost(model, metric, base);
    const last = model.cfg.nLayers - 1;
    const act = await patching.genericActivationPatch(model, ioi.toks, abcCache, metric, {
      activationName: "z",
      patchSetter: patching.layerHeadVectorPatchSetter,
      indices: [0, 1, 2, 3].map((h) => [last, h]),
      progressBar: false,
    });
    expect(maxDiff(r.scores.get(last), act)).toBeLessThan(1e-4);
  });

  it("the metric's unembedding shortcut, a plain logits metric and other metric positions agree", async () => {
    const plain: PositionedMetric = async (logits: Tensor) => (await metric(logits)) as number;
    const senders = [
      [0, 3],
      [1, 1],
      [2, 0],
    ] as Head[];
    const a = await getPathPatchHeadToFinalResidPost(model, metric, { ...base, senders });
    const b = await getPathPatchHeadToFinalResidPost(model, plain, { ...base, senders, metricPositions: "end" });
    const c = await getPathPatchHeadToFinalResidPost(model, plain, {
      ...base,
      senders,
      metricPositions: { rows: ioi.wordIdx.end! },
    });
    expect(maxDiff(a.scores, b.scores)).toBeLessThan(1e-5);
    expect(maxDiff(a.scores, c.scores)).toBeLessThan(1e-5);
    // shared positions: a metric of the last position's mean logit, fast and literal
    const lastMean: PositionedMetric = (logits: Tensor) => logits.get(":", -1).mean().item();
    const d = await getPathPatchHeadToFinalResidPost(model, lastMean, { ...base, senders, metricPositions: "last" });
    const e = await getPathPatchHeadToFinalResidPost(model, lastMean, {
      ...base,
      senders,
      metricPositions: "last",
      fast: false,
    });
    expect(maxDiff(d.scores, e.scores)).toBeLessThan(1e-5);
  });

  it("patching a run into itself changes nothing", async () => {
    const r = await getPathPatchHeadToFinalResidPost(model, metric, {
      origDataset: ioi,
      newDataset: ioi,
      progressBar: false,
    });
    expect(r.scores.sub(r.baseline).abs().max().item()).toBeLessThan(1e-6);
  });

  it("falls back to the literal algorithm when hooks are attached, so they act", async () => {
    const senders = [
      [1, 1],
      [2, 0],
    ] as Head[];
    model.addHook("blocks.2.mlp.hook_post", (x) => x.mul(0.5), { isPermanent: true });
    try {
      const hooked = await getPathPatchHeadToFinalResidPost(model, metric, {
        origDataset: ioi,
        newDataset: abc,
        senders,
        progressBar: false,
      });
      const ref = await getPathPatchHeadToFinalResidPost(model, metric, {
        origDataset: ioi,
        newDataset: abc,
        senders,
        fast: false,
        progressBar: false,
      });
      expect(maxDiff(hooked.scores, ref.scores)).toBeLessThan(1e-6);
      expect(hooked.baseline).not.toBeCloseTo(0, 2); // the hook changed the original run
    } finally {
      model.resetHooks({ includingPermanent: true });
    }
  });
});

describe("path patching → heads", () => {
  it("fast equals the literal algorithm for q at end, k at S2, v at S1+1, several layers and inputs, per-row positions", async () => {
    const cases: {
      receiverHeads: Head[];
      receiverInput: ("q" | "k" | "v") | ("q" | "k" | "v")[];
      positions: never;
      freezeMlps?: boolean;
      senderPositions?: never;
    }[] = [
      {
        receiverHeads: [
          [3, 0],
          [3, 1],
        ],
        receiverInput: "q",
        positions: "end" as never,
      },
      {
        receiverHeads: [
          [2, 0],
          [2, 2],
        ],
        receiverInput: "k",
        positions: "S2" as never,
      },
      { receiverHeads: [[1, 1]], receiverInput: "v", positions: "S1+1" as never },
      {
        receiverHeads: [
          [2, 0],
          [3, 1],
        ],
        receiverInput: ["q", "k", "v"],
        positions: "all" as never,
        freezeMlps: true,
      },
      {
        receiverHeads: [[2, 0]],
        receiverInput: "v",
        positions: ioi.wordIdx.IO!.map((p, b) => [p, ioi.wordIdx.S1![b]]) as never,
        senderPositions: "IO" as never,
      },
    ];
    for (const c of cases) {
      const fast = await getPathPatchHeadToHeads(model, metric, { ...base, ...c });
      const lit = await getPathPatchHeadToHeads(model, metric, { ...base, ...c, fast: false });
      const maxLayer = Math.max(...c.receiverHeads.map((r) => r[0]));
      expect(fast.scores.shape).toEqual([maxLayer, 4]);
      expect(maxDiff(fast.scores, lit.scores), JSON.stringify(c.receiverInput)).toBeLessThan(1e-5);
    }
  });

  it("receivers patched after the metric's position, or senders that cannot reach them, change nothing", async () => {
    // keys/values one past end cannot reach the query at end (causal attention)
    const after = ioi.wordIdx.end!.map((p) => p + 1);
    const r = await getPathPatchHeadToHeads(model, metric, {
      ...base,
      receiverHeads: [
        [2, 0],
        [3, 3],
      ],
      receiverInput: ["k", "v"],
      positions: after,
    });
    expect(r.scores.sub(r.baseline).abs().max().item()).toBeLessThan(1e-6);
    const s = await getPathPatchHeadToHeads(model, metric, {
      ...base,
      receiverHeads: [[1, 1]],
      receiverInput: "v",
      positions: "S1+1",
      senders: [
        [1, 0],
        [2, 0],
        [
          [0, 3],
          [3, 3],
        ],
      ],
    });
    expect(s.scores.shape).toEqual([3]);
    expect(s.scores.get(0).item()).toBe(Math.fround(s.baseline));
    expect(s.scores.get(1).item()).toBe(Math.fround(s.baseline));
    const alone = await getPathPatchHeadToHeads(model, metric, {
      ...base,
      receiverHeads: [[1, 1]],
      receiverInput: "v",
      positions: "S1+1",
      senders: [[0, 3]],
    });
    expect(Math.abs(s.scores.get(2).item() - alone.scores.item())).toBeLessThan(1e-6);
  });

  it("receivers patched with their own values (the run patched into itself) change nothing", async () => {
    const r = await getPathPatchHeadToHeads(model, metric, {
      origDataset: ioi,
      newDataset: ioi,
      receiverHeads: [[3, 1]],
      receiverInput: ["q", "k", "v"],
      progressBar: false,
    });
    expect(r.scores.sub(r.baseline).abs().max().item()).toBeLessThan(1e-5);
  });

  it("validates its inputs", async () => {
    await expect(
      getPathPatchHeadToHeads(model, metric, { ...base, receiverHeads: [[4, 0]], receiverInput: "q" }),
    ).rejects.toThrow(/does not exist/);
    await expect(
      getPathPatchHeadToHeads(model, metric, { ...base, receiverHeads: [[1, 0]], receiverInput: "x" as never }),
    ).rejects.toThrow(/"q", "k" or "v"/);
    await expect(
      getPathPatchHeadToHeads(model, metric, { ...base, receiverHeads: [[1, 0]], receiverInput: "q", positions: "S3" }),
    ).rejects.toThrow(/unknown position "S3"/);
    await expect(
      getPathPatchHeadToFinalResidPost(model, metric, { origTokens: ioi.toks, newTokens: abc.toks.narrow(1, 0, 5) }),
    ).rejects.toThrow(/one shape/);
    expect(() => resolvePositions("end", 2, 10, undefined, "x")).toThrow(/needs a dataset/);
    expect(resolvePositions(-1, 2, 10, undefined, "x")).toEqual([[9], [9]]);
    expect(resolvePositions([[3, 1, 3], [2]], 2, 10, undefined, "x")).toEqual([[1, 3], [2]]);
  });
});

describe("path patching on the golden model (TL's test model, folded and unfolded)", () => {
  it("fast equals literal on raw tokens with a shared-position metric", async () => {
    for (const load of [HookedTransformer.fromPretrained, HookedTransformer.fromPretrainedNoProcessing]) {
      const g = await load(GOLDEN);
      const gen = (seed: number): Tensor =>
        Tensor.fromTypedArray(
          Int32Array.from({ length: 3 * 9 }, (_, i) => (i * 37 + seed * 101 + (i % 5) * 13) % 1000),
          [3, 9],
        );
      const orig = gen(1);
      const fresh = gen(2);
      const mf = (logits: Tensor): number =>
        logits
          .get(":", -1, 7)
          .sub(logits.get(":", -1, 11))
          .mean()
          .item();
      const m: PositionedMetric = mf;
      const o = { origTokens: orig, newTokens: fresh, metricPositions: "last" as const, progressBar: false as const };
      const a = await getPathPatchHeadToFinalResidPost(g, m, o);
      const b = await getPathPatchHeadToFinalResidPost(g, m, { ...o, fast: false });
      expect(a.scores.shape).toEqual([3, 4]);
      expect(maxDiff(a.scores, b.scores)).toBeLessThan(1e-4);
      const h = {
        ...o,
        receiverHeads: [
          [2, 1],
          [1, 3],
        ] as Head[],
        receiverInput: ["q", "k", "v"] as ("q" | "k" | "v")[],
        positions: [[5, 8], [2], [0, 8]],
      };
      const c = await getPathPatchHeadToHeads(g, m, h);
      const d = await getPathPatchHeadToHeads(g, m, { ...h, fast: false });
      expect(maxDiff(c.scores, d.scores)).toBeLessThan(1e-4);
      // every head at once = the activation patch of every hook_z
      const [, newCache] = await g.runWithCache(fresh);
      const every = await getPathPatchHeadToFinalResidPost(g, m, {
        ...o,
        senders: [Array.from({ length: 12 }, (_, i) => [Math.floor(i / 4), i % 4] as Head)],
      });
      const hooks = [0, 1, 2].map(
        (l) =>
          [
            `blocks.${l}.attn.hook_z`,
            (z: Tensor) => {
              z.copy_(newCache.get(`blocks.${l}.attn.hook_z`));
            },
          ] as [string, (z: Tensor) => void],
      );
      expect(Math.abs(every.scores.item() - mf(await g.runWithHooks(orig, { fwdHooks: hooks })))).toBeLessThan(1e-4);
    }
  });
});

describe("path patching on stories260K (rotary, grouped-query attention, RMSNorm, gated MLP)", () => {
  it("fast equals literal, receivers' k/v on key-value heads", async () => {
    const m = await HookedTransformer.fromPretrained(
      fileURLToPath(new URL("../../../shared/models/stories260K", import.meta.url)),
    );
    expect(m.cfg.nKeyValueHeads).toBe(4);
    const gen = (seed: number): Tensor =>
      Tensor.fromTypedArray(
        Int32Array.from({ length: 2 * 10 }, (_, i) => (i * 37 + seed * 101 + (i % 5) * 13) % 512),
        [2, 10],
      );
    const lp: PositionedMetric = (l: Tensor) => l.get(":", -1).logSoftmax(-1).get(":", 300).mean().item();
    const o = { origTokens: gen(1), newTokens: gen(2), metricPositions: "last" as const, progressBar: false as const };
    const a = await getPathPatchHeadToFinalResidPost(m, lp, o);
    const b = await getPathPatchHeadToFinalResidPost(m, lp, { ...o, fast: false });
    expect(a.scores.sub(a.baseline).abs().max().item()).toBeGreaterThan(0.05);
    expect(maxDiff(a.scores, b.scores)).toBeLessThan(1e-4);
    const h = {
      ...o,
      receiverHeads: [
        [4, 1],
        [3, 6],
        [3, 7],
      ] as Head[],
      receiverInput: ["q", "k", "v"] as ("q" | "k" | "v")[],
      positions: [
        [5, 8],
        [2, 9],
      ],
    };
    const c = await getPathPatchHeadToHeads(m, lp, h);
    const d = await getPathPatchHeadToHeads(m, lp, { ...h, fast: false });
    expect(c.scores.sub(c.baseline).abs().max().item()).toBeGreaterThan(0.01);
    expect(maxDiff(c.scores, d.scores)).toBeLessThan(1e-4);
  });
});
