// Steering by activation addition (ActAdd, Turner et al. 2023; contrastive activation addition, Rimsky et al. 2023;
// seed 004 §4): add `coeff * vector` to an activation at a hook, at chosen absolute token positions; build the vector
// from contrasting prompts; sweep the coefficient and measure the effect on logits and on generated text.
//
// Positions are absolute token indices of the whole sequence (BOS included). The hook reads `hook.positionOffset`,
// so a permanent steering hook keeps adding at the right positions while `generate` runs with the KV cache, where
// each step's activation holds only the new position.
import { AnalysisError, ShapeError } from "../errors.js";
import { getActName } from "../model/act-name.js";
import { selectHooks } from "../model/hook-point.js";
import type { HookedTransformer, HookFn, ModelInput, ForwardOptions } from "../model/index.js";
import type { GenerateOptions } from "../model/generate.js";
import { stack, Tensor } from "../tensor/index.js";
import { fmtShape } from "../tensor/shape.js";

export interface SteeringVector {
  /** A hook name ("blocks.6.hook_resid_pre"), or TL's short name with `layer` ("resid_pre", 6). The activation must
   *  be [batch, pos, ...rest] (residual streams, hook_z, hook_mlp_out, ...). */
  hook: string;
  layer?: number;
  /** `[...rest]` (one vector for every chosen position, e.g. [d_model]), `[n, ...rest]` (a sequence added at positions
   *  start .. start + n − 1, ActAdd's prompt-difference), or `[batch, n, ...rest]` (a sequence per row). */
  vector: Tensor;
  /** default 1 */
  coeff?: number;
  /** One vector: "all" positions (default; generated ones too) or a list of absolute positions. */
  positions?: "all" | readonly number[];
  /** A sequence: the absolute position of its first row (default 0, the front of the prompt, as ActAdd). */
  start?: number;
}

/** The full hook name a steering vector targets. */
export function steeringHookName(spec: Pick<SteeringVector, "hook" | "layer">): string {
  return spec.layer === undefined ? getActName(spec.hook) : getActName(spec.hook, spec.layer);
}

/**
 * The hook function of a steering vector: returns a copy of the activation with `coeff * vector` added at the chosen
 * absolute positions that fall inside this forward pass (`hook.positionOffset` ≤ p < offset + pos). With coeff 0 it
 * leaves the activation untouched.
 */
export function steeringHook(spec: SteeringVector): HookFn {
  const coeff = spec.coeff ?? 1;
  if (!Number.isFinite(coeff)) throw new AnalysisError(`steering: coeff must be a finite number, got ${coeff}`);
  const v = spec.vector;
  const positions = spec.positions ?? "all";
  if (positions !== "all") {
    for (const p of positions)
      if (!Number.isInteger(p) || p < 0)
        throw new AnalysisError(`steering: positions are absolute token indices ≥ 0, got ${p}`);
  }
  const start = spec.start ?? 0;
  if (!Number.isInteger(start) || start < 0)
    throw new AnalysisError(`steering: start must be an integer ≥ 0, got ${start}`);
  return (act, hook) => {
    if (coeff === 0) return;
    if (act.ndim < 2)
      throw new ShapeError(
        `steering: the activation of "${hook.name}" has shape ${fmtShape(act.shape)}; expected [batch, pos, ...]`,
      );
    const rest = act.shape.slice(2);
    const extra = v.ndim - rest.length;
    const tail = v.shape.slice(extra);
    if (extra < 0 || extra > 2 || tail.some((s, i) => s !== rest[i])) {
      throw new ShapeError(
        `steering: a vector for "${hook.name}" (activation ${fmtShape(act.shape)}) must be ${fmtShape(rest)}, [n, ${rest.join(", ")}] or [batch, n, ${rest.join(", ")}]; got ${fmtShape(v.shape)}`,
      );
    }
    if (extra === 2 && v.shape[0] !== 1 && v.shape[0] !== act.shape[0]) {
      throw new ShapeError(`steering: the per-row vector has ${v.shape[0]} rows, the activation ${act.shape[0]}`);
    }
    const off = hook.positionOffset;
    const len = act.shape[1]!;
    const out = act.clone();
    const scaled = v.mul(coeff);
    if (extra === 0) {
      if (positions === "all") return out.add_(scaled);
      for (const p of positions) if (p >= off && p < off + len) out.narrow(1, p - off, 1).add_(scaled);
      return out;
    }
    // a sequence of n rows at absolute positions start .. start + n − 1
    const seqDim = extra - 1;
    const n = v.shape[seqDim]!;
    const lo = Math.max(start, off);
    const hi = Math.min(start + n, off + len);
    if (hi > lo) out.narrow(1, lo - off, hi - lo).add_(scaled.narrow(seqDim, lo - start, hi - lo));
    return out;
  };
}

/** A steering hook attached to a model. */
export interface SteeringHandle {
  hookName: string;
  fn: HookFn;
  /** Detaches this hook (permanent or not). */
  remove(): void;
}

/**
 * Attaches a steering vector to the model (ActAdd). `isPermanent: true` survives `resetHooks()` and `runWithHooks`,
 * so `model.generate(...)` (with or without the KV cache) runs steered until `handle.remove()`.
 */
export function addSteeringVector(
  model: HookedTransformer,
  spec: SteeringVector,
  opts: { isPermanent?: boolean; prepend?: boolean } = {},
): SteeringHandle {
  const hookName = steeringHookName(spec);
  const fn = steeringHook(spec);
  model.addHook(hookName, fn, opts);
  const point = model.hookPoints.get(hookName)!;
  return { hookName, fn, remove: () => point.remove(fn) };
}

function asList(specs: SteeringVector | readonly SteeringVector[]): SteeringVector[] {
  return Array.isArray(specs) ? [...specs] : [specs as SteeringVector];
}

/** Runs `body` with the steering vectors attached as temporary hooks on the shared hook points (removed afterwards,
 *  also on errors): every run made meanwhile is steered, overlapping ones included (model.withHooks). */
export function withSteering<T>(
  model: HookedTransformer,
  specs: SteeringVector | readonly SteeringVector[],
  body: () => Promise<T>,
): Promise<T> {
  return model.withHooks(steeringHooks(specs), body);
}

/** Steering vectors as hooks of one call. */
function steeringHooks(specs: SteeringVector | readonly SteeringVector[]): [string, HookFn][] {
  return asList(specs).map((s) => [steeringHookName(s), steeringHook(s)]);
}

/** The model's logits with the steering vectors added (in this run only). */
export function runWithSteering(
  model: HookedTransformer,
  input: ModelInput | Tensor,
  specs: SteeringVector | readonly SteeringVector[],
  opts: ForwardOptions = {},
): Promise<Tensor> {
  return model.runWithHooks(input, { ...opts, returnType: "logits", fwdHooks: steeringHooks(specs) });
}

/** `model.generate` with the steering vectors added at every step (the KV cache is fine: positions are absolute). */
export function generateWithSteering(
  model: HookedTransformer,
  input: ModelInput,
  specs: SteeringVector | readonly SteeringVector[],
  opts: GenerateOptions = {},
): Promise<Tensor | string | string[]> {
  return model.generate(input, { ...opts, fwdHooks: steeringHooks(specs) });
}

// ---------------------------------------------------------------------------------------------------------------
// contrastive vectors

/** A prompt: text, or tokens [pos] / [1, pos]. */
export type PromptInput = string | Tensor | readonly number[];

export interface ContrastiveOptions {
  /** Where to read (and later add) the activations: a hook name, or a short name with `layer`. */
  hook: string;
  layer?: number;
  /** "sequence" (ActAdd): the activations at every position, the shorter prompt right-padded with `padToken`, the
   *  difference [n, ...rest] is added at the front of the steered prompt. "last": the difference at each prompt's last
   *  token, [...rest] (contrastive activation addition). "mean": the difference of the means over each prompt's
   *  positions (BOS excluded). Default "sequence". */
  mode?: "sequence" | "last" | "mean";
  /** Padding for "sequence" (default: the token " ", as the ActAdd paper; needed for models without a tokenizer). */
  padToken?: number;
  /** For text prompts (default: the model's default). */
  prependBos?: boolean;
}

export interface ContrastiveVector {
  /** The mean over pairs of (positive − negative): [n, ...rest] for "sequence", [...rest] otherwise */
  vector: Tensor;
  /** The full hook name (use it as `SteeringVector.hook`) */
  hook: string;
  /** `[pairs, ...]`: each pair's difference */
  perPair: Tensor;
  /** The padded token rows that were run: [pairs, n] each */
  positiveTokens: Tensor;
  negativeTokens: Tensor;
}

/** Forward options that run only as far as a hook needs: through its block, no unembedding. */
function runUntil(model: HookedTransformer, hook: string): ForwardOptions {
  const m = /^blocks\.(\d+)\./.exec(hook);
  if (m) return { stopAtLayer: Number(m[1]) + 1 };
  if (hook === "hook_embed" || hook === "hook_pos_embed") return { stopAtLayer: 0 };
  return { logitPositions: "last" };
}

function promptTokens(model: HookedTransformer, p: PromptInput, prependBos: boolean | undefined): number[] {
  if (typeof p === "string") return Array.from(model.toTokens(p, { prependBos }).get(0).dataSync());
  if (p instanceof Tensor) {
    if (p.ndim === 2 && p.shape[0] !== 1)
      throw new ShapeError(`contrastive prompts are single sequences: got tokens ${fmtShape(p.shape)}`);
    return Array.from(p.reshape(-1).to("int32").dataSync());
  }
  return [...p];
}

/**
 * A steering vector from contrasting prompts (ActAdd's "Love" − "Hate"; CAA's mean difference over many pairs):
 * runs every prompt once (one batch, right-padded — causal attention keeps the padding from touching real tokens),
 * caches the activation at the hook and averages positive − negative over the pairs.
 *
 * ```ts
 * const { vector, hook } = await contrastiveSteeringVector(model, [["Love", "Hate"]], { hook: "resid_pre", layer: 6 });
 * await generateWithSteering(model, "I hate you because", { hook, vector, coeff: 5 }, { seed: 0 });
 * ```
 */
export async function contrastiveSteeringVector(
  model: HookedTransformer,
  pairs: readonly (readonly [PromptInput, PromptInput])[],
  opts: ContrastiveOptions,
): Promise<ContrastiveVector> {
  if (pairs.length === 0)
    throw new AnalysisError("contrastiveSteeringVector: give at least one [positive, negative] pair");
  const hook = steeringHookName(opts);
  selectHooks(model.hookPoints, hook); // an unknown name throws, with a suggestion
  const mode = opts.mode ?? "sequence";
  if (mode !== "sequence" && mode !== "last" && mode !== "mean")
    throw new AnalysisError(
      `contrastiveSteeringVector: mode must be "sequence", "last" or "mean", got ${String(mode)}`,
    );
  const rows = pairs.flatMap(([pos, neg]) => [
    promptTokens(model, pos, opts.prependBos),
    promptTokens(model, neg, opts.prependBos),
  ]);
  const lengths = rows.map((r) => r.length);
  if (lengths.some((l) => l === 0)) throw new AnalysisError("contrastiveSteeringVector: a prompt has no tokens");
  const width = Math.max(...lengths);
  let pad = opts.padToken;
  if (pad === undefined) {
    if (lengths.every((l) => l === width)) pad = 0;
    else if (model.tokenizer) pad = model.toSingleToken(" ");
    else
      throw new AnalysisError(
        "contrastiveSteeringVector: prompts of different lengths need a padToken (this model has no tokenizer)",
      );
  }
  const flat = new Int32Array(rows.length * width).fill(pad);
  rows.forEach((r, i) => flat.set(r, i * width));
  const tokens = Tensor.fromTypedArray(flat, [rows.length, width]);
  const [, cache] = await model.runWithCache(tokens, {
    returnType: null,
    namesFilter: [hook],
    ...runUntil(model, hook),
  });
  const act = cache.get(hook); // [2P, width, ...rest]
  if (act.shape[1] !== width)
    throw new ShapeError(
      `contrastiveSteeringVector: "${hook}" is not a [batch, pos, ...] activation (shape ${fmtShape(act.shape)})`,
    );
  const bos = model.cfg.bosTokenId;
  const reduceRow = (i: number): Tensor => {
    const a = act.get(i); // [width, ...rest]
    if (mode === "sequence") return a;
    if (mode === "last") return a.get(lengths[i]! - 1);
    const first = bos !== null && bos !== undefined && rows[i]![0] === bos && lengths[i]! > 1 ? 1 : 0;
    return a.narrow(0, first, lengths[i]! - first).mean(0);
  };
  const diffs = pairs.map((_, p) => reduceRow(2 * p).sub(reduceRow(2 * p + 1)));
  const perPair = stack(diffs);
  return {
    vector: perPair.mean(0),
    hook,
    perPair,
    positiveTokens: tokens.get(`0::2`),
    negativeTokens: tokens.get(`1::2`),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// measuring the effect

export interface SteeringSweepOptions {
  /** The steering vector (its coeff is ignored: `coeffs` replace it). */
  steering: SteeringVector;
  /** Coefficients to try, e.g. [-8, -4, 0, 4, 8]. */
  coeffs: readonly number[];
  /** Target tokens (ids or single-token strings) whose logits / log-probs are reported, e.g. [" love", " hate"]. */
  tokens?: readonly (number | string)[];
  /** With exactly two target tokens: also report logit(tokens[0]) − logit(tokens[1]). Default true. */
  logitDiff?: boolean;
  /** Also report the top k next tokens of each row under each coefficient. */
  topK?: number;
  /** For text input (default: the model's default). */
  prependBos?: boolean;
}

export interface SteeringSweepResult {
  coeffs: number[];
  /** Per row: the position whose next-token distribution is measured (each prompt's last token) */
  positions: number[];
  /** [coeff, batch, n_tokens] */
  tokenLogits: Tensor | null;
  tokenLogProbs: Tensor | null;
  /** `[coeff, batch]`: logit(tokens[0]) − logit(tokens[1]) */
  logitDiff: Tensor | null;
  /** [coeff, batch]: KL(unsteered ‖ steered) of the next-token distribution (0 at coeff 0) */
  klFromUnsteered: Tensor;
  /** [coeff, batch, k] */
  topK: { logProbs: Tensor; tokens: Tensor } | null;
}

function sweepInput(
  model: HookedTransformer,
  input: ModelInput | Tensor,
  prependBos: boolean | undefined,
): { tokens: Tensor; last: number[] } {
  if (typeof input === "string" || (Array.isArray(input) && typeof input[0] === "string")) {
    const texts = typeof input === "string" ? [input] : (input as string[]);
    const rows = texts.map((t) => Array.from(model.toTokens(t, { prependBos }).get(0).dataSync()));
    const width = Math.max(...rows.map((r) => r.length));
    const flat = new Int32Array(rows.length * width).fill(model.cfg.eosTokenId ?? 0);
    rows.forEach((r, i) => flat.set(r, i * width));
    return { tokens: Tensor.fromTypedArray(flat, [rows.length, width]), last: rows.map((r) => r.length - 1) };
  }
  const t =
    input instanceof Tensor
      ? input
      : Tensor.fromTypedArray(Int32Array.from((input as number[][]).flat()), [
          (input as number[][]).length,
          (input as number[][])[0]!.length,
        ]);
  const tokens = t.ndim === 1 ? t.unsqueeze(0) : t;
  return { tokens, last: new Array<number>(tokens.shape[0]!).fill(tokens.shape[1]! - 1) };
}

/**
 * Sweeps the coefficient of a steering vector and measures each row's next-token distribution after its last prompt
 * token: target-token logits and log-probs, their difference, the KL divergence from the unsteered model, the top
 * tokens. Strings of different lengths are right-padded (EOS) and each is read at its own last token, so the
 * absolute positions of the steering vector are the prompt's own. One forward per coefficient (and one unsteered).
 */
export async function steeringSweep(
  model: HookedTransformer,
  input: ModelInput | Tensor,
  opts: SteeringSweepOptions,
): Promise<SteeringSweepResult> {
  const { tokens, last } = sweepInput(model, input, opts.prependBos);
  const batch = tokens.shape[0]!;
  const distinct = [...new Set(last)].sort((a, b) => a - b);
  const col = last.map((p) => distinct.indexOf(p));
  const rowIdx = Tensor.fromTypedArray(Int32Array.from(last.map((_, b) => b)), [batch]);
  const colIdx = Tensor.fromTypedArray(Int32Array.from(col), [batch]);
  const logitsAt = (logits: Tensor): Tensor => logits.get(rowIdx, colIdx);
  const ids = (opts.tokens ?? []).map((t) => (typeof t === "string" ? model.toSingleToken(t) : t));
  const idT = Tensor.fromTypedArray(Int32Array.from(ids), [ids.length]);
  const baseRaw = logitsAt((await model.forward(tokens, { logitPositions: distinct })) as Tensor);
  const base = baseRaw.logSoftmax(-1);
  const pBase = base.exp();
  const tl: Tensor[] = [];
  const tlp: Tensor[] = [];
  const kl: Tensor[] = [];
  const topV: Tensor[] = [];
  const topI: Tensor[] = [];
  for (const c of opts.coeffs) {
    const raw =
      c === 0
        ? baseRaw
        : logitsAt(await runWithSteering(model, tokens, { ...opts.steering, coeff: c }, { logitPositions: distinct }));
    const lp = raw.logSoftmax(-1);
    if (ids.length) {
      tl.push(raw.get(":", idT));
      tlp.push(lp.get(":", idT));
    }
    kl.push(pBase.mul(base.sub(lp)).sum(-1));
    if (opts.topK) {
      const t = lp.topk(opts.topK, -1);
      topV.push(t.values);
      topI.push(t.indices);
    }
  }
  const tokenLogits = ids.length ? stack(tl) : null;
  return {
    coeffs: [...opts.coeffs],
    positions: last,
    tokenLogits,
    tokenLogProbs: ids.length ? stack(tlp) : null,
    logitDiff:
      ids.length === 2 && (opts.logitDiff ?? true) ? tokenLogits!.get("...", 0).sub(tokenLogits!.get("...", 1)) : null,
    klFromUnsteered: stack(kl),
    topK: opts.topK ? { logProbs: stack(topV), tokens: stack(topI) } : null,
  };
}

export interface SteeringGeneration {
  coeff: number;
  /** The generated text (text input) or tokens [batch, pos + new] */
  output: string | string[] | Tensor;
}

/** Generates once per coefficient with the same sampling seed (default 0), so the texts differ only by steering. */
export async function steeringGenerations(
  model: HookedTransformer,
  input: ModelInput,
  steering: SteeringVector,
  coeffs: readonly number[],
  opts: GenerateOptions = {},
): Promise<SteeringGeneration[]> {
  const out: SteeringGeneration[] = [];
  for (const c of coeffs) {
    const output = await generateWithSteering(model, input, { ...steering, coeff: c }, { seed: 0, ...opts });
    out.push({ coeff: c, output });
  }
  return out;
}
