// decomposeAttnScores: one head's score split by the residual-stream components of one side, the other side fixed.
import { AnalysisError } from "../../errors.js";
import type { ActivationCache, HookedTransformer } from "../../model/index.js";
import { arange, stack, Tensor, zeros } from "../../tensor/index.js";
import { project } from "../projection.js";
import { type AttnHeadTarget, type Resolved, atPositions, idx, needS1, needTokens, resolveTarget } from "./targets.js";
import { foldedQK, type HeadWeights, keyAt, lnNormalize, normalizedInputAt, queryAt } from "./head-inputs.js";
import { type LinearScoreFunction, mapOfKey, mapOfQuery } from "./linear-scores.js";
import { BIAS, attnDecompositionLabels, normalizedComponentsAt } from "./components.js";
import { getEffectiveEmbedding } from "./effective-embedding.js";

export type QueryIntervention = "sub_W_U_IO" | "project_to_W_U_IO" | null;
export type KeyIntervention = "sub_MLP0" | "project_to_MLP0" | null;

export interface DecomposeAttnScoresOptions extends AttnHeadTarget {
  /** Which side is decomposed into components; the other side is held fixed (a linear map). */
  decomposeBy: "keys" | "queries";
  /** Keys: replace the fixed query by normalised W_U[IO] ("sub_W_U_IO"), or split it into its parts ∥ and ⟂ W_U[IO]
   *  ("project_to_W_U_IO": two linear maps, b_Q in the ⟂ one). Queries: "project_to_W_U_IO" splits every query-side
   *  component ∥/⟂ W_U[IO]. */
  interveneOnQuery?: QueryIntervention;
  /** Queries: replace the fixed key by normalised MLP0 output at IO ("sub_MLP0"), or split it ∥/⟂ MLP0's output
   *  ("project_to_MLP0", b_K in ⟂). Keys: "project_to_MLP0" splits every key-side component ∥/⟂ MLP0's output at
   *  its position (IO, and S1 for the baseline). */
  interveneOnKey?: KeyIntervention;
  /** Keys: each component at IO minus the same at S1 (the bias term cancels). Queries: the fixed key is k_IO − k_S1.
   *  Either way the contributions sum to score(end→IO) − score(end→S1). */
  subtractS1AttnScores?: boolean;
  /** The MLP0 direction is the effective embedding of the IO (S1) token instead of MLP0's actual output. */
  useEffectiveEmbedding?: boolean;
  /** The MLP0 direction also includes layer 0's attention (attn_out of layer 0, or W_EE − W_E). */
  useLayer0Heads?: boolean;
  /** Project queries onto the plane of W_U[IO] and W_U[S1] instead of W_U[IO] alone. */
  includeS1InUnembedProjection?: boolean;
}

export interface AttnScoreDecomposition {
  decomposeBy: "keys" | "queries";
  /** Component labels (length C): W_E, W_pos, b_K|b_Q, b_O, L0H0.., MLP0, ... */
  labels: string[];
  /** Facets of the fixed side's linear map: ["unchanged"], ["IO_sub"], ["IO_dir", "IO_perp"] (keys) or ["MLP0_sub"],
   *  ["MLP0_dir", "MLP0_perp"] (queries) */
  fixedFacets: string[];
  /** Facets of the decomposed components: ["unchanged"], or ["MLP0_dir", "MLP0_perp"] (keys) / ["IO_dir", "IO_perp"] (queries) */
  decomposedFacets: string[];
  /** `[fixedFacet, decomposedFacet, C, batch]`: each component's contribution to each row's score */
  contributions: Tensor;
  /** `[fixedFacet, decomposedFacet, C]`: mean over the batch (the notebooks' heatmap values) */
  mean: Tensor;
  /** `[fixedFacet, decomposedFacet, 1 + layer, max(n_heads + 1, 4)]`: the notebooks' heatmap layout — row 0 holds W_E,
   *  W_pos, the bias, b_O; row 1 + l holds layer l's heads then MLP l */
  grid: Tensor;
  /** `[batch]`: Σ of every contribution. Without a "sub_" intervention this is the head's actual score end→IO (or the
   *  IO − S1 difference), up to float rounding */
  total: Tensor;
  /** `[batch]`: the cached score end→IO (− end→S1 with subtractS1AttnScores), when the cache holds hook_attn_scores */
  actual: Tensor | null;
  /** Look up the facet pair, e.g. `get("IO_dir", "MLP0_dir")` → [C] means (either order). */
  get(facetA: string, facetB?: string): Tensor;
}

/** The MLP0 direction(s) for the key-side projections: [batch, d_model] at IO and at S1. */
export async function mlp0Directions(
  model: HookedTransformer,
  cache: ActivationCache,
  r: Resolved,
  opts: { useEffectiveEmbedding?: boolean; useLayer0Heads?: boolean },
  what: string,
): Promise<{ IO: Tensor; S1: Tensor | null }> {
  if (opts.useEffectiveEmbedding) {
    const io = needTokens(r.ioTokens, "IO", what);
    const s1 = r.s1Tokens;
    const ee = await getEffectiveEmbedding(model, { tokens: s1 ? [...io, ...s1] : io });
    const dirs = opts.useLayer0Heads ? ee.W_EE.sub(ee.W_E) : ee.W_EE_subE;
    return { IO: dirs.narrow(0, 0, r.batch), S1: s1 ? dirs.narrow(0, r.batch, r.batch) : null };
  }
  const at = (pos: readonly number[]): Tensor => {
    let v = atPositions(cache.get("blocks.0.hook_mlp_out"), pos, what);
    if (opts.useLayer0Heads) v = v.add(atPositions(cache.get("blocks.0.hook_attn_out"), pos, what));
    return v;
  };
  return { IO: at(r.IO), S1: r.S1 ? at(r.S1) : null };
}

export function unembedDirections(model: HookedTransformer, r: Resolved, withS1: boolean, what: string): Tensor[] {
  const WU = model.W_U.mT; // [d_vocab, d_model]
  const dirs = [WU.get(idx(needTokens(r.ioTokens, "IO", what)))];
  if (withS1) dirs.push(WU.get(idx(needTokens(r.s1Tokens, "S1", what))));
  return dirs;
}

export function splitAlong(v: Tensor, dirs: Tensor | Tensor[]): [Tensor, Tensor] {
  const p = project(v, Array.isArray(dirs) ? dirs : [dirs]);
  return [p.parallel, p.perp];
}

/**
 * Decomposes the head's score end→IO (TL's `decompose_attn_scores` of seed 000 / 001) into one term per residual
 * component on one side, the other side held fixed, optionally split ∥/⟂ a direction on either side (the four-way
 * split: q ∥/⟂ W_U[IO] × k ∥/⟂ MLP0). Contributions are exact: they sum to the score (see `total`, `actual`).
 *
 * The cache must hold, for the head's layer L: `hook_embed`, `hook_pos_embed`, `hook_z` (or `hook_result`) and
 * `hook_mlp_out` of the layers before L, `blocks.L.hook_resid_pre`, `blocks.L.ln1.hook_scale`, `hook_q`/`hook_k` of
 * L (and `blocks.0.hook_attn_out` with useLayer0Heads); `copySuppressionHookNames(model, L)` lists them.
 *
 * Deliberate differences from the original: components are centred and divided by ln1's cached scale (the original
 * divides by an unbiased std), so ∥ + ⟂ and the components add up exactly; the summed b_O of earlier layers is its
 * own component (the original drops it); "sub_MLP0" replaces the key at IO (the original wrote it at `end`, where
 * it had no effect) and works with subtractS1AttnScores.
 */
export async function decomposeAttnScores(
  model: HookedTransformer,
  cache: ActivationCache,
  opts: DecomposeAttnScoresOptions,
): Promise<AttnScoreDecomposition> {
  const what = "decomposeAttnScores";
  const r = resolveTarget(model, opts, what);
  const by = opts.decomposeBy;
  if (by !== "keys" && by !== "queries")
    throw new AnalysisError(`${what}: decomposeBy must be "keys" or "queries", got ${String(by)}`);
  const sub = opts.subtractS1AttnScores ?? false;
  const qInt = opts.interveneOnQuery ?? null;
  const kInt = opts.interveneOnKey ?? null;
  if (by === "keys" && kInt === "sub_MLP0")
    throw new AnalysisError(
      `${what}: decomposing by keys, interveneOnKey can only be "project_to_MLP0" (the keys are the decomposed side)`,
    );
  if (by === "queries" && qInt === "sub_W_U_IO")
    throw new AnalysisError(
      `${what}: decomposing by queries, interveneOnQuery can only be "project_to_W_U_IO" (the queries are the decomposed side)`,
    );
  const mlp0 = kInt !== null ? await mlp0Directions(model, cache, r, opts, what) : null;
  if (mlp0 && sub && !mlp0.S1)
    throw new AnalysisError(`${what}: needs the S1 positions/tokens for the baseline's MLP0 direction`);
  const d: Decomposition = {
    model,
    cache,
    r,
    what,
    sub,
    qInt,
    kInt,
    mlp0,
    S1: sub ? needS1(r, what) : r.S1,
    w: foldedQK(model, r.layer, r.head),
    withS1Unembed: opts.includeS1InUnembedProjection ?? false,
  };
  const fixed = by === "keys" ? fixedQueries(d) : fixedKeys(d);
  const decomposed = by === "keys" ? decomposedKeys(d) : decomposedQueries(d);
  return assemble(d, by, fixed, decomposed);
}

/** What the stages of decomposeAttnScores share. */
interface Decomposition {
  model: HookedTransformer;
  cache: ActivationCache;
  r: Resolved;
  what: string;
  /** subtract the baseline key S1's score */
  sub: boolean;
  S1: number[] | null;
  qInt: QueryIntervention;
  kInt: KeyIntervention;
  w: HeadWeights;
  withS1Unembed: boolean;
  /** MLP0 directions [batch, d_model] at IO and S1 (key interventions only) */
  mlp0: { IO: Tensor; S1: Tensor | null } | null;
}

/** One side: a list of tensors (linear maps, or normalised components) and their facet names. */
interface Facets<T> {
  items: T[];
  facets: string[];
}

/** Decomposing by keys, the fixed query side: one linear map per facet. */
function fixedQueries(d: Decomposition): Facets<LinearScoreFunction> {
  const { model, cache, r, w, what } = d;
  let qs: Tensor[];
  let facets: string[];
  if (d.qInt === "sub_W_U_IO") {
    const u = lnNormalize(model, unembedDirections(model, r, false, what)[0]!);
    qs = [u.matmul(w.W_Q).add(w.b_Q)];
    facets = ["IO_sub"];
  } else if (d.qInt === "project_to_W_U_IO") {
    const u = normalizedInputAt(model, cache, r.layer, r.head, r.end, what);
    const [par, perp] = splitAlong(u, unembedDirections(model, r, d.withS1Unembed, what));
    qs = [par.matmul(w.W_Q), perp.matmul(w.W_Q).add(w.b_Q)];
    facets = ["IO_dir", "IO_perp"];
  } else {
    qs = [queryAt(cache, r, r.end, what)];
    facets = ["unchanged"];
  }
  return { items: qs.map((q) => mapOfQuery(w, q, d.sub)), facets };
}

/** Decomposing by queries, the fixed key side (minus the S1 key when subtracting): one linear map per facet. */
function fixedKeys(d: Decomposition): Facets<LinearScoreFunction> {
  const { model, cache, r, w, what, sub, S1, mlp0 } = d;
  const keyFrom = (u: Tensor, withBias: boolean): Tensor => (withBias ? u.matmul(w.W_K).add(w.b_K) : u.matmul(w.W_K));
  let ks: Tensor[];
  let facets: string[];
  if (d.kInt === "sub_MLP0") {
    ks = [keyFrom(lnNormalize(model, mlp0!.IO), true)];
    if (sub) ks = [ks[0]!.sub(keyFrom(lnNormalize(model, mlp0!.S1!), true))];
    facets = ["MLP0_sub"];
  } else if (d.kInt === "project_to_MLP0") {
    const [par, perp] = splitAlong(normalizedInputAt(model, cache, r.layer, r.head, r.IO, what), mlp0!.IO);
    ks = [keyFrom(par, false), keyFrom(perp, true)];
    if (sub) {
      const [parS, perpS] = splitAlong(normalizedInputAt(model, cache, r.layer, r.head, S1!, what), mlp0!.S1!);
      ks = [ks[0]!.sub(keyFrom(parS, false)), ks[1]!.sub(keyFrom(perpS, true))];
    }
    facets = ["MLP0_dir", "MLP0_perp"];
  } else {
    let k = keyAt(model, cache, r, r.IO, what);
    if (sub) k = k.sub(keyAt(model, cache, r, S1!, what));
    ks = [k];
    facets = ["unchanged"];
  }
  return { items: ks.map((k) => mapOfKey(w, k)), facets };
}

/** The decomposed key side: normalised components [C, batch, d_model] per facet (IO minus S1 when subtracting). */
function decomposedKeys(d: Decomposition): Facets<Tensor> {
  const { model, cache, r, what, mlp0 } = d;
  const vIO = normalizedComponentsAt(model, cache, r, r.IO, what);
  const vS1 = d.sub ? normalizedComponentsAt(model, cache, r, d.S1!, what) : null;
  if (d.kInt !== "project_to_MLP0") return { items: [vS1 ? vIO.sub(vS1) : vIO], facets: ["unchanged"] };
  const [par, perp] = splitAlong(vIO, mlp0!.IO);
  if (!vS1) return { items: [par, perp], facets: ["MLP0_dir", "MLP0_perp"] };
  const [parS, perpS] = splitAlong(vS1, mlp0!.S1!);
  return { items: [par.sub(parS), perp.sub(perpS)], facets: ["MLP0_dir", "MLP0_perp"] };
}

/** The decomposed query side: normalised components [C, batch, d_model] at `end` per facet. */
function decomposedQueries(d: Decomposition): Facets<Tensor> {
  const vEnd = normalizedComponentsAt(d.model, d.cache, d.r, d.r.end, d.what);
  if (d.qInt !== "project_to_W_U_IO") return { items: [vEnd], facets: ["unchanged"] };
  return {
    items: splitAlong(vEnd, unembedDirections(d.model, d.r, d.withS1Unembed, d.what)),
    facets: ["IO_dir", "IO_perp"],
  };
}

/** Contributions [F, G, C, batch] of every fixed facet × decomposed facet, their means and the checks. */
function assemble(
  d: Decomposition,
  by: "keys" | "queries",
  fixed: Facets<LinearScoreFunction>,
  decomposed: Facets<Tensor>,
): AttnScoreDecomposition {
  const { model, cache, r, what } = d;
  const F = fixed.items.length;
  const G = decomposed.items.length;
  const perFacet: Tensor[] = [];
  for (const m of fixed.items) {
    for (let g = 0; g < G; g++) {
      const c = decomposed.items[g]!.mul(m.linearMap.unsqueeze(0)).sum(-1); // [C, batch]
      if (g === G - 1) c.set([BIAS], m.bias); // the bias term always goes with the ⟂ (or only) part
      perFacet.push(c);
    }
  }
  const C = perFacet[0]!.shape[0]!;
  const contributions = stack(perFacet).reshape(F, G, C, r.batch);
  const mean = contributions.mean(-1);
  let actual: Tensor | null = null;
  const scoresName = `blocks.${r.layer}.attn.hook_attn_scores`;
  if (cache.has(scoresName)) {
    const rows = atPositions(cache.get(scoresName).get(":", r.head), r.end, what); // [batch, key]
    actual = rows.get(arange(r.batch), idx(r.IO));
    if (d.sub) actual = actual.sub(rows.get(arange(r.batch), idx(d.S1!)));
  }
  const [fixedFacets, decomposedFacets] = [fixed.facets, decomposed.facets];
  return {
    decomposeBy: by,
    labels: attnDecompositionLabels(model, r.layer, by),
    fixedFacets,
    decomposedFacets,
    contributions,
    mean,
    grid: toGrid(model, r.layer, mean),
    total: contributions.sum([0, 1, 2]),
    actual,
    get(a: string, b?: string): Tensor {
      for (let f = 0; f < F; f++) {
        for (let g = 0; g < G; g++) {
          const pair = [fixedFacets[f], decomposedFacets[g]];
          if (
            b === undefined
              ? (F === 1 && pair[1] === a) || (G === 1 && pair[0] === a)
              : (pair[0] === a && pair[1] === b) || (pair[0] === b && pair[1] === a)
          ) {
            return mean.get(f, g);
          }
        }
      }
      throw new AnalysisError(
        `decomposeAttnScores: no facet pair (${a}${b ? `, ${b}` : ""}); the facets are ${fixedFacets.join("/")} × ${decomposedFacets.join("/")}`,
      );
    },
  };
}

/** [..., C] in label order → [..., 1 + layer, max(n_heads + 1, 4)] (the notebooks' heatmap). */
function toGrid(model: HookedTransformer, layer: number, flat: Tensor): Tensor {
  const H = model.cfg.nHeads;
  const width = Math.max(H + 1, 4);
  const lead = flat.shape.slice(0, -1);
  const grid = zeros([...lead, 1 + layer, width]);
  const src = (c: number): Tensor => flat.get("...", c);
  for (let c = 0; c < 4; c++) grid.set(["...", 0, c], src(c));
  let c = 4;
  for (let l = 0; l < layer; l++) {
    for (let h = 0; h < H; h++) grid.set(["...", 1 + l, h], src(c++));
    if (!model.cfg.attnOnly) grid.set(["...", 1 + l, H], src(c++));
  }
  return grid;
}

/** The hook names decomposeAttnScores / decomposeAttnScoresFull read for a head in `layer` (a namesFilter). */
export function copySuppressionHookNames(model: HookedTransformer, layer: number): string[] {
  const names = ["hook_embed", "hook_pos_embed"];
  for (let l = 0; l < layer; l++) {
    names.push(`blocks.${l}.attn.hook_z`);
    if (model.cfg.useAttnResult) names.push(`blocks.${l}.attn.hook_result`);
    if (!model.cfg.attnOnly) names.push(`blocks.${l}.hook_mlp_out`);
  }
  names.push(
    "blocks.0.hook_attn_out",
    `blocks.${layer}.hook_resid_pre`,
    `blocks.${layer}.attn.hook_q`,
    `blocks.${layer}.attn.hook_k`,
    `blocks.${layer}.attn.hook_attn_scores`,
  );
  if (model.cfg.normalizationType) names.push(`blocks.${layer}.ln1.hook_scale`);
  return names;
}
