// A transformer block with TransformerLens's hooks and order of operations:
//   sequential: resid_mid  = resid_pre + attn_out(ln1(resid_pre))
//               resid_post = resid_mid + mlp_out(ln2(resid_mid))
//   parallel (GPT-J, NeoX, Phi; no hook_resid_mid):
//               resid_post = resid_pre + attn_out(ln1(resid_pre)) + mlp_out(ln2(resid_pre))
// With use_normalization_before_and_after (Gemma-2), attn_out = ln1_post(attn(..)) and mlp_out = ln2_post(mlp(..)).
import type { HookedTransformerConfig, NormalizationType } from "../../loading/config.js";
import { ConfigError, ModelError } from "../../errors.js";
import type { Tensor } from "../../tensor/index.js";
import type { HookPoint } from "../hook-point.js";
import type { RunContext } from "../run/context.js";
import { Attention } from "./attention/attention.js";
import { attentionInputs, type BlockInputParts, type BlockMasking } from "./block-inputs.js";
import type { PosEmbed } from "./embed.js";
import { HookTable, type HookOrders, type HookRow } from "./hook-table.js";
import { Norm } from "./layer-norm.js";
import { GatedMLP, MLP } from "./mlp.js";

type BlockHook =
  | "hook_resid_pre"
  | "hook_attn_in"
  | "hook_q_input"
  | "hook_k_input"
  | "hook_v_input"
  | "hook_attn_out"
  | "hook_resid_mid"
  | "hook_mlp_in"
  | "hook_mlp_out"
  | "hook_resid_post";

const orders = (points: readonly HookPoint[] | undefined): HookOrders | null =>
  points ? { forwardOrder: points, moduleOrder: points } : null;

/** TL's norm after a sublayer: never folded, so RMSPre keeps an RMSNorm with weights. TL 2.18 builds none for
 *  LN / LNPre (its check for them never matches, and the block fails to build), so tlens refuses those. */
function postNormType(type: NormalizationType, where: string): "RMS" | null {
  if (type === null) return null;
  if (type === "RMS" || type === "RMSPre") return "RMS";
  throw new ConfigError(
    `${where}: use_normalization_before_and_after needs RMS or RMSPre normalization (TL 2.18 has no post-norm for ${type})`,
  );
}

export class TransformerBlock implements BlockInputParts, HookOrders {
  readonly ln1: Norm | null;
  readonly ln2: Norm | null;
  /** Gemma-2's post-norms on the attention and MLP outputs (use_normalization_before_and_after). */
  readonly ln1Post: Norm | null;
  readonly ln2Post: Norm | null;
  /** parallel_attn_mlp: the MLP reads resid_pre, beside the attention. */
  readonly parallel: boolean;
  readonly attn: Attention;
  readonly mlp: MLP | GatedMLP | null;
  readonly hooks: HookTable<BlockHook>;

  /** cfg: the model's config. posEmbed (shortformer models): where the block looks up positional embeddings when a
   *  caller runs it without `shortformerPosEmbed` (e.g. a runner starting at this block). */
  constructor(
    readonly index: number,
    readonly cfg: HookedTransformerConfig,
    readonly posEmbed: PosEmbed | null = null,
  ) {
    const p = `blocks.${index}`;
    const norm = cfg.normalizationType;
    this.ln1 = norm ? new Norm(`${p}.ln1`, norm, cfg.dModel, cfg.eps) : null;
    this.ln2 = norm && !cfg.attnOnly ? new Norm(`${p}.ln2`, norm, cfg.dModel, cfg.eps) : null;
    const post = cfg.useNormalizationBeforeAndAfter ? postNormType(norm, p) : null;
    this.ln1Post = post ? new Norm(`${p}.ln1_post`, post, cfg.dModel, cfg.eps) : null;
    this.ln2Post = post && !cfg.attnOnly ? new Norm(`${p}.ln2_post`, post, cfg.dModel, cfg.eps) : null;
    this.parallel = cfg.parallelAttnMlp && !cfg.attnOnly;
    this.attn = new Attention(`${p}.attn`, cfg, index);
    this.mlp = cfg.attnOnly
      ? null
      : cfg.gatedMlp
        ? new GatedMLP(`${p}.mlp`, cfg.dModel, cfg.dMlp, cfg.actFn)
        : new MLP(`${p}.mlp`, cfg.dModel, cfg.dMlp, cfg.actFn);
    // forward order, with TL's module order; attention-only blocks keep TL's (never firing) hook_mlp_in/out
    const rows: HookRow<BlockHook>[] = [
      { hook: "hook_resid_pre", module: 13 },
      { hook: "hook_attn_in", module: 6 },
      { hook: "hook_q_input", module: 7 },
      { hook: "hook_k_input", module: 8 },
      { hook: "hook_v_input", module: 9 },
      { child: orders(this.ln1?.hookPoints), module: 0 },
      { child: this.attn, module: 4 },
      { child: orders(this.ln1Post?.hookPoints), module: 1 },
      { hook: "hook_attn_out", module: 11 },
      { hook: "hook_resid_mid", module: 14, present: !cfg.attnOnly && !this.parallel },
      { hook: "hook_mlp_in", module: 10 },
      { child: orders(this.ln2?.hookPoints), module: 2 },
      { child: orders(this.mlp?.hookPoints), module: 5 },
      { child: orders(this.ln2Post?.hookPoints), module: 3 },
      { hook: "hook_mlp_out", module: 12 },
      { hook: "hook_resid_post", module: 15 },
    ];
    this.hooks = new HookTable(p, rows);
  }

  get forwardOrder(): readonly HookPoint[] {
    return this.hooks.forwardOrder;
  }
  /** TL's hook_dict order. */
  get moduleOrder(): readonly HookPoint[] {
    return this.hooks.moduleOrder;
  }
  get nKvHeads(): number {
    return this.attn.nKvHeads;
  }
  hook(name: BlockHook): HookPoint {
    return this.hooks.get(name);
  }

  /** resid_pre [batch, pos, d_model] → resid_post [batch, pos, d_model] */
  async forward(residIn: Tensor, masking: BlockMasking, ctx: RunContext): Promise<Tensor> {
    const residPre = await this.hook("hook_resid_pre").run(residIn, ctx);
    const inputs = await attentionInputs(this, residPre, masking, ctx);
    return this.afterAttention(residPre, await this.attn.forward(inputs, masking, ctx), ctx);
  }

  /** The block from the attention's output [batch, pos, d_model] on: hook_attn_out, resid_mid, the MLP, resid_post. */
  async afterAttention(residPre: Tensor, attnResult: Tensor, ctx: RunContext): Promise<Tensor> {
    const attnOut = await this.hook("hook_attn_out").run(
      this.ln1Post ? await this.ln1Post.forward(attnResult, ctx) : attnResult,
      ctx,
    );
    if (!this.mlp) return this.hook("hook_resid_post").run(residPre.add(attnOut), ctx);
    if (this.parallel) {
      const mlpOut = await this.mlpOut(residPre, ctx);
      return this.hook("hook_resid_post").run(residPre.add(attnOut).add_(mlpOut), ctx);
    }
    const residMid = await this.hook("hook_resid_mid").run(residPre.add(attnOut), ctx);
    return this.hook("hook_resid_post").run(residMid.add(await this.mlpOut(residMid, ctx)), ctx);
  }

  /** The MLP's input residual [batch, pos, d_model] (resid_mid, or resid_pre when parallel) → hook_mlp_out. */
  private async mlpOut(resid: Tensor, ctx: RunContext): Promise<Tensor> {
    const mlpIn = this.cfg.useHookMlpIn ? await this.hook("hook_mlp_in").run(resid.clone(), ctx) : resid;
    return this.hook("hook_mlp_out").run(await this.mlpBranch(mlpIn, ctx), ctx);
  }

  /** ln2, the MLP and ln2_post, without hook_mlp_in/out: [batch, pos, d_model] → [batch, pos, d_model]. */
  async mlpBranch(x: Tensor, ctx: RunContext): Promise<Tensor> {
    if (!this.mlp) throw new ModelError(`blocks.${this.index} has no MLP (attention-only model)`);
    const out = await this.mlp.forward(this.ln2 ? await this.ln2.forward(x, ctx) : x, ctx);
    return this.ln2Post ? this.ln2Post.forward(out, ctx) : out;
  }
}
