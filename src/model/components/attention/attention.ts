// Multi-head attention with TransformerLens's hooks and numerics:
//   q, k, v = project(inputs)          // [batch, pos, head | kv_head, d_head]
//   k, v    = KV cache ++ k, v          // hooks saw only the new positions
//   q, k    = rotary(q), rotary(k)      // rotary models, after the cache (TL caches keys before rotation)
//   scores  = mask(cap(q·kᵀ / attn_scale)) // [batch, head, q, k], masked entries -inf; cap = soft cap (Gemma-2),
//                                       // mask = causal (+ sliding window in local layers) and padding
//   pattern = softmax(scores)           // rows with no key left become zeros
//   z       = pattern·v                 // [batch, q, head, d_head]
//   out     = z·W_O + b_O               // [batch, q, d_model] (per head, hook_result, with use_attn_result)
// Grouped-query attention keeps `_W_K`/`_W_V` [n_kv_heads, d_model, d_head]; `W_K`/`W_V` read them repeated.
import { ConfigError } from "../../../errors.js";
import type { HookedTransformerConfig } from "../../../loading/config.js";
import {
  maskAttentionScores,
  softCap,
  softmaxOrZero,
  zeros,
  type NtkByParts,
  type RotaryOptions,
  type Tensor,
} from "../../../tensor/index.js";
import type { KeyValueCacheEntry } from "../../kv-cache.js";
import type { RunContext } from "../../run/context.js";
import type { HookPoint } from "../../hook-point.js";
import { HookTable, type HookOrders, type HookRow } from "../hook-table.js";
import { repeatKvHeads, repeatWeightHeads } from "./gqa.js";
import { QkvProjection, type AttentionInputs, type QkvWeights } from "./projection.js";
import { applyRotary } from "./rotary.js";

export interface AttentionMasking {
  /** [batch, key_pos] 1 = real token, 0 = padding; null when nothing is padded */
  attentionMask: Tensor | null;
  /** Keys/values of earlier positions (generation, a runner's prefix); this forward's are appended to it. */
  kvCache?: KeyValueCacheEntry;
}

type AttnHook =
  | "hook_k"
  | "hook_q"
  | "hook_v"
  | "hook_z"
  | "hook_attn_scores"
  | "hook_pattern"
  | "hook_result"
  | "hook_attn_input"
  | "hook_rot_k"
  | "hook_rot_q";

/** The hooks in forward order, with TL's module order; hook_attn_input (shortformer) exists but never fires (TL 2.x). */
function attentionHooks(shortformer: boolean, rotary: boolean): HookRow<AttnHook>[] {
  return [
    { hook: "hook_q", module: 1 },
    { hook: "hook_k", module: 0 },
    { hook: "hook_v", module: 2 },
    { hook: "hook_attn_input", module: 7, present: shortformer },
    { hook: "hook_rot_q", module: 9, present: rotary },
    { hook: "hook_rot_k", module: 8, present: rotary },
    { hook: "hook_attn_scores", module: 4 },
    { hook: "hook_pattern", module: 5 },
    { hook: "hook_z", module: 3 },
    { hook: "hook_result", module: 6 },
  ];
}

/** TL's use_NTK_by_parts_rope fields, or null when off. */
function ntkByParts(cfg: HookedTransformerConfig): NtkByParts | null {
  if (!cfg.useNTKByPartsRope) return null;
  return {
    factor: cfg.ntkByPartsFactor,
    lowFreqFactor: cfg.ntkByPartsLowFreqFactor,
    highFreqFactor: cfg.ntkByPartsHighFreqFactor,
    originalCtxLen: cfg.ntkOriginalCtxLen,
  };
}

export class Attention implements QkvWeights, HookOrders {
  readonly nHeads: number;
  readonly dModel: number;
  readonly dHead: number;
  /** Key/value heads (n_heads unless grouped-query attention). */
  readonly nKvHeads: number;
  /** GQA: query heads per key/value head (TL's repeat_kv_heads); 1 otherwise. */
  readonly repeatKvHeads: number;
  readonly attnScale: number;
  readonly causal: boolean;
  /** Local (sliding-window) layers: how many keys a query sees, itself included; null = all earlier keys. */
  readonly window: number | null;
  /** attn_scores_soft_cap when positive, else null. */
  readonly scoresSoftCap: number | null;
  readonly rotary: RotaryOptions | null;
  readonly hooks: HookTable<AttnHook>;
  /** [n_heads, d_model, d_head] */
  W_Q: Tensor;
  /** The stored key/value weights: [n_kv_heads, d_model, d_head] (TL's `_W_K`/`_W_V` under GQA, else `W_K`/`W_V`). */
  _W_K: Tensor;
  _W_V: Tensor;
  /** [n_heads, d_head, d_model] */
  W_O: Tensor;
  /** [n_heads, d_head] */
  b_Q: Tensor;
  /** [n_kv_heads, d_head] */
  _b_K: Tensor;
  _b_V: Tensor;
  /** [d_model] */
  b_O: Tensor;
  readonly projection = new QkvProjection(this);

  /** prefix: `blocks.L.attn`; cfg: the model's config (read at run time for use_attn_result). */
  constructor(
    prefix: string,
    private readonly cfg: HookedTransformerConfig,
    layer: number,
  ) {
    this.nHeads = cfg.nHeads;
    this.dModel = cfg.dModel;
    this.dHead = cfg.dHead;
    this.nKvHeads = cfg.nKeyValueHeads ?? cfg.nHeads;
    if (!Number.isInteger(this.nKvHeads) || this.nKvHeads <= 0 || cfg.nHeads % this.nKvHeads !== 0) {
      throw new ConfigError(
        `${prefix}: n_key_value_heads ${this.nKvHeads} must be a positive divisor of n_heads ${cfg.nHeads}`,
      );
    }
    this.repeatKvHeads = cfg.nHeads / this.nKvHeads;
    this.attnScale = cfg.useAttnScale ? cfg.attnScale * (cfg.scaleAttnByInverseLayerIdx ? layer + 1 : 1) : 1;
    this.causal = cfg.attentionDir === "causal";
    // TL: the window is part of the causal mask, so bidirectional attention has none
    this.window = cfg.useLocalAttn && cfg.attnTypes?.[layer] === "local" ? cfg.windowSize : null;
    if (this.window !== null && !this.causal)
      throw new ConfigError(`${prefix}: local attention needs attention_dir "causal"`);
    this.scoresSoftCap = cfg.attnScoresSoftCap > 0 ? cfg.attnScoresSoftCap : null;
    this.rotary =
      cfg.positionalEmbeddingType === "rotary"
        ? {
            dim: cfg.rotaryDim ?? cfg.dHead,
            base: cfg.rotaryBase,
            adjacentPairs: cfg.rotaryAdjacentPairs,
            nCtx: cfg.nCtx,
            ntkByParts: ntkByParts(cfg),
          }
        : null;
    if (this.rotary && (this.rotary.dim % 2 !== 0 || this.rotary.dim > cfg.dHead || this.rotary.dim <= 0)) {
      throw new ConfigError(
        `${prefix}: rotary_dim ${this.rotary.dim} must be even, positive and at most d_head ${cfg.dHead}`,
      );
    }
    this.hooks = new HookTable(
      prefix,
      attentionHooks(cfg.positionalEmbeddingType === "shortformer", this.rotary !== null),
    );
    const [h, kv, dm, dh] = [cfg.nHeads, this.nKvHeads, cfg.dModel, cfg.dHead];
    this.W_Q = zeros([h, dm, dh]);
    this._W_K = zeros([kv, dm, dh]);
    this._W_V = zeros([kv, dm, dh]);
    this.W_O = zeros([h, dh, dm]);
    this.b_Q = zeros([h, dh]);
    this._b_K = zeros([kv, dh]);
    this._b_V = zeros([kv, dh]);
    this.b_O = zeros([dm]);
  }

  get forwardOrder(): readonly HookPoint[] {
    return this.hooks.forwardOrder;
  }
  /** TL's hook_dict order. */
  get moduleOrder(): readonly HookPoint[] {
    return this.hooks.moduleOrder;
  }

  /** Grouped-query attention (fewer key/value heads than query heads)? */
  get grouped(): boolean {
    return this.nKvHeads !== this.nHeads;
  }

  /** [n_heads, d_model, d_head]; under GQA the key/value heads repeated per query head (a copy: edit `_W_K`). */
  get W_K(): Tensor {
    return repeatWeightHeads(this._W_K, this.repeatKvHeads);
  }
  set W_K(t: Tensor) {
    this._W_K = t;
  }
  get W_V(): Tensor {
    return repeatWeightHeads(this._W_V, this.repeatKvHeads);
  }
  set W_V(t: Tensor) {
    this._W_V = t;
  }
  /** [n_heads, d_head] (repeated under GQA) */
  get b_K(): Tensor {
    return repeatWeightHeads(this._b_K, this.repeatKvHeads);
  }
  set b_K(t: Tensor) {
    this._b_K = t;
  }
  get b_V(): Tensor {
    return repeatWeightHeads(this._b_V, this.repeatKvHeads);
  }
  set b_V(t: Tensor) {
    this._b_V = t;
  }

  /** Parameters by TL name: `W_K`... or, under GQA, TL's `_W_K`, `_W_V`, `_b_K`, `_b_V` [n_kv_heads, ...]. */
  params(): [string, Tensor][] {
    const g = this.grouped ? "_" : "";
    return [
      ["W_Q", this.W_Q],
      [`${g}W_K`, this._W_K],
      [`${g}W_V`, this._W_V],
      ["W_O", this.W_O],
      ["b_Q", this.b_Q],
      [`${g}b_K`, this._b_K],
      [`${g}b_V`, this._b_V],
      ["b_O", this.b_O],
    ];
  }

  /** The attention inputs (after ln1) → [batch, pos, d_model] */
  async forward(inputs: AttentionInputs, masking: AttentionMasking, ctx: RunContext): Promise<Tensor> {
    const hook = (name: AttnHook, x: Tensor): Promise<Tensor> => this.hooks.get(name).run(x, ctx);
    const [q0, k0, v0] = this.projection.project(inputs, ctx.matmulPrecision);
    const q = await hook("hook_q", q0); // [batch, pos, head, d_head]
    let k = await hook("hook_k", k0); // [batch, pos, kv_head, d_head]
    let v = await hook("hook_v", v0);
    const past = masking.kvCache?.length ?? 0;
    if (masking.kvCache) ({ k, v } = masking.kvCache.append(k, v)); // [batch, past + pos, kv_head, d_head]
    const scores = await this.scores(q, k, past, masking.attentionMask, ctx);
    return this.outputFromZ(this.zFromPattern(await this.pattern(scores, ctx), v), ctx);
  }

  /** Scores [batch, head, q, key_pos] (hook_attn_scores, masked) of q [batch, q, head, d_head] at positions past ..
   *  and k [batch, key_pos, kv_head, d_head] of every key position; hook_rot_q / hook_rot_k fire in rotary models.
   *  `repeat`: query heads per key head (1 when k holds one head per query head, e.g. some heads' own keys). */
  async scores(
    q0: Tensor,
    k0: Tensor,
    past: number,
    attentionMask: Tensor | null,
    ctx: RunContext,
    repeat = this.repeatKvHeads,
  ): Promise<Tensor> {
    const hook = (name: AttnHook, x: Tensor): Promise<Tensor> => this.hooks.get(name).run(x, ctx);
    let q = q0;
    let k = k0;
    if (this.rotary) {
      // queries start at the cache length, keys at 0
      q = await hook("hook_rot_q", applyRotary(q, past, attentionMask, this.rotary));
      k = await hook("hook_rot_k", applyRotary(k, 0, attentionMask, this.rotary));
    }
    k = repeatKvHeads(k, repeat); // [batch, key_pos, head, d_head]
    // [batch, head, q, d_head] @ [batch, head, d_head, k] → [batch, head, q, k]
    const scaled = q
      .permute(0, 2, 1, 3)
      .matmul(k.permute(0, 2, 3, 1))
      .div_(this.attnScale);
    const raw = this.scoresSoftCap === null ? scaled : softCap(scaled, this.scoresSoftCap);
    return hook(
      "hook_attn_scores",
      this.causal ? maskAttentionScores(raw, true, attentionMask, this.window, { consumeInput: true }) : raw,
    );
  }

  /** The pattern [batch, head, q, k] (hook_pattern) from masked scores [batch, head, q, k]. */
  pattern(scores: Tensor, ctx: RunContext): Promise<Tensor> {
    return this.hooks.get("hook_pattern").run(softmaxOrZero(scores), ctx);
  }

  /** z [batch, q, head, d_head] from the pattern [batch, head, q, k] and v [batch, k, kv_head, d_head] (`repeat`:
   *  query heads per value head, as in scores). */
  zFromPattern(pattern: Tensor, v: Tensor, repeat = this.repeatKvHeads): Tensor {
    // [batch, head, q, k] @ [batch, head, k, d_head] → [batch, q, head, d_head]
    return pattern
      .matmul(repeatKvHeads(v, repeat).permute(0, 2, 1, 3))
      .permute(0, 2, 1, 3)
      .contiguous();
  }

  /** z [batch, pos, head, d_head] → hook_z → the output projection [batch, pos, d_model] (per head, with
   *  hook_result, when use_attn_result is on). */
  async outputFromZ(zIn: Tensor, ctx: RunContext): Promise<Tensor> {
    const z = await this.hooks.get("hook_z").run(zIn, ctx);
    const [batch, qPos] = z.shape as [number, number];
    const mm = { precision: ctx.matmulPrecision };
    if (this.cfg.useAttnResult) {
      // [head, batch*q, d_head] @ [head, d_head, d_model] → [batch, q, head, d_model]
      const perHead = z
        .permute(2, 0, 1, 3)
        .reshape(this.nHeads, batch * qPos, this.dHead)
        .matmul(this.W_O, mm);
      const result = await this.hooks
        .get("hook_result")
        .run(perHead.reshape(this.nHeads, batch, qPos, this.dModel).permute(1, 2, 0, 3).contiguous(), ctx);
      return result.sum(2).add_(this.b_O);
    }
    return z
      .reshape(batch, qPos, this.nHeads * this.dHead)
      .matmul(this.W_O.reshape(this.nHeads * this.dHead, this.dModel), mm)
      .add_(this.b_O);
  }
}
