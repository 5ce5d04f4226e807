// genericActivationPatch: TransformerLens's generic_activation_patch — for every index, patch one clean
// activation into the corrupted run and score the logits with the metric — with the fast sweep by default.
import { AnalysisError } from "../../errors.js";
import { Tensor, type MatmulPrecision } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { ActivationCache } from "../../model/activation-cache.js";
import { getActName } from "../../model/act-name.js";
import { progressReporter, type ProgressOptions } from "../progress.js";
import { fastSweep, metricValue, type MetricFn, type PatchVariant } from "./engine.js";
import { OFFSET_AWARE_SETTERS, type PatchSetter } from "./setters.js";

export type AxisName = "layer" | "pos" | "head_index" | "head" | "src_pos" | "dest_pos";

export interface PatchingOptions extends ProgressOptions {
  /** Compute logits only at these positions ("last" or absolute indices): the metric then receives logits
   *  [batch, n, d_vocab] (so `logits.get(":", -1)` still reads the last position). Much faster sweeps. */
  metricPositions?: "last" | number[];
  /** false: re-run the whole model for every index, exactly as TransformerLens does (default true). */
  fast?: boolean;
  /** Upper bound on rows (batch × positions) stacked into one forward by the fast sweep (default 4096). */
  maxRows?: number;
  /** Precision of the corrupted and patched runs' weight GEMMs (ForwardOptions.matmulPrecision; default "fp32"):
   *  "bf16" errs by ~0.3–0.7% of the scores' range (docs/performance.md, "bf16 fast path"). The clean cache is the
   *  caller's. */
  matmulPrecision?: MatmulPrecision;
}

export interface GenericPatchOptions extends PatchingOptions {
  patchSetter: PatchSetter;
  /** Short activation name ("resid_pre", "z", "pattern", ...); the layer is the first index. */
  activationName: string;
  /** Iterate over every combination of these axes (the result has one dim per axis). */
  indexAxisNames?: AxisName[];
  /** Or an explicit list of indices (TL's index_df rows; layer first): the result is flat, one entry per row. */
  indices?: number[][];
  /** The first position a patch at `index` can change (default: from the axes — pos / dest_pos, else 0). Custom
   *  setters must honour the `offset` they are given when this is above 0; giving startPos also tells the fast
   *  sweep that the setter honours any offset, so a patch may start later, where it first changes something. */
  startPos?: (index: readonly number[]) => number;
}

function axisSizes(model: HookedTransformer, tokens: Tensor, activation: string): Record<AxisName, number> {
  const heads =
    (activation === "k" || activation === "v") && model.cfg.nKeyValueHeads
      ? model.cfg.nKeyValueHeads
      : model.cfg.nHeads;
  const pos = tokens.shape[tokens.ndim - 1]!;
  return { layer: model.cfg.nLayers, pos, head_index: heads, head: heads, src_pos: pos, dest_pos: pos };
}

/** Every combination of the axes' ranges, last axis fastest (TL's make_df_from_ranges). */
function product(sizes: number[]): number[][] {
  let rows: number[][] = [[]];
  for (const n of sizes) rows = rows.flatMap((r) => Array.from({ length: n }, (_, i) => [...r, i]));
  return rows;
}

/** TL's generic_activation_patch: for each index of the activation, the metric of the corrupted run with that part of the activation patched from the clean cache; a tensor shaped by the index axes. */
export async function genericActivationPatch(
  model: HookedTransformer,
  corruptedTokens: Tensor,
  cleanCache: ActivationCache,
  metric: MetricFn,
  opts: GenericPatchOptions,
): Promise<Tensor> {
  if (!opts.indexAxisNames === !opts.indices)
    throw new AnalysisError("genericActivationPatch: pass exactly one of indexAxisNames and indices");
  const tokens = corruptedTokens.ndim === 1 ? corruptedTokens.unsqueeze(0) : corruptedTokens;
  let indices: number[][];
  let shape: number[];
  let axes: string[];
  if (opts.indexAxisNames) {
    const sizes = axisSizes(model, tokens, opts.activationName);
    shape = opts.indexAxisNames.map((a) => {
      if (!(a in sizes))
        throw new AnalysisError(
          `genericActivationPatch: unknown axis "${a}" (known: ${Object.keys(sizes).join(", ")})`,
        );
      return sizes[a];
    });
    axes = opts.indexAxisNames;
    indices = product(shape);
  } else {
    indices = opts.indices!;
    shape = [indices.length];
    axes = [];
  }
  const startOf =
    opts.startPos ??
    ((index: readonly number[]) => {
      const at = axes.indexOf("pos") >= 0 ? axes.indexOf("pos") : axes.indexOf("dest_pos");
      return at >= 0 ? index[at]! : 0;
    });
  const out = new Float64Array(indices.length);
  const report = progressReporter(`patching ${opts.activationName}`, indices.length, opts);
  const fast = opts.fast ?? true;
  const inBlock = (name: string): boolean => /^blocks\.\d+\./.test(name);
  const variants: PatchVariant[] = indices.map((index, slot) => ({
    slot,
    index,
    layer: index[0]!,
    hookName: getActName(opts.activationName, index[0]),
    startPos: startOf(index),
  }));
  for (const v of variants) {
    if (!model.hookPoints.has(v.hookName))
      throw new AnalysisError(`genericActivationPatch: the model has no hook "${v.hookName}"`);
  }
  if (fast && variants.every((v) => inBlock(v.hookName))) {
    await fastSweep(
      {
        model,
        corruptedTokens: tokens,
        cleanCache,
        metric,
        setter: opts.patchSetter,
        metricPositions: opts.metricPositions,
        maxRows: opts.maxRows,
        matmulPrecision: opts.matmulPrecision,
        onChunkDone: (done) => report(done, indices.length),
        setterHonoursOffset: OFFSET_AWARE_SETTERS.has(opts.patchSetter) || opts.startPos !== undefined,
      },
      variants,
      out,
    );
  } else {
    for (const v of variants) {
      const clean = cleanCache.get(v.hookName);
      const logits = await model.runWithHooks(tokens, {
        fwdHooks: [[v.hookName, (act) => opts.patchSetter(act, v.index, clean, 0) ?? undefined]],
        logitPositions: opts.metricPositions,
        matmulPrecision: opts.matmulPrecision,
      });
      out[v.slot] = await metricValue(metric, logits);
      report(v.slot + 1, indices.length);
    }
  }
  return Tensor.fromTypedArray(Float32Array.from(out), shape);
}
