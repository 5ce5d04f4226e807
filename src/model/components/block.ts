// A transformer block with TransformerLens's hooks and order of operations:
//   resid_mid  = resid_pre + attn(ln1(resid_pre))
//   resid_post = resid_mid + mlp(ln2(resid_mid))
import type { HookedTransformerConfig } from "../../loading/config.js";
import type { Tensor } from "../../tensor/index.js";
import type { HookPoint } from "../hook-point.js";
import type { RunContext } from "../run/context.js";
import { Attention } from "./attention/attention.js";
import { attentionInputs, type BlockInputParts, type BlockMasking } from "./block-inputs.js";
import type { PosEmbed } from "./embed.js";
import { HookTable, type HookOrders, type HookRow } from "./hook-table.js";
import { Norm } from "./layer-norm.js";
import { GatedMLP, MLP } from "./mlp.js";

type BlockHook = "hook_resid_pre" | "hook_attn_in" | "hook_q_input" | "hook_k_input" | "hook_v_input" | "hook_attn_out" |
  "hook_resid_mid" | "hook_mlp_in" | "hook_mlp_out" | "hook_resid_post";

const orders = (points: readonly HookPoint[] | undefined): HookOrders | null => (points ? { forwardOrder: points, moduleOrder: points } : null);

export class TransformerBlock implements BlockInputParts, HookOrders {
  readonly ln1: Norm | null;
  readonly ln2: Norm | null;
  readonly attn: Attention;
  readonly mlp: MLP | GatedMLP | null;
  readonly hooks: HookTable<BlockHook>;

  /** cfg: the model's config. posEmbed (shortformer models): where the block looks up positional embeddings when a
   *  caller runs it without `shortformerPosEmbed` (e.g. a runner starting at this block). */
  constructor(readonly index: number, readonly cfg: HookedTransformerConfig, readonly posEmbed: PosEmbed | null = null) {
    const p = `blocks.${index}`;
    const norm = cfg.normalizationType;
    this.ln1 = norm ? new Norm(`${p}.ln1`, norm, cfg.dModel, cfg.eps) : null;
    this.ln2 = norm && !cfg.attnOnly ? new Norm(`${p}.ln2`, norm, cfg.dModel, cfg.eps) : null;
    this.attn = new Attention(`${p}.attn`, cfg, index);
    this.mlp = cfg.attnOnly ? null : cfg.gatedMlp ? new GatedMLP(`${p}.mlp`, cfg.dModel, cfg.dMlp, cfg.actFn) : new MLP(`${p}.mlp`, cfg.dModel, cfg.dMlp, cfg.actFn);
    // forward order, with TL's module order; attention-only blocks keep TL's (never firing) hook_mlp_in/out
    const rows: HookRow<BlockHook>[] = [
      { hook: "hook_resid_pre", module: 11 }, { hook: "hook_attn_in", module: 4 },
      { hook: "hook_q_input", module: 5 }, { hook: "hook_k_input", module: 6 }, { hook: "hook_v_input", module: 7 },
      { child: orders(this.ln1?.hookPoints), module: 0 }, { child: this.attn, module: 2 }, { hook: "hook_attn_out", module: 9 },
      { hook: "hook_resid_mid", module: 12, present: !cfg.attnOnly }, { hook: "hook_mlp_in", module: 8 },
      { child: orders(this.ln2?.hookPoints), module: 1 }, { child: orders(this.mlp?.hookPoints), module: 3 },
      { hook: "hook_mlp_out", module: 10 }, { hook: "hook_resid_post", module: 13 },
    ];
    this.hooks = new HookTable(p, rows);
  }

  get forwardOrder(): readonly HookPoint[] { return this.hooks.forwardOrder; }
  /** TL's hook_dict order. */
  get moduleOrder(): readonly HookPoint[] { return this.hooks.moduleOrder; }
  get nKvHeads(): number { return this.attn.nKvHeads; }
  hook(name: BlockHook): HookPoint { return this.hooks.get(name); }

  /** resid_pre [batch, pos, d_model] → resid_post [batch, pos, d_model] */
  async forward(residIn: Tensor, masking: BlockMasking, ctx: RunContext): Promise<Tensor> {
    const residPre = await this.hook("hook_resid_pre").run(residIn, ctx);
    const inputs = await attentionInputs(this, residPre, masking, ctx);
    return this.afterAttention(residPre, await this.attn.forward(inputs, masking, ctx), ctx);
  }

  /** The block from the attention's output [batch, pos, d_model] on: hook_attn_out, resid_mid, the MLP, resid_post. */
  async afterAttention(residPre: Tensor, attnResult: Tensor, ctx: RunContext): Promise<Tensor> {
    const attnOut = await this.hook("hook_attn_out").run(attnResult, ctx);
    if (!this.mlp) return this.hook("hook_resid_post").run(residPre.add(attnOut), ctx);
    const residMid = await this.hook("hook_resid_mid").run(residPre.add(attnOut), ctx);
    const mlpIn = this.cfg.useHookMlpIn ? await this.hook("hook_mlp_in").run(residMid.clone(), ctx) : residMid;
    const normalized = this.ln2 ? await this.ln2.forward(mlpIn, ctx) : mlpIn;
    const mlpOut = await this.hook("hook_mlp_out").run(await this.mlp.forward(normalized, ctx), ctx);
    return this.hook("hook_resid_post").run(residMid.add(mlpOut), ctx);
  }
}
