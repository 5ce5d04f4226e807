// A transformer block with TransformerLens's hooks and order of operations.
import { TlensError } from "../../errors.js";
import type { HookedTransformerConfig } from "../../loading/config.js";
import { arange, type Tensor } from "../../tensor/index.js";
import { HookPoint } from "../hook-point.js";
import { Attention, type AttentionMasking } from "./attention.js";
import type { KeyValueCacheEntry } from "../kv-cache.js";
import type { PosEmbed } from "./embed.js";
import { Norm } from "./layer-norm.js";
import { GatedMLP, MLP } from "./mlp.js";

export class TransformerBlock {
  readonly ln1: Norm | null;
  readonly ln2: Norm | null;
  readonly attn: Attention;
  readonly mlp: MLP | GatedMLP | null;
  readonly hookAttnIn: HookPoint;
  readonly hookQInput: HookPoint;
  readonly hookKInput: HookPoint;
  readonly hookVInput: HookPoint;
  readonly hookMlpIn: HookPoint;
  readonly hookAttnOut: HookPoint;
  readonly hookMlpOut: HookPoint;
  readonly hookResidPre: HookPoint;
  readonly hookResidMid: HookPoint;
  readonly hookResidPost: HookPoint;

  /** cfg: the model's config. posEmbed (shortformer models): where the block looks up positional embeddings when a
   *  caller runs it without `shortformerPosEmbed` (e.g. a patching sweep starting at this block). */
  constructor(readonly index: number, readonly cfg: HookedTransformerConfig, private readonly posEmbed: PosEmbed | null = null) {
    const p = `blocks.${index}`;
    const hp = (n: string): HookPoint => new HookPoint(`${p}.${n}`);
    const norm = cfg.normalizationType;
    this.ln1 = norm ? new Norm(`${p}.ln1`, norm, cfg.dModel, cfg.eps) : null;
    this.ln2 = norm && !cfg.attnOnly ? new Norm(`${p}.ln2`, norm, cfg.dModel, cfg.eps) : null;
    const scale = cfg.useAttnScale ? cfg.attnScale * (cfg.scaleAttnByInverseLayerIdx ? index + 1 : 1) : 1;
    const rotary = cfg.positionalEmbeddingType === "rotary"
      ? { dim: cfg.rotaryDim ?? cfg.dHead, base: cfg.rotaryBase, adjacentPairs: cfg.rotaryAdjacentPairs, nCtx: cfg.nCtx }
      : null;
    this.attn = new Attention(`${p}.attn`, cfg.nHeads, cfg.dModel, cfg.dHead, scale, cfg.attentionDir === "causal", {
      nKeyValueHeads: cfg.nKeyValueHeads, rotary, shortformer: cfg.positionalEmbeddingType === "shortformer",
    });
    this.mlp = cfg.attnOnly ? null : cfg.gatedMlp ? new GatedMLP(`${p}.mlp`, cfg.dModel, cfg.dMlp, cfg.actFn) : new MLP(`${p}.mlp`, cfg.dModel, cfg.dMlp, cfg.actFn);
    this.hookAttnIn = hp("hook_attn_in");
    this.hookQInput = hp("hook_q_input");
    this.hookKInput = hp("hook_k_input");
    this.hookVInput = hp("hook_v_input");
    this.hookMlpIn = hp("hook_mlp_in");
    this.hookAttnOut = hp("hook_attn_out");
    this.hookMlpOut = hp("hook_mlp_out");
    this.hookResidPre = hp("hook_resid_pre");
    this.hookResidMid = hp("hook_resid_mid");
    this.hookResidPost = hp("hook_resid_post");
  }

  /** Every hook point of the block in TL's module order (hook_dict order). */
  get hookPoints(): HookPoint[] {
    return [
      ...(this.ln1?.hookPoints ?? []), ...(this.ln2?.hookPoints ?? []), ...this.attn.hookPoints, ...(this.mlp?.hookPoints ?? []),
      this.hookAttnIn, this.hookQInput, this.hookKInput, this.hookVInput, this.hookMlpIn, this.hookAttnOut, this.hookMlpOut,
      this.hookResidPre, ...(this.cfg.attnOnly ? [] : [this.hookResidMid]), this.hookResidPost,
    ];
  }

  /** The hook points that only fire when a cfg flag is on, by flag. */
  isEnabled(point: HookPoint): boolean {
    if (point === this.attn.hookResult) return this.cfg.useAttnResult;
    if (point === this.hookAttnIn) return this.cfg.useAttnIn;
    if (point === this.hookQInput || point === this.hookKInput || point === this.hookVInput) return this.cfg.useSplitQkvInput;
    if (point === this.hookMlpIn) return this.cfg.useHookMlpIn;
    if (point === this.attn.hookAttnInput) return false; // as in TL 2.x: created, never called
    return true;
  }

  /** Shortformer: the positional embeddings [batch, pos, d_model] of this forward's positions (given by the model, or
   *  looked up for positions past .. past + pos, past = the KV cache length). */
  private shortformerPos(resid: Tensor, masking: AttentionMasking): Tensor {
    if (masking.shortformerPosEmbed) return masking.shortformerPosEmbed;
    if (!this.posEmbed) throw new TlensError(`blocks.${this.index}: a shortformer block needs the positional embeddings (shortformerPosEmbed)`);
    const [batch, pos] = resid.shape;
    const past = masking.kvCache?.keys?.shape[1] ?? 0;
    return this.posEmbed.forward(arange(past, past + pos, 1, "int32").unsqueeze(0).expand(batch, pos), null);
  }

  private async norm1(x: Tensor): Promise<Tensor> {
    return this.ln1 ? this.ln1.forward(x) : x;
  }

  /** Appends the keys and values of positions residIn [batch, pos, d_model] to masking.kvCache without computing
   *  these positions' outputs and without running hooks: for callers that need the block's output at later
   *  positions only (the last block of a fast patching sweep). */
  async appendKeysValues(residIn: Tensor, masking: AttentionMasking & { kvCache: KeyValueCacheEntry }): Promise<void> {
    if (this.cfg.useAttnIn || this.cfg.useSplitQkvInput) {
      throw new TlensError(`blocks.${this.index}: appendKeysValues needs shared attention inputs (use_attn_in and use_split_qkv_input off)`);
    }
    const vN = await this.norm1(residIn);
    const kN = this.cfg.positionalEmbeddingType === "shortformer" ? vN.add(this.shortformerPos(residIn, masking)) : vN;
    const [k, v] = this.attn.keysValues(kN, vN);
    masking.kvCache.append(k, v);
  }

  /** resid [batch, pos, d_model] → [batch, pos, d_model] */
  async forward(residIn: Tensor, masking: AttentionMasking): Promise<Tensor> {
    const cfg = this.cfg;
    this.attn.useAttnResult = cfg.useAttnResult;
    const residPre = await this.hookResidPre.run(residIn);
    const perHead = cfg.useAttnIn || cfg.useSplitQkvInput;
    // [batch, pos, heads, d_model]: the residual repeated per head (n_kv_heads for k and v under GQA, as TL)
    const repeated = (heads = cfg.nHeads): Tensor => residPre.unsqueeze(2).expand(-1, -1, heads, -1).contiguous();
    let attnIn = perHead ? repeated() : residPre;
    if (cfg.useAttnIn) attnIn = await this.hookAttnIn.run(attnIn.clone());
    let qIn = attnIn;
    let kIn = attnIn;
    let vIn = attnIn;
    if (cfg.useSplitQkvInput) {
      qIn = await this.hookQInput.run(attnIn.clone());
      kIn = await this.hookKInput.run(repeated(this.attn.nKvHeads));
      vIn = await this.hookVInput.run(repeated(this.attn.nKvHeads));
    }
    // TL normalises the q, k and v inputs separately (ln1's hooks fire three times); when only readers (a cache) hook
    // ln1 and the three inputs are one tensor, normalising once (firing them once) gives the same numbers.
    let qN: Tensor;
    let kN: Tensor;
    let vN: Tensor;
    const ln1Hooked = this.ln1?.hookPoints.some((h) => !h.onlyReaders) ?? false;
    if (qIn === kIn && kIn === vIn && !ln1Hooked) {
      qN = kN = vN = await this.norm1(qIn);
    } else {
      qN = await this.norm1(qIn);
      kN = await this.norm1(kIn);
      vN = await this.norm1(vIn);
      // hooks that leave the three equal (ones that only read): one tensor then takes the fused projection, so the
      // run computes exactly the numbers of an unhooked one
      if (qIn === kIn && kIn === vIn && qN.equal(kN) && kN.equal(vN)) kN = vN = qN;
    }
    if (cfg.positionalEmbeddingType === "shortformer") {
      // TL: ln1(query_input) + pos_embed, ln1(key_input) + pos_embed; values see no positions
      let pe = this.shortformerPos(residPre, masking);
      if (qN.ndim === 4) pe = pe.unsqueeze(2);
      const sameQk = qN === kN;
      qN = qN.add(pe);
      kN = sameQk ? qN : kN.add(pe);
    }
    return this.afterAttention(residPre, await this.attn.forward(qN, kN, vN, masking));
  }

  /** The block's output when its attention's z [batch, pos, head, d_head] is given, for residIn [batch, pos, d_model]:
   *  hook_resid_pre and the hooks from hook_z on run; q, k, v, scores and pattern are neither computed nor hooked. */
  async forwardFromZ(residIn: Tensor, z: Tensor): Promise<Tensor> {
    this.attn.useAttnResult = this.cfg.useAttnResult;
    const residPre = await this.hookResidPre.run(residIn);
    return this.afterAttention(residPre, await this.attn.outputFromZ(z));
  }

  /** hook_attn_out, the residual sum and the MLP: [batch, pos, d_model] */
  private async afterAttention(residPre: Tensor, attnResult: Tensor): Promise<Tensor> {
    const attnOut = await this.hookAttnOut.run(attnResult);
    if (!this.mlp) return this.hookResidPost.run(residPre.add(attnOut));
    const residMid = await this.hookResidMid.run(residPre.add(attnOut));
    const mlpIn = this.cfg.useHookMlpIn ? await this.hookMlpIn.run(residMid.clone()) : residMid;
    const normalized = this.ln2 ? await this.ln2.forward(mlpIn) : mlpIn;
    const mlpOut = await this.hookMlpOut.run(await this.mlp.forward(normalized));
    return this.hookResidPost.run(residMid.add(mlpOut));
  }
}
