// Path patching from sender heads to receiver heads' q/k/v inputs.
import { AnalysisError } from "../../errors.js";
import { cat, Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import { KeyValuePrefix, ln1, runBlocks, tileBatch } from "../../model/run/index.js";
import type { HookFn, NameFilter } from "../../model/hook-point.js";
import { progressReporter } from "../progress.js";
import {
  type Head,
  type PathPatchResult,
  type PathPatchToHeadsInputs,
  type PositionedMetric,
  type QkvInput,
  checkHead,
  gatherLayout,
  hasAnyHooks,
  int32,
  senderGroups,
  resolveMetricLayout,
  resolvePositions,
  scoreResid,
} from "./positions.js";
import { type Runs, freezeHooks, frozenStreams, prepareRuns, useShortcut } from "./runs.js";

/** The receivers' patched inputs of one layer: values [groups * batch, m, d_head] per (input, head). */
type ReceiverValues = Map<string, Tensor>;
const rkey = (input: QkvInput, layer: number, head: number): string => `${input}:${layer}:${head}`;

/** The hook-point head index of a receiver head's input (key/value heads under grouped-query attention). */
function hookHead(model: HookedTransformer, layer: number, head: number, input: QkvInput): number {
  return input === "q" ? head : Math.floor(head / model.blocks[layer]!.attn.repeatKvHeads);
}

/** Stage 1, fast: the receivers' q/k/v at their positions `cols`, for each sender group. */
async function receiverValuesFast(
  runs: Runs,
  groups: Head[][],
  senderPos: number[][],
  cols: number[][],
  receivers: Head[],
  inputs: QkvInput[],
  freezeMlps: boolean,
): Promise<ReceiverValues> {
  const { model } = runs;
  const values: ReceiverValues = new Map();
  const layers = [...new Set(receivers.map((r) => r[0]))];
  const from = Math.min(...groups.flat().map((h) => h[0]));
  const to = Math.max(...layers);
  const m = cols[0]!.length;
  const posIdx = int32(cols.flat(), [runs.batch, m]);
  await frozenStreams(runs, groups, senderPos, cols, Math.min(from, to), to, freezeMlps, async (l, stream) => {
    if (!layers.includes(l)) return;
    const block = model.blocks[l]!;
    const attn = block.attn;
    const x = await ln1(model, l, stream);
    let xqk = x;
    if (model.cfg.positionalEmbeddingType === "shortformer") {
      // the block adds the positional embeddings to the normalised query and key inputs
      xqk = x.add(tileBatch(model.W_pos.get(posIdx), groups.length));
    }
    for (const [rl, h] of receivers) {
      if (rl !== l) continue;
      for (const input of inputs) {
        const hh = hookHead(model, l, h, input);
        const key = rkey(input, l, hh);
        if (values.has(key)) continue;
        const [W, b, src] =
          input === "q"
            ? [attn.W_Q, attn.b_Q, xqk]
            : input === "k"
              ? [attn._W_K, attn._b_K, xqk]
              : [attn._W_V, attn._b_V, x];
        values.set(key, src.matmul(W.get(hh)).add(b.get(hh)));
      }
    }
  });
  return values;
}

/** Stage 1, literal: a frozen run per group, recording the receivers' hook_q/k/v. */
async function receiverValuesLiteral(
  runs: Runs,
  group: Head[],
  senderPos: number[][],
  cols: number[][],
  receivers: Head[],
  inputs: QkvInput[],
  freezeMlps: boolean,
): Promise<ReceiverValues> {
  const { model, batch } = runs;
  const m = cols[0]!.length;
  const rowIdx = int32(
    cols.flatMap((_, b) => new Array<number>(m).fill(b)),
    [batch, m],
  );
  const posIdx = int32(cols.flat(), [batch, m]);
  const values: ReceiverValues = new Map();
  const capture: [NameFilter, HookFn][] = [];
  for (const [l, h] of receivers) {
    for (const input of inputs) {
      const hh = hookHead(model, l, h, input);
      capture.push([
        `blocks.${l}.attn.hook_${input}`,
        (act) => {
          values.set(rkey(input, l, hh), act.get(rowIdx, posIdx, hh));
        },
      ]);
    }
  }
  const to = Math.max(...receivers.map((r) => r[0]));
  await model.runWithHooks(runs.origTokens, {
    fwdHooks: [...freezeHooks(runs, group, senderPos, freezeMlps), ...capture],
    stopAtLayer: to + 1,
  });
  return values;
}

/** Hooks writing the receivers' values (rows of `groups` stacked groups) at their positions; `offset` = the absolute
 *  position of the activation's first position. */
function receiverHooks(
  model: HookedTransformer,
  values: ReceiverValues,
  nGroups: number,
  batch: number,
  cols: number[][],
  offset: number,
): [NameFilter, HookFn][] {
  const m = cols[0]!.length;
  const rows: number[] = [];
  const pos: number[] = [];
  for (let g = 0; g < nGroups; g++)
    for (let b = 0; b < batch; b++)
      for (const p of cols[b]!) {
        rows.push(g * batch + b);
        pos.push(p - offset);
      }
  const rowIdx = int32(rows);
  const posIdx = int32(pos);
  const byHook = new Map<string, [number, Tensor][]>();
  for (const [key, v] of values) {
    const [input, l, hh] = key.split(":");
    const name = `blocks.${l}.attn.hook_${input}`;
    byHook.set(name, [...(byHook.get(name) ?? []), [Number(hh), v.reshape(nGroups * batch * m, v.shape[2]!)]]);
  }
  void model;
  return [...byHook.entries()].map(([name, list]) => [
    name,
    (act: Tensor) => {
      for (const [hh, v] of list) act.set([rowIdx, posIdx, hh], v);
    },
  ]);
}

/**
 * Path patching from each sender to the receiver heads' q, k or v inputs at the given positions (seed 002 / ARENA
 * `get_path_patch_head_to_heads`): the receivers' inputs are recomputed with the sender patched from the new run
 * and every other head frozen, then patched into the original run, where everything downstream recomputes.
 *
 * ```ts
 * const nmQueries = await getPathPatchHeadToHeads(model, metric, {
 *   origDataset: ioiDataset, newDataset: abcDataset, receiverHeads: [[3, 0]], receiverInput: "q", positions: "end",
 * });
 * nmQueries.scores;   // [3, n_heads]: senders in the layers before the last receiver
 * ```
 */
export async function getPathPatchHeadToHeads(
  model: HookedTransformer,
  metric: PositionedMetric,
  opts: PathPatchToHeadsInputs,
): Promise<PathPatchResult> {
  const L = model.cfg.nLayers;
  const H = model.cfg.nHeads;
  const receivers = [...opts.receiverHeads];
  if (!receivers.length) throw new AnalysisError("getPathPatchHeadToHeads: receiverHeads is empty");
  for (const r of receivers) checkHead(model, r, "receiverHeads");
  const inputs = [...new Set(typeof opts.receiverInput === "string" ? [opts.receiverInput] : opts.receiverInput)];
  for (const i of inputs)
    if (!["q", "k", "v"].includes(i))
      throw new AnalysisError(
        `getPathPatchHeadToHeads: receiverInput must be "q", "k" or "v", got ${JSON.stringify(i)}`,
      );
  if (!inputs.length) throw new AnalysisError("getPathPatchHeadToHeads: receiverInput is empty");
  const maxLayer = Math.max(...receivers.map((r) => r[0]));
  const minLayer = Math.min(...receivers.map((r) => r[0]));
  const { groups, perHead } = senderGroups(model, opts.senders, maxLayer);
  const freezeMlps = opts.freezeMlps ?? false;
  const origNeeded: string[] = [`blocks.${L - 1}.hook_resid_post`];
  for (let l = 0; l < L; l++) {
    origNeeded.push(
      `blocks.${l}.hook_resid_pre`,
      `blocks.${l}.hook_attn_out`,
      `blocks.${l}.attn.hook_k`,
      `blocks.${l}.attn.hook_v`,
    );
    if (!model.cfg.attnOnly) origNeeded.push(`blocks.${l}.hook_mlp_out`);
  }
  const runs = await prepareRuns(model, opts, origNeeded);
  const { batch, seqLen, orig } = runs;
  const layout = resolveMetricLayout(opts.metricPositions ?? metric.metricPositions, batch, seqLen, runs.dataset);
  const shortcut = useShortcut(metric, opts);
  const senderPos = resolvePositions(opts.senderPositions ?? "all", batch, seqLen, runs.dataset, "senderPositions");
  const recvPos = resolvePositions(opts.positions ?? "all", batch, seqLen, runs.dataset, "positions");
  // rectangular columns: rows with fewer positions repeat their last one (writing a value twice is harmless)
  const m = Math.max(...recvPos.map((r) => r.length));
  const cols = recvPos.map((r) => [...r, ...new Array<number>(m - r.length).fill(r[r.length - 1]!)]);
  const out = new Float64Array(groups.length).fill(NaN);
  const report = progressReporter("path patching → heads", groups.length, opts);
  const finalName = `blocks.${L - 1}.hook_resid_post`;
  const baseline = await scoreResid(model, metric, gatherLayout(orig.get(finalName), layout), shortcut);
  // a sender at or after the last receiver's layer cannot reach it: the metric stays at the baseline
  const reaches = groups.map((g) => g.some(([l]) => l < maxLayer));
  groups.forEach((_, i) => {
    if (!reaches[i]) out[i] = baseline;
  });
  const live = groups.map((_, i) => i).filter((i) => reaches[i]);

  if ((opts.fast ?? true) && !hasAnyHooks(model)) {
    const p0 = Math.min(...recvPos.map((r) => r[0]!));
    const rowsPerGroup = batch * (seqLen - p0);
    const perChunk = Math.max(1, Math.floor((opts.maxRows ?? 4096) / rowsPerGroup));
    let done = groups.length - live.length;
    for (let c = 0; c < live.length; c += perChunk) {
      const idx = live.slice(c, c + perChunk);
      const chunk = idx.map((i) => groups[i]!);
      const G = chunk.length;
      const values = await receiverValuesFast(runs, chunk, senderPos, cols, receivers, inputs, freezeMlps);
      // stage 2: the original run from the first receiver layer, positions ≥ p0, receivers patched
      let residual = tileBatch(
        orig.get(`blocks.${minLayer}.hook_resid_pre`).narrow(1, p0, seqLen - p0),
        G,
      ).contiguous();
      const hooks = receiverHooks(model, values, G, batch, cols, p0);
      residual = await runBlocks(model, residual, {
        from: minLayer,
        to: L,
        prefix: KeyValuePrefix.fromCache(orig, p0, G),
        hooks,
      });
      const final = p0 > 0 ? cat([tileBatch(orig.get(finalName).narrow(1, 0, p0), G), residual], 1) : residual;
      for (let i = 0; i < G; i++)
        out[idx[i]!] = await scoreResid(
          model,
          metric,
          gatherLayout(final.narrow(0, i * batch, batch), layout),
          shortcut,
        );
      done += G;
      report(done, groups.length);
    }
  } else {
    let done = groups.length - live.length;
    for (const i of live) {
      const values = await receiverValuesLiteral(runs, groups[i]!, senderPos, cols, receivers, inputs, freezeMlps);
      const resid = await model.runWithHooks(runs.origTokens, {
        fwdHooks: receiverHooks(model, values, 1, batch, cols, 0),
        stopAtLayer: L,
      });
      out[i] = await scoreResid(model, metric, gatherLayout(resid, layout), shortcut);
      report(++done, groups.length);
    }
  }
  return {
    scores: Tensor.fromTypedArray(Float32Array.from(out), perHead ? [maxLayer, H] : [groups.length]),
    senders: groups,
    baseline,
  };
}
