// Path patching from sender heads to the final residual stream (the direct effect on the metric).
import { Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import { progressReporter } from "../progress.js";
import {
  type PathPatchInputs,
  type PathPatchResult,
  type PositionedMetric,
  gatherLayout,
  hasAnyHooks,
  senderGroups,
  resolveMetricLayout,
  resolvePositions,
  scoreResid,
} from "./positions.js";
import { defaultMaxRows, freezeHooks, frozenStreams, prepareRuns, useShortcut } from "./runs.js";

/**
 * Path patching from each sender to the final residual stream: the direct effect of the senders' new outputs on
 * the metric, every other head frozen at the original run (seed 002 / ARENA `get_path_patch_head_to_final_resid_post`).
 *
 * ```ts
 * const metric = ioiMetric(ioiDataset, { clean, corrupted });            // (patched − clean) / (clean − corrupted)
 * const { scores } = await getPathPatchHeadToFinalResidPost(model, metric, { origDataset: ioiDataset, newDataset: abcDataset });
 * scores;                                                                  // [layer, head]
 * ```
 */
export async function getPathPatchHeadToFinalResidPost(
  model: HookedTransformer,
  metric: PositionedMetric,
  opts: PathPatchInputs,
): Promise<PathPatchResult> {
  const L = model.cfg.nLayers;
  const H = model.cfg.nHeads;
  const { groups, perHead } = senderGroups(model, opts.senders, L);
  const freezeMlps = opts.freezeMlps ?? false;
  const origNeeded: string[] = [`blocks.${L - 1}.hook_resid_post`];
  for (let l = 0; l < L; l++) {
    origNeeded.push(`blocks.${l}.hook_resid_pre`, `blocks.${l}.hook_attn_out`);
    if (!model.cfg.attnOnly) origNeeded.push(`blocks.${l}.hook_mlp_out`);
  }
  const runs = await prepareRuns(model, opts, origNeeded);
  const { batch, seqLen } = runs;
  const layout = resolveMetricLayout(opts.metricPositions ?? metric.metricPositions, batch, seqLen, runs.dataset);
  const shortcut = useShortcut(metric, opts);
  const senderPos = resolvePositions(opts.senderPositions ?? "all", batch, seqLen, runs.dataset, "senderPositions");
  const out = new Float64Array(groups.length);
  const report = progressReporter("path patching → final resid", groups.length, opts);
  const baseline = await scoreResid(
    model,
    metric,
    gatherLayout(runs.orig.get(`blocks.${L - 1}.hook_resid_post`), layout),
    shortcut,
  );

  if ((opts.fast ?? true) && !hasAnyHooks(model)) {
    // the positions the metric reads, as per-row columns
    const cols =
      layout.kind === "shared" ? Array.from({ length: batch }, () => layout.positions) : layout.rows.map((p) => [p]);
    const m = cols[0]!.length;
    const perChunk = Math.max(1, Math.floor((opts.maxRows ?? defaultMaxRows(model, shortcut)) / (batch * m)));
    // process senders by first layer so each chunk starts late
    const order = groups
      .map((g, i) => i)
      .sort((a, b) => Math.min(...groups[a]!.map((h) => h[0])) - Math.min(...groups[b]!.map((h) => h[0])));
    let done = 0;
    for (let c = 0; c < order.length; c += perChunk) {
      const idx = order.slice(c, c + perChunk);
      const chunk = idx.map((i) => groups[i]!);
      const from = Math.min(...chunk.flat().map((h) => h![0]));
      await frozenStreams(runs, chunk, senderPos, cols, from, L, freezeMlps, async (l, stream) => {
        if (l !== L) return;
        for (let i = 0; i < chunk.length; i++)
          out[idx[i]!] = await scoreResid(model, metric, stream.narrow(0, i * batch, batch), shortcut);
      });
      done += chunk.length;
      report(done, groups.length);
    }
  } else {
    for (let i = 0; i < groups.length; i++) {
      const resid = await model.runWithHooks(runs.origTokens, {
        fwdHooks: freezeHooks(runs, groups[i]!, senderPos, freezeMlps),
        stopAtLayer: L,
      });
      out[i] = await scoreResid(model, metric, gatherLayout(resid, layout), shortcut);
      report(i + 1, groups.length);
    }
  }
  return {
    scores: Tensor.fromTypedArray(Float32Array.from(out), perHead ? [L, H] : [groups.length]),
    senders: groups,
    baseline,
  };
}
