// Seed 003's position-flip patching experiment.
import { ShapeError } from "../../errors.js";
import type { HookedTransformer, HookFn } from "../../model/index.js";
import { arange, Tensor } from "../../tensor/index.js";
import type { IOIDataset } from "../../datasets/index.js";
import { project } from "../projection.js";
import { atPositions, idx, needS1, needTokens, resolveTarget } from "./targets.js";

export interface PositionFlipOptions {
  /** [layer, head], e.g. [10, 7] */
  head: readonly [number, number];
  /** The flip whose residual stream is patched into the head's query input (default "ABB -> BAB, BAB -> ABB":
   *  IO and S1 swap places, the rest of the sentence stays). */
  flip?: string;
  /** Hold ln1's scale of the layer at its clean value in the patched runs (default true, as the seed). */
  freezeScale?: boolean;
}

export interface PositionFlipResult {
  /** Mean over the batch of score(end→IO) − score(end→S1) in the head. */
  clean: number;
  /** The head's query input replaced (every position) by the flipped prompt's resid_pre of the layer. */
  patched: number;
  /** The query input at `end` replaced by its projection onto the span of W_U[IO] and W_U[S1]. */
  projected: number;
  /** [batch] per-row differences of each run */
  perRow: { clean: Tensor; patched: Tensor; projected: Tensor };
  flippedDataset: IOIDataset;
}

/**
 * Seed 003's experiment on head (L, h): does the head find IO by position as well as by token? Three runs of the
 * dataset, each measuring score(end→IO) − score(end→S1) of the head:
 *  clean; "patched" — the head's query input (`hook_q_input`) takes the flipped dataset's resid_pre of layer L, so
 *  the query "looks for IO where S1 was"; "projected" — the query input at `end` is projected onto
 *  span(W_U[IO], W_U[S1]). Patched runs freeze ln1's scale at the clean run's value. Turns on split q/k/v inputs for
 *  the runs (restored afterwards): a model flag, so other runs on the model must not overlap this call.
 */
export async function positionFlipPatching(
  model: HookedTransformer,
  dataset: IOIDataset,
  opts: PositionFlipOptions,
): Promise<PositionFlipResult> {
  const what = "positionFlipPatching";
  const r = resolveTarget(model, { head: opts.head, dataset }, what);
  const L = r.layer;
  const H = r.head;
  const S1 = needS1(r, what);
  const flip = opts.flip ?? "ABB -> BAB, BAB -> ABB";
  const freeze = opts.freezeScale ?? true;
  const scoresName = `blocks.${L}.attn.hook_attn_scores`;
  const scaleName = `blocks.${L}.ln1.hook_scale`;
  const residName = `blocks.${L}.hook_resid_pre`;
  const qInputName = `blocks.${L}.hook_q_input`;
  const toks = dataset.toks;
  const diff = (scores: Tensor): Tensor => {
    const rows = atPositions(scores.get(":", H), r.end, what); // [batch, key]
    return rows.get(arange(r.batch), idx(r.IO)).sub(rows.get(arange(r.batch), idx(S1)));
  };
  const flipped = dataset.genFlippedPrompts(flip);
  if (flipped.toks.shape[1] !== toks.shape[1]) {
    throw new ShapeError(
      `${what}: the flipped prompts have ${flipped.toks.shape[1]} positions, the clean ones ${toks.shape[1]}`,
    );
  }
  const prevSplit = model.cfg.useSplitQkvInput;
  model.setUseSplitQkvInput(true);
  try {
    // every run stops after block L: nothing later (least of all the unembedding) is needed
    const stop = { returnType: null, stopAtLayer: L + 1 } as const;
    const [, clean] = await model.runWithCache(toks, {
      ...stop,
      namesFilter: [scoresName, ...(model.cfg.normalizationType ? [scaleName] : [])],
    });
    const [, flippedCache] = await model.runWithCache(flipped.toks, { ...stop, namesFilter: [residName] });
    const flippedResid = flippedCache.get(residName); // [batch, pos, d_model]
    const cleanScale = model.cfg.normalizationType ? clean.get(scaleName) : null;
    const freezeHook: HookFn = (scale) =>
      cleanScale!.shape.length === scale.shape.length ? cleanScale! : cleanScale!.expand(scale.shape);
    const patchHook: HookFn = (qIn) => {
      const out = qIn.clone();
      out.set([":", ":", H], flippedResid);
      return out;
    };
    const W_U_IO = model.W_U.mT.get(idx(needTokens(r.ioTokens, "IO", what)));
    const W_U_S1 = model.W_U.mT.get(idx(needTokens(r.s1Tokens, "S1", what)));
    const projectHook: HookFn = (qIn) => {
      const out = qIn.clone();
      const rows = [arange(r.batch), idx(r.end), Tensor.fromTypedArray(new Int32Array(r.batch).fill(H), [r.batch])];
      out.set(rows, project(qIn.get(...rows), [W_U_IO, W_U_S1]).parallel);
      return out;
    };
    const run = async (qHook: HookFn): Promise<Tensor> => {
      const hooks: [string, HookFn][] = [[qInputName, qHook]];
      if (freeze && cleanScale) hooks.push([scaleName, freezeHook]);
      let scores: Tensor | null = null;
      hooks.push([
        scoresName,
        (s) => {
          scores = s;
        },
      ]);
      await model.runWithHooks(toks, { ...stop, fwdHooks: hooks });
      return diff(scores!);
    };
    const cleanDiff = diff(clean.get(scoresName));
    const patched = await run(patchHook);
    const projected = await run(projectHook);
    const meanOf = (t: Tensor): number => t.mean().item();
    return {
      clean: meanOf(cleanDiff),
      patched: meanOf(patched),
      projected: meanOf(projected),
      perRow: { clean: cleanDiff, patched, projected },
      flippedDataset: flipped,
    };
  } finally {
    model.setUseSplitQkvInput(prevSplit);
  }
}
