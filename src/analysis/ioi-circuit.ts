// IOI-specific circuit tools: per-head direct logit attribution at the end position, the backup-name-mover
// experiment (ablate a head, re-run, compare every head's DLA) of seed 002, and attention views. (The IOI metric is
// analysis/ioi/metric.ts.)
import { AnalysisError } from "../errors.js";
import { arange, stack, Tensor } from "../tensor/index.js";
import type { HookedTransformer } from "../model/hooked-transformer.js";
import type { ActivationCache } from "../model/activation-cache.js";
import type { HookFn } from "../model/hook-point.js";
import type { IOIDataset } from "../datasets/ioi.js";
import { resolvePositions, type Head, type PositionSpec } from "./path-patching.js";

function int32(values: readonly number[]): Tensor {
  return Tensor.fromTypedArray(Int32Array.from(values), [values.length]);
}

// ---------------------------------------------------------------------------------------------------------------
// direct logit attribution of every head at `end`

export interface HeadDla {
  /** Mean over prompts of each head's direct contribution to logit[IO] − logit[S] at end: [layer, head]. */
  perHead: Tensor;
  /** Per prompt: [layer, head, batch]. */
  perHeadPerPrompt: Tensor;
  /** Everything else in the final stream (embeddings, MLPs, attention biases), mean over prompts. */
  rest: number;
  /** b_U[IO] − b_U[S], mean over prompts. */
  unembedBias: number;
  /** The mean logit difference: Σ perHead + rest + unembedBias (exact on a folded model). */
  logitDiff: number;
  /** ln_final's scale at end, per prompt [batch] (the cache's). */
  lnScale: Tensor;
}

/** Gathers t [batch, pos, ...] at (b, positions[b]) → [batch, ...]. */
function atRows(t: Tensor, positions: readonly number[]): Tensor {
  return t.get(arange(0, positions.length, 1, "int32"), int32(positions));
}

/**
 * Each head's direct logit attribution to the IO − S logit difference at each prompt's `end` (seed 002's
 * `residual_stack_to_logit_diff(stack_head_results(...))`, with the end position of every prompt rather than −1):
 * z·W_O of the head, centred (for LayerNorm) and divided by the cached final-norm scale, dotted with
 * W_U[:, IO] − W_U[:, S]. The cache needs every hook_z and the last resid_post (and uses ln_final.hook_scale when it has it).
 */
export function ioiHeadDla(model: HookedTransformer, cache: ActivationCache, dataset: IOIDataset): HeadDla {
  const N = dataset.N;
  const end = dataset.wordIdx.end!.slice(0, N);
  const L = model.cfg.nLayers;
  const io = int32(dataset.ioTokenIDs);
  const s = int32(dataset.sTokenIDs);
  const dir = model.W_U.get(":", io).sub(model.W_U.get(":", s)).transpose(0, 1); // [batch, d_model]
  const centre = model.cfg.normalizationType === "LN" || model.cfg.normalizationType === "LNPre";
  const final = atRows(cache.get(`blocks.${L - 1}.hook_resid_post`), end); // [batch, d_model]
  let scale: Tensor | null = null;
  if (cache.has("ln_final.hook_scale")) scale = atRows(cache.get("ln_final.hook_scale"), end).reshape(N);
  else if (model.lnFinal) {
    // the final norm's scale, sqrt(var + eps) (LayerNorm) or sqrt(mean square + eps) (RMS), as hook_scale holds it
    const x = centre ? final.sub(final.mean(-1, true)) : final;
    scale = x.mul(x).mean(-1).add(model.cfg.eps).sqrt();
  }
  const project = (x: Tensor): Tensor => {
    // [..., batch, d_model] → [..., batch]
    let y = centre ? x.sub(x.mean(-1, true)) : x;
    if (scale) y = y.div(scale.unsqueeze(-1));
    return y.mul(dir).sum(-1);
  };
  const layers: Tensor[] = [];
  for (let l = 0; l < L; l++) {
    const zl = atRows(cache.get(`blocks.${l}.attn.hook_z`), end); // [batch, head, d_head]
    // [head, batch, d_head] @ [head, d_head, d_model] → [head, batch, d_model]
    const res = zl.permute(1, 0, 2).matmul(model.blocks[l]!.attn.W_O);
    layers.push(project(res)); // [head, batch]
  }
  const perHeadPerPrompt = stack(layers); // [layer, head, batch]
  const total = project(final); // [batch]
  const restPerPrompt = total.sub(perHeadPerPrompt.sum([0, 1]));
  const bias = model.b_U.get(io).sub(model.b_U.get(s));
  const mean = (t: Tensor): number => t.to("float64").mean().item();
  const perHead = perHeadPerPrompt.to("float64").mean(-1).to("float32");
  const rest = mean(restPerPrompt);
  const unembedBias = mean(bias);
  return {
    perHead,
    perHeadPerPrompt,
    rest,
    unembedBias,
    logitDiff: mean(total) + unembedBias,
    lnScale: scale ?? Tensor.fromTypedArray(new Float32Array(N).fill(1), [N]),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// backup name movers

export interface BackupNameMoverOptions {
  /** Heads to ablate (default: the head with the largest DLA — the top name mover). */
  ablate?: readonly Head[];
  /** "zero" (seed 002) or "mean" (the head's mean output over the dataset, per position). Default "zero". */
  ablation?: "zero" | "mean";
  /** Where the heads are ablated (default "end"; seed 002 zeroes position −1, which is `end` for unpadded prompts). */
  positions?: PositionSpec;
  /** A cache of the clean run (every hook_z and the last resid_post); computed when absent. */
  cache?: ActivationCache;
}

export interface BackupNameMoverResult {
  ablated: Head[];
  /** DLA before and after the ablation, and after − before: [layer, head] each (means over prompts). */
  clean: HeadDla;
  afterAblation: HeadDla;
  change: Tensor;
  /** What the naive reading predicts: clean logit diff − the ablated heads' clean DLA. */
  naivePrediction: number;
  /** mean over prompts of clean ln_final scale / ablated scale (seed 002 "Average LN scaling ratio"). */
  lnScaleRatio: number;
}

/**
 * Seed 002's backup-name-mover experiment: ablate the top name mover(s) at `end`, re-run, and compare every head's
 * direct logit attribution before and after. Heads whose DLA grows are backup name movers; negative name movers
 * typically get less negative. Also reports the naive prediction and the final LayerNorm scaling ratio.
 */
export async function backupNameMoverAnalysis(
  model: HookedTransformer,
  dataset: IOIDataset,
  opts: BackupNameMoverOptions = {},
): Promise<BackupNameMoverResult> {
  const L = model.cfg.nLayers;
  const H = model.cfg.nHeads;
  const needed = (n: string): boolean => n.endsWith("attn.hook_z") || n === `blocks.${L - 1}.hook_resid_post`;
  const cache = opts.cache ?? (await model.runWithCache(dataset.toks, { namesFilter: needed, stopAtLayer: L }))[1];
  const clean = ioiHeadDla(model, cache, dataset);
  let ablate: Head[];
  if (opts.ablate) ablate = [...opts.ablate];
  else {
    const flat = Array.from(clean.perHead.dataSync());
    const best = flat.indexOf(Math.max(...flat));
    ablate = [[Math.floor(best / H), best % H]];
  }
  const [batch, seqLen] = dataset.toks.shape as [number, number];
  const rowsPos = resolvePositions(
    opts.positions ?? "end",
    batch,
    seqLen,
    dataset,
    "backupNameMoverAnalysis positions",
  );
  const rows = int32(rowsPos.flatMap((r, b) => r.map(() => b)));
  const pos = int32(rowsPos.flat());
  const hooks: [string, HookFn][] = [];
  for (const [l, h] of ablate) {
    if (!(l >= 0 && l < L && h >= 0 && h < H))
      throw new AnalysisError(`backupNameMoverAnalysis: head [${l}, ${h}] does not exist`);
    const meanZ = opts.ablation === "mean" ? cache.get(`blocks.${l}.attn.hook_z`).get(":", ":", h).mean(0) : null; // [pos, d_head]
    hooks.push([
      `blocks.${l}.attn.hook_z`,
      (zAct) => {
        if (meanZ) zAct.set([rows, pos, h], meanZ.get(pos));
        else zAct.set([rows, pos, h], 0);
      },
    ]);
  }
  const [, ablatedCache] = await model.withHooks(hooks, () =>
    model.runWithCache(dataset.toks, { namesFilter: needed, stopAtLayer: L }),
  );
  const afterAblation = ioiHeadDla(model, ablatedCache, dataset);
  const naivePrediction = clean.logitDiff - ablate.reduce((a, [l, h]) => a + clean.perHead.get(l, h).item(), 0);
  const lnScaleRatio = clean.lnScale.div(afterAblation.lnScale).to("float64").mean().item();
  return {
    ablated: ablate,
    clean,
    afterAblation,
    change: afterAblation.perHead.sub(clean.perHead),
    naivePrediction,
    lnScaleRatio,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// attention views

/**
 * Value-weighted attention (Kobayashi et al. 2020; seed 002's `show_attention_patterns(mode="val")`): the pattern
 * times the norm of each source position's value vector, α[q, k]·‖v_k‖. From a cache with the layer's hook_pattern
 * and hook_v. Result [batch, head, query_pos, key_pos] (or [batch, query_pos, key_pos] for one head).
 */
export function valueWeightedPattern(cache: ActivationCache, layer: number, head?: number): Tensor {
  const pattern = cache.get(`blocks.${layer}.attn.hook_pattern`); // [batch, head, q, k]
  let v = cache.get(`blocks.${layer}.attn.hook_v`); // [batch, k, kv_head, d_head]
  const H = pattern.shape[1]!;
  if (v.shape[2] !== H) {
    // grouped-query attention: each key/value head serves H / n_kv query heads
    const rep = H / v.shape[2]!;
    v = v.get(
      ":",
      ":",
      Tensor.fromTypedArray(
        Int32Array.from({ length: H }, (_, h) => Math.floor(h / rep)),
        [H],
      ),
    );
  }
  const norms = v.norm(-1).permute(0, 2, 1).unsqueeze(2); // [batch, head, 1, k]
  const weighted = pattern.mul(norms);
  return head === undefined ? weighted : weighted.get(":", head);
}

export interface AttentionVsProjection {
  /** Attention probability from end to IO / to S1, per prompt. */
  attnToIO: number[];
  attnToS: number[];
  /** The head's output at end (z·W_O) dotted with W_U[:, IO] / W_U[:, S], per prompt. */
  projectionIO: number[];
  projectionS: number[];
}

/**
 * The data of the IOI paper's Figure 3(c) (seed 002 `calculate_and_show_scatter_embedding_vs_attn`): for one head,
 * the attention probability from `end` to the IO (and S1) token against the projection of the head's output at
 * `end` on the IO (and S) unembedding. Name movers lie on a rising line, negative name movers on a falling one.
 * The cache needs the layer's hook_z and hook_pattern.
 */
export function attentionVsProjection(
  model: HookedTransformer,
  cache: ActivationCache,
  dataset: IOIDataset,
  layer: number,
  head: number,
): AttentionVsProjection {
  const N = dataset.N;
  const rows = arange(0, N, 1, "int32");
  const end = int32(dataset.wordIdx.end!.slice(0, N));
  const zh = cache.get(`blocks.${layer}.attn.hook_z`).get(rows, end, head); // [batch, d_head]
  const out = zh.matmul(model.blocks[layer]!.attn.W_O.get(head)); // [batch, d_model]
  const WU = model.W_U.transpose(0, 1); // [vocab, d_model]
  const proj = (ids: number[]): number[] =>
    Array.from(
      out
        .mul(WU.get(int32(ids)))
        .sum(-1)
        .dataSync(),
    );
  const pattern = cache.get(`blocks.${layer}.attn.hook_pattern`);
  const attn = (key: string): number[] =>
    Array.from(pattern.get(rows, head, end, int32(dataset.wordIdx[key]!.slice(0, N))).dataSync());
  return {
    attnToIO: attn("IO"),
    attnToS: attn("S1"),
    projectionIO: proj(dataset.ioTokenIDs.slice(0, N)),
    projectionS: proj(dataset.sTokenIDs.slice(0, N)),
  };
}

export interface AttentionToWords {
  head: Head;
  /** Per word of wordIdx (IO, S1, S2, end, ...): mean and (unbiased) std over prompts. */
  mean: Record<string, number>;
  std: Record<string, number>;
}

/**
 * The average attention of heads from one word (default `end`) to every word of the dataset (seed 002's "Attention of
 * NMs from END to various positions" bars): the probabilities (`mode: "pattern"`, default) or the raw scores
 * (`"scores"`, seed 002's `mode="scores"`). The cache needs each layer's hook_pattern (or hook_attn_scores).
 */
export function attentionToWords(
  cache: ActivationCache,
  dataset: IOIDataset,
  heads: readonly Head[],
  opts: { mode?: "pattern" | "scores"; from?: string; words?: readonly string[] } = {},
): AttentionToWords[] {
  const N = dataset.N;
  const rows = arange(0, N, 1, "int32");
  const from = int32(dataset.wordIdx[opts.from ?? "end"]?.slice(0, N) ?? []);
  if (from.shape[0] !== N) throw new AnalysisError(`attentionToWords: unknown word "${opts.from}"`);
  const words = opts.words ?? Object.keys(dataset.wordIdx);
  return heads.map(([l, h]) => {
    const t = cache.get(`blocks.${l}.attn.${opts.mode === "scores" ? "hook_attn_scores" : "hook_pattern"}`);
    const mean: Record<string, number> = {};
    const std: Record<string, number> = {};
    for (const w of words) {
      const idx = dataset.wordIdx[w];
      if (!idx) throw new AnalysisError(`attentionToWords: unknown word "${w}"`);
      const vals = Array.from(t.get(rows, h, from, int32(idx.slice(0, N))).dataSync());
      const m = vals.reduce((a, b) => a + b, 0) / vals.length;
      mean[w] = m;
      std[w] = Math.sqrt(vals.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, vals.length - 1));
    }
    return { head: [l, h] as Head, mean, std };
  });
}
