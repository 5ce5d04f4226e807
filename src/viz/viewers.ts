// CircuitsVis-style viewers as data: attention patterns of many heads, value-weighted patterns, coloured tokens and
// top-k tokens. Each returns a Viewer (plain JSON) that toHtml / display / savePng draw with tlens's inlined script.
import { Tensor } from "../tensor/index.js";
import { flatNumbers, shapeOf, to1D, toNested, VizError, type Values1D, type ValuesND } from "./data.js";
import type { Viewer } from "./types.js";
import { attachDisplay } from "./display.js";

export interface AttentionViewerOptions {
  /** The tokens of the sequence, as strings (`model.toStrTokens(...)`). */
  tokens: readonly string[];
  /** Attention [head, query_pos (dest), key_pos (src)], or one head [q, k]. A leading batch dim of 1 is dropped. */
  attention: ValuesND;
  /** One name per head (default "Head 0", ...); CircuitsVis's `attention_head_names`. */
  headNames?: readonly string[];
  /** Colour scale bounds (default: 0 … 1 for probabilities, else the data's range). */
  maxValue?: number;
  minValue?: number;
  title?: string;
  /** The values are value-weighted patterns (affects the default scale and the legend). */
  valueWeighted?: boolean;
}

function attentionProps(fn: string, o: AttentionViewerOptions): Record<string, unknown> {
  if (!o || !o.tokens || o.attention === undefined) throw new VizError(`${fn}: pass { tokens, attention }`);
  let shape = shapeOf(o.attention);
  let nested = toNested(o.attention) as unknown[];
  if (shape.length === 4 && shape[0] === 1) {
    nested = nested[0] as unknown[];
    shape = shape.slice(1);
  }
  if (shape.length === 2) {
    nested = [nested];
    shape = [1, ...shape];
  }
  if (shape.length !== 3)
    throw new VizError(
      `${fn}: attention must be [head, dest, src] (or [dest, src]); got shape [${shapeOf(o.attention)}]`,
    );
  const [H, q, k] = shape as [number, number, number];
  const n = o.tokens.length;
  if (q !== n || k !== n) throw new VizError(`${fn}: ${n} tokens but attention is [${H}, ${q}, ${k}]`);
  const names = o.headNames ? [...o.headNames].map(String) : Array.from({ length: H }, (_, h) => `Head ${h}`);
  if (names.length !== H) throw new VizError(`${fn}: ${names.length} headNames for ${H} heads`);
  const props: Record<string, unknown> = { tokens: o.tokens.map(String), attention: nested, headNames: names };
  if (o.maxValue !== undefined) props.maxValue = o.maxValue;
  if (o.minValue !== undefined) props.minValue = o.minValue;
  if (o.valueWeighted) props.valueWeighted = true;
  return props;
}

function viewer(kind: Viewer["tlensViewer"], props: Record<string, unknown>, title?: string): Viewer {
  const v: Viewer = { tlensViewer: kind, props };
  if (title !== undefined) v.title = title;
  return attachDisplay(v);
}

/**
 * CircuitsVis `attention_heads`: a thumbnail per head, a large pattern of the focused head (hover a cell for its
 * value) and the tokens (hover one to see what it attends to, or what attends to it). Hover a head to focus it, click
 * to lock.
 */
export function attentionHeads(opts: AttentionViewerOptions): Viewer {
  return viewer("attention-heads", attentionProps("attentionHeads", opts), opts.title);
}

/** CircuitsVis `attention_patterns`: head thumbnails and the tokens coloured by the focused head's attention. */
export function attentionPatterns(opts: AttentionViewerOptions): Viewer {
  return viewer("attention-patterns", attentionProps("attentionPatterns", opts), opts.title);
}

/** CircuitsVis `attention_pattern`: one head [dest, src]. */
export function attentionPattern(opts: Omit<AttentionViewerOptions, "headNames"> & { headName?: string }): Viewer {
  return viewer(
    "attention-heads",
    attentionProps("attentionPattern", { ...opts, headNames: [opts.headName ?? "Head"] }),
    opts.title,
  );
}

/**
 * Value-weighted attention (Kobayashi et al. 2020; seed 002's `show_attention_patterns(mode="val")`): α[h, q, k]·‖v[k, h]‖.
 * `pattern` [head, q, k] (or [batch=1, head, q, k]), `v` [k, head, d_head] (or [batch=1, k, head, d_head]; grouped-query
 * value heads are repeated). Returns [head, q, k].
 */
export function valueWeightedAttention(pattern: Tensor, v: Tensor): Tensor {
  const p = pattern.ndim === 4 ? pattern.get(0) : pattern;
  let vv = v.ndim === 4 ? v.get(0) : v;
  if (p.ndim !== 3 || vv.ndim !== 3)
    throw new VizError(
      `valueWeightedAttention: pattern [head, q, k] and v [k, head, d_head]; got [${pattern.shape}] and [${v.shape}]`,
    );
  const H = p.shape[0]!;
  if (vv.shape[1] !== H) {
    const rep = H / vv.shape[1]!;
    if (!Number.isInteger(rep))
      throw new VizError(`valueWeightedAttention: ${vv.shape[1]} value heads do not divide ${H} heads`);
    vv = vv.get(
      ":",
      Tensor.fromTypedArray(
        Int32Array.from({ length: H }, (_, h) => Math.floor(h / rep)),
        [H],
      ),
    );
  }
  if (vv.shape[0] !== p.shape[2])
    throw new VizError(`valueWeightedAttention: v has ${vv.shape[0]} positions, the pattern ${p.shape[2]} keys`);
  const norms = vv.norm(-1).permute(1, 0).unsqueeze(1); // [head, 1, k]
  return p.mul(norms);
}

/** The value-weighted patterns as a viewer (same interaction as attentionHeads, colour scaled to the largest value). */
export function valueWeightedPatterns(opts: AttentionViewerOptions & { v?: Tensor }): Viewer {
  const att =
    opts.v && opts.attention instanceof Tensor ? valueWeightedAttention(opts.attention, opts.v) : opts.attention;
  return viewer(
    "attention-heads",
    attentionProps("valueWeightedPatterns", { ...opts, attention: att, valueWeighted: true }),
    opts.title,
  );
}

export interface ColoredTokensOptions {
  tokens: readonly string[];
  values: Values1D;
  /** Colour bounds (default symmetric: ±max |value|). Negative values are red, positive blue. */
  minValue?: number;
  maxValue?: number;
  title?: string;
}

/** CircuitsVis `colored_tokens`: each token's background by its value; hover for the number. */
export function coloredTokens(opts: ColoredTokensOptions): Viewer {
  const values = to1D(opts.values, "coloredTokens values");
  if (values.length !== opts.tokens.length)
    throw new VizError(`coloredTokens: ${opts.tokens.length} tokens but ${values.length} values`);
  const m = Math.max(0, ...values.map((v) => (v === null ? 0 : Math.abs(v)))) || 1;
  return viewer(
    "colored-tokens",
    {
      tokens: opts.tokens.map(String),
      values,
      minValue: opts.minValue ?? -m,
      maxValue: opts.maxValue ?? m,
    },
    opts.title,
  );
}

export interface TopkTokensOptions {
  /** Tokens of each sample. */
  tokens: readonly (readonly string[])[];
  /** Per sample [layer, pos, neuron] (CircuitsVis: a list of arrays, or one [sample, layer, pos, neuron] array). */
  activations: ValuesND | readonly ValuesND[];
  k?: number;
  firstDimensionName?: string;
  thirdDimensionName?: string;
  firstDimensionLabels?: readonly (string | number)[];
  title?: string;
}

/** CircuitsVis `topk_tokens`: for a chosen layer, each neuron's top-k and bottom-k tokens with their context. */
export function topkTokens(opts: TopkTokensOptions): Viewer {
  const acts: unknown[] =
    Array.isArray(opts.activations) &&
    (opts.activations.length === 0 ||
      opts.activations[0] instanceof Tensor ||
      shapeOf(opts.activations[0] as ValuesND).length === 3)
      ? (opts.activations as ValuesND[]).map((a) => toNested(a))
      : (toNested(opts.activations as ValuesND) as unknown[]);
  if (acts.length !== opts.tokens.length)
    throw new VizError(`topkTokens: ${opts.tokens.length} token lists but ${acts.length} activation arrays`);
  let layers = -1;
  acts.forEach((a, s) => {
    const sh = shapeOf(a as ValuesND);
    if (sh.length !== 3)
      throw new VizError(`topkTokens: sample ${s}: activations must be [layer, pos, neuron], got [${sh}]`);
    if (sh[1] !== opts.tokens[s]!.length)
      throw new VizError(`topkTokens: sample ${s} has ${opts.tokens[s]!.length} tokens but ${sh[1]} positions`);
    if (layers >= 0 && sh[0] !== layers) throw new VizError("topkTokens: every sample needs the same number of layers");
    layers = sh[0]!;
  });
  if (!flatNumbers(acts).length) throw new VizError("topkTokens: no finite activations");
  const labels = (opts.firstDimensionLabels ?? Array.from({ length: layers }, (_, i) => i)).map(String);
  if (labels.length !== layers)
    throw new VizError(`topkTokens: ${labels.length} firstDimensionLabels for ${layers} entries`);
  return viewer(
    "topk-tokens",
    {
      tokens: opts.tokens.map((t) => t.map(String)),
      activations: acts,
      k: opts.k ?? 5,
      firstDimensionName: opts.firstDimensionName ?? "Layer",
      thirdDimensionName: opts.thirdDimensionName ?? "Neuron",
      firstDimensionLabels: labels,
    },
    opts.title,
  );
}
