// The model-execution API for analyses: run blocks from..to on a residual stream (with a reusable prefix of keys
// and values, only the positions after it computed), the rest of a block from its attention's z, logits from a
// residual stream at chosen positions, and component calls that fire no hook. The runner owns position offsets
// (hooks see the absolute position of their first row) and each call's hooks apply to that call only.
import { ModelError } from "../../errors.js";
import { cat, Tensor, type MatmulPrecision } from "../../tensor/index.js";
import type { HookedTransformer } from "../hooked-transformer.js";
import type { HookFn, NameFilter } from "../hook-point.js";
import { KeyValueCacheEntry } from "../kv-cache.js";
import { RunContext } from "./context.js";

/** Hooks for one runner call (they fire in that call only; shared hooks from model.addHook fire too). */
export interface RunnerHooks {
  hooks?: readonly (readonly [NameFilter, HookFn])[];
  /** Precision of the call's weight GEMMs (ForwardOptions.matmulPrecision; default "fp32"). */
  matmulPrecision?: MatmulPrecision;
}

/** Keys and values [batch, length, kv_head, d_head] of positions 0 .. length - 1 per layer, which runs over the
 *  later positions attend to (as a KV cache does). */
export class KeyValuePrefix {
  private constructor(
    private readonly layer: (l: number) => [Tensor, Tensor] | null,
    readonly length: number,
  ) {}

  /** No earlier positions. */
  static readonly none = new KeyValuePrefix(() => null, 0);

  /** Positions 0 .. length - 1 of a cache's `blocks.L.attn.hook_k` / `hook_v` (read when a layer runs), repeated
   *  `tile` times along the batch (stacked runs that share the prefix). */
  static fromCache(cache: { get(name: string): Tensor }, length: number, tile = 1): KeyValuePrefix {
    if (length === 0) return KeyValuePrefix.none;
    const take = (name: string): Tensor => tileBatch(cache.get(name).narrow(1, 0, length), tile);
    return new KeyValuePrefix((l) => [take(`blocks.${l}.attn.hook_k`), take(`blocks.${l}.attn.hook_v`)], length);
  }

  /** A fresh cache entry of layer l holding the prefix (the run appends its own positions to it). */
  entry(l: number): KeyValueCacheEntry {
    const entry = new KeyValueCacheEntry();
    const kv = this.layer(l);
    if (kv) [entry.keys, entry.values] = kv;
    return entry;
  }
}

export interface BlockRunOptions extends RunnerHooks {
  /** First block to run. */
  from: number;
  /** One past the last block to run. */
  to: number;
  /** Keys and values of the positions before the residual's (default none): the residual holds positions
   *  prefix.length .. prefix.length + pos - 1. Inputs are unpadded. */
  prefix?: KeyValuePrefix;
  /** Absolute position from which the last block's outputs are needed: earlier positions there only give keys
   *  and values (skipped work when nothing hooks that block). The result then starts at this position. */
  outputFrom?: number;
}

function runContext(model: HookedTransformer, o: RunnerHooks, offset: number): RunContext {
  const ctx = o.hooks?.length ? RunContext.withHooks(model.hookPoints, o.hooks, offset) : RunContext.plain(offset);
  return ctx.withPrecision(o.matmulPrecision);
}

/** Blocks from .. to - 1 on residual [batch, pos, d_model] → [batch, pos', d_model] (pos' = pos, or the positions
 *  from outputFrom on). */
export async function runBlocks(model: HookedTransformer, residual: Tensor, o: BlockRunOptions): Promise<Tensor> {
  const prefix = o.prefix ?? KeyValuePrefix.none;
  if (o.from < 0 || o.to > model.cfg.nLayers || o.from > o.to)
    throw new ModelError(`runBlocks: blocks ${o.from}..${o.to} are outside 0..${model.cfg.nLayers}`);
  const ctx = runContext(model, o, prefix.length);
  let r = residual;
  for (let l = o.from; l < o.to; l++) {
    const entry = prefix.entry(l);
    const skip = l === o.to - 1 && o.outputFrom !== undefined ? o.outputFrom - prefix.length : 0;
    if (skip < 0 || (skip > 0 && skip >= r.shape[1]!))
      throw new ModelError(`runBlocks: outputFrom ${o.outputFrom} is outside the residual's positions`);
    if (skip > 0 && canSkipOutputs(model, l, ctx)) {
      await appendKeysValues(model, l, r.narrow(1, 0, skip), entry, ctx.matmulPrecision);
      r = await model.blocks[l]!.forward(
        r.narrow(1, skip, r.shape[1]! - skip),
        { attentionMask: null, kvCache: entry },
        ctx.at(prefix.length + skip),
      );
    } else {
      r = await model.blocks[l]!.forward(r, { attentionMask: null, kvCache: entry }, ctx);
      if (skip > 0) r = r.narrow(1, skip, r.shape[1]! - skip);
    }
  }
  return r;
}

/** Block l's output from its attention's z: resid_pre [batch, pos, d_model] and z [batch, pos, head, d_head] of the
 *  same positions (starting at absolute `positionOffset`) → resid_post [batch, pos, d_model]. hook_resid_pre and
 *  the hooks from hook_z on fire; q, k, v, scores and pattern are neither computed nor hooked. */
export function runBlockFromZ(
  model: HookedTransformer,
  l: number,
  residPre: Tensor,
  z: Tensor,
  o: RunnerHooks & { positionOffset?: number } = {},
): Promise<Tensor> {
  return restOfBlock(model, l, residPre, o, (ctx) => model.blocks[l]!.attn.outputFromZ(z, ctx));
}

/** Block l's output from its attention's output: resid_pre and the attention output [batch, pos, d_model] (the
 *  output projection's result, before any ln1_post; `attentionOutput` + edits) → resid_post [batch, pos, d_model].
 *  hook_resid_pre and the hooks from hook_attn_out on fire; nothing of the attention is computed or hooked. */
export function runBlockFromAttention(
  model: HookedTransformer,
  l: number,
  residPre: Tensor,
  attnOutput: Tensor,
  o: RunnerHooks & { positionOffset?: number } = {},
): Promise<Tensor> {
  return restOfBlock(model, l, residPre, o, () => Promise.resolve(attnOutput));
}

/** hook_resid_pre, then the attention's output from `attention` (hooks fire in it as it chooses), then the rest. */
async function restOfBlock(
  model: HookedTransformer,
  l: number,
  residPre: Tensor,
  o: RunnerHooks & { positionOffset?: number },
  attention: (ctx: RunContext) => Promise<Tensor>,
): Promise<Tensor> {
  const block = model.blocks[l]!;
  const ctx = runContext(model, o, o.positionOffset ?? 0);
  const pre = await block.hook("hook_resid_pre").run(residPre, ctx);
  return block.afterAttention(pre, await attention(ctx), ctx);
}

/** Block l's attention output from z [batch, pos, head, d_head], no hook firing: z·W_O + b_O [batch, pos, d_model]
 *  (before any ln1_post), the projection in `precision`. */
export function attentionOutput(
  model: HookedTransformer,
  l: number,
  z: Tensor,
  precision: MatmulPrecision = "fp32",
): Promise<Tensor> {
  return model.blocks[l]!.attn.outputFromZ(z, QUIET.withPrecision(precision));
}

/** What some heads of block l write into its attention output: Σ_i zHeads[.., i, :] @ W_O[l, heads[i]], zHeads
 *  [batch, pos, heads.length, d_head] (those heads' z, in that order) → [batch, pos, d_model], no bias. The attention
 *  output is linear in z, so a change dz of those heads' z changes it by headsOutput(dz). */
export function headsOutput(
  model: HookedTransformer,
  l: number,
  zHeads: Tensor,
  heads: readonly number[],
  precision: MatmulPrecision = "fp32",
): Tensor {
  const [batch, pos, , dHead] = zHeads.shape as [number, number, number, number];
  const W = model.blocks[l]!.attn.W_O.get(Tensor.fromTypedArray(Int32Array.from(heads), [heads.length])); // [heads, d_head, d_model], a copy
  return zHeads
    .reshape(batch, pos, heads.length * dHead)
    .matmul(W.reshape(heads.length * dHead, W.shape[2]!), { precision });
}

/** Some heads' attention inputs, one key/value head per query head (under grouped-query attention, the shared key
 *  and value heads of those query heads): from q [batch, q, H, d_head] at absolute positions past .. and k, v
 *  [batch, key_pos, H, d_head] of every key position (as hook_q, hook_k, hook_v see them); or from masked scores
 *  [batch, H, q, key_pos] (as hook_attn_scores) or a pattern (as hook_pattern), with v. */
export type HeadsAttentionInput =
  | { from: "qkv"; q: Tensor; k: Tensor; v: Tensor; past: number }
  | { from: "scores"; scores: Tensor; v: Tensor }
  | { from: "pattern"; pattern: Tensor; v: Tensor };

/** Those heads' z [batch, q, H, d_head] in block l (unpadded inputs), no hook firing: the attention of a few heads
 *  without the others' projections. */
export async function headsZ(model: HookedTransformer, l: number, input: HeadsAttentionInput): Promise<Tensor> {
  const attn = model.blocks[l]!.attn;
  if (input.from === "pattern") return attn.zFromPattern(input.pattern, input.v, 1);
  const scores =
    input.from === "scores" ? input.scores : await attn.scores(input.q, input.k, input.past, null, QUIET, 1);
  return attn.zFromPattern(await attn.pattern(scores, QUIET), input.v, 1);
}

/** Does a shared hook (model.addHook, permanent or not) fire anywhere in block l? */
export function blockHasSharedHooks(model: HookedTransformer, l: number): boolean {
  return model.blocks[l]!.forwardOrder.some((h) => h.hasHooks);
}

/** Could block l's outputs at early positions be skipped (keys and values computed on their own)? Only when no
 *  hook fires in the block and its attention inputs are ln1(resid_pre) alone. */
function canSkipOutputs(model: HookedTransformer, l: number, ctx: RunContext): boolean {
  const cfg = model.cfg;
  if (cfg.useAttnIn || cfg.useSplitQkvInput || cfg.positionalEmbeddingType === "shortformer") return false;
  return !model.blocks[l]!.forwardOrder.some((h) => ctx.hooked(h));
}

/** Appends the keys and values of residual positions [batch, n, d_model] to entry, no hook firing. */
async function appendKeysValues(
  model: HookedTransformer,
  l: number,
  residual: Tensor,
  entry: KeyValueCacheEntry,
  precision: MatmulPrecision,
): Promise<void> {
  const [k, v] = model.blocks[l]!.attn.projection.keysValues(await ln1(model, l, residual), precision);
  entry.append(k, v);
}

const QUIET = RunContext.quiet();

/** ln_final then the unembedding, no hook firing: residual [batch, pos, d_model] → logits [batch, n, d_vocab_out]
 *  at `positions` (indices into pos; all when absent), the unembedding in `precision`. */
export async function logitsFromResidual(
  model: HookedTransformer,
  residual: Tensor,
  positions?: readonly number[],
  precision: MatmulPrecision = "fp32",
): Promise<Tensor> {
  const picked = positions
    ? residual.get(":", Tensor.fromTypedArray(Int32Array.from(positions), [positions.length]))
    : residual;
  return model.unembed.forward(await finalNorm(model, picked), precision);
}

/** ln_final alone, no hook firing: [..., d_model] → [..., d_model] (the identity without a final norm). */
export function finalNorm(model: HookedTransformer, residual: Tensor): Promise<Tensor> {
  return model.lnFinal ? model.lnFinal.forward(residual, QUIET) : Promise.resolve(residual);
}

/** The unembedding alone: normalised residual [..., d_model] → logits [..., d_vocab_out]. */
export function unembed(model: HookedTransformer, normalized: Tensor): Tensor {
  return model.unembed.forward(normalized);
}

/** Block l's ln1, no hook firing: [..., d_model] → [..., d_model]. */
export function ln1(model: HookedTransformer, l: number, x: Tensor): Promise<Tensor> {
  const norm = model.blocks[l]!.ln1;
  return norm ? norm.forward(x, QUIET) : Promise.resolve(x);
}

/** Block l's MLP output from its input residual (resid_mid; resid_pre in a parallel block): ln2, the MLP and
 *  ln2_post when present, no hook firing: [batch, pos, d_model] → [batch, pos, d_model]. Attention-only blocks
 *  have no MLP: an error. */
export function mlpOutput(model: HookedTransformer, l: number, residMid: Tensor): Promise<Tensor> {
  return model.blocks[l]!.mlpBranch(residMid, QUIET);
}

/** x [batch, ...] repeated `times` along the batch: [times * batch, ...]. */
export function tileBatch(x: Tensor, times: number): Tensor {
  return times === 1
    ? x
    : cat(
        Array.from({ length: times }, () => x),
        0,
      );
}
