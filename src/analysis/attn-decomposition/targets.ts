// Which head, which positions, which tokens: an attention-decomposition target resolved against the model.
import { AnalysisError, ShapeError } from "../../errors.js";
import type { HookedTransformer } from "../../model/index.js";
import { arange, Tensor } from "../../tensor/index.js";
import type { IOIDataset } from "../../datasets/index.js";

/** Per-row positions (IOI's word_idx): the query position `end`, the key `IO` and the baseline key `S1`. */
export interface IOIPositions {
  end: readonly number[];
  IO: readonly number[];
  S1: readonly number[];
}

/** Per-row token ids whose unembeddings / embeddings the analysis uses (IOI's io_tokenIDs and s_tokenIDs). */
export interface IOITokens {
  IO: readonly number[];
  S1: readonly number[];
}

export interface AttnHeadTarget {
  /** [layer, head] of the head whose scores are studied (e.g. [10, 7], the negative name mover of GPT-2 small). */
  head: readonly [number, number];
  /** Positions and tokens from an IOI dataset (its wordIdx, ioTokenIDs and sTokenIDs); the cache must be of its toks. */
  dataset?: IOIDataset;
  /** Explicit positions (override the dataset's). */
  positions?: Partial<IOIPositions>;
  /** Explicit tokens (override the dataset's). */
  tokens?: Partial<IOITokens>;
}

export interface Resolved {
  layer: number;
  head: number;
  batch: number;
  rows: Tensor;
  end: number[];
  IO: number[];
  S1: number[] | null;
  ioTokens: number[] | null;
  s1Tokens: number[] | null;
}

export function resolveTarget(model: HookedTransformer, target: AttnHeadTarget, what: string): Resolved {
  const cfg = model.cfg;
  if (cfg.positionalEmbeddingType !== "standard") {
    throw new AnalysisError(
      `${what}: only models with standard (additive) positional embeddings are supported; this one is "${cfg.positionalEmbeddingType}" (the score is no longer a sum over residual components)`,
    );
  }
  const [layer, head] = target.head;
  if (!Number.isInteger(layer) || layer < 0 || layer >= cfg.nLayers)
    throw new AnalysisError(`${what}: layer ${layer} is out of range (0..${cfg.nLayers - 1})`);
  if (!Number.isInteger(head) || head < 0 || head >= cfg.nHeads)
    throw new AnalysisError(`${what}: head ${head} is out of range (0..${cfg.nHeads - 1})`);
  const ds = target.dataset;
  const pick = (key: keyof IOIPositions): number[] | null => {
    const given = target.positions?.[key] ?? ds?.wordIdx[key];
    return given ? [...given] : null;
  };
  const end = pick("end");
  const IO = pick("IO");
  if (!end || !IO)
    throw new AnalysisError(`${what}: give the positions (a dataset, or positions.end and positions.IO)`);
  const S1 = pick("S1");
  const batch = end.length;
  for (const [name, p] of [
    ["IO", IO],
    ["S1", S1],
  ] as const) {
    if (p && p.length !== batch)
      throw new ShapeError(`${what}: positions.${name} has ${p.length} rows, positions.end ${batch}`);
  }
  const ioTokens = target.tokens?.IO ?? ds?.ioTokenIDs ?? null;
  const s1Tokens = target.tokens?.S1 ?? ds?.sTokenIDs ?? null;
  for (const [name, t] of [
    ["IO", ioTokens],
    ["S1", s1Tokens],
  ] as const) {
    if (t && t.length !== batch)
      throw new ShapeError(`${what}: tokens.${name} has ${t.length} rows, the positions ${batch}`);
  }
  return {
    layer,
    head,
    batch,
    rows: arange(batch),
    end,
    IO,
    S1,
    ioTokens: ioTokens ? [...ioTokens] : null,
    s1Tokens: s1Tokens ? [...s1Tokens] : null,
  };
}

export const idx = (xs: readonly number[]): Tensor => Tensor.fromTypedArray(Int32Array.from(xs), [xs.length]);

/** t [batch, pos, ...rest] → [batch, ...rest]: row b at position pos[b]. */
export function atPositions(t: Tensor, pos: readonly number[], what: string): Tensor {
  if (t.shape[0] !== pos.length) {
    throw new ShapeError(
      `${what}: the cached activation has batch ${t.shape[0]}, but ${pos.length} positions were given (one per row)`,
    );
  }
  return t.get(arange(pos.length), idx(pos));
}

export function needS1(r: Resolved, what: string): number[] {
  if (!r.S1) throw new AnalysisError(`${what}: needs the baseline positions (a dataset, or positions.S1)`);
  return r.S1;
}

export function needTokens(tokens: number[] | null, which: string, what: string): number[] {
  if (!tokens) throw new AnalysisError(`${what}: needs the ${which} token ids (a dataset, or tokens.${which})`);
  return tokens;
}
