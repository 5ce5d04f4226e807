// The attention's inputs from the block's resid_pre [batch, pos, d_model] — the one place that knows TL's
// use_attn_in (hook_attn_in, per head), use_split_qkv_input (hook_q/k/v_input, per head), shortformer positions
// (added to the query and key inputs after ln1) and ln1's firing rule: TL normalises q, k and v inputs separately,
// so ln1's hooks fire three times; when no hook on ln1 writes (none, or only a cache's readers), normalising once
// gives the same numbers and keeps one shared input, whose projection is a single fused GEMM.
import type { HookedTransformerConfig } from "../../loading/config.js";
import { arange, type Tensor } from "../../tensor/index.js";
import { ModelError } from "../../errors.js";
import type { RunContext } from "../run/context.js";
import type { AttentionInputs } from "./attention/projection.js";
import type { AttentionMasking } from "./attention/attention.js";
import type { PosEmbed } from "./embed.js";
import type { HookPoint } from "../hook-point.js";
import type { Norm } from "./layer-norm.js";

export interface BlockMasking extends AttentionMasking {
  /** Shortformer models: the positional embeddings [batch, pos, d_model] of this forward's positions (TL's
   *  shortformer_pos_embed); when absent, the block looks them up for positions kvCache length .. + pos. */
  shortformerPosEmbed?: Tensor;
}

/** What the inputs read from their block. */
export interface BlockInputParts {
  readonly index: number;
  readonly cfg: HookedTransformerConfig;
  readonly ln1: Norm | null;
  /** Key/value heads of the attention (per-head k and v inputs have this many). */
  readonly nKvHeads: number;
  readonly posEmbed: PosEmbed | null;
  hook(name: "hook_attn_in" | "hook_q_input" | "hook_k_input" | "hook_v_input"): HookPoint;
}

/** resid_pre [batch, pos, d_model] → the attention inputs after ln1 (and shortformer positions). */
export async function attentionInputs(
  b: BlockInputParts,
  residPre: Tensor,
  masking: BlockMasking,
  ctx: RunContext,
): Promise<AttentionInputs> {
  const cfg = b.cfg;
  const norm = (x: Tensor): Promise<Tensor> => (b.ln1 ? b.ln1.forward(x, ctx) : Promise.resolve(x));
  const ln1Writes = b.ln1 !== null && !b.ln1.hookPoints.every((h) => ctx.onlyReaders(h));
  const pe = cfg.positionalEmbeddingType === "shortformer" ? shortformerPositions(b, residPre, masking) : null;
  if (cfg.useAttnIn || cfg.useSplitQkvInput) return perHeadInputs(b, residPre, pe, ln1Writes, norm, ctx);
  if (!ln1Writes) {
    const x = await norm(residPre);
    if (!pe) return { kind: "shared", x };
    // TL: ln1(query_input) + pos_embed, ln1(key_input) + pos_embed; values see no positions
    const qk = x.add(pe);
    return { kind: "separate", q: qk, k: qk, v: x };
  }
  const [q, k, v] = [await norm(residPre), await norm(residPre), await norm(residPre)];
  return pe ? { kind: "separate", q: q.add(pe), k: k.add(pe), v } : { kind: "separate", q, k, v };
}

/** use_attn_in / use_split_qkv_input: the residual repeated per head [batch, pos, head, d_model] (n_kv_heads for
 *  k and v under GQA, as TL), hooked, then normalised. */
async function perHeadInputs(
  b: BlockInputParts,
  residPre: Tensor,
  pe: Tensor | null,
  ln1Writes: boolean,
  norm: (x: Tensor) => Promise<Tensor>,
  ctx: RunContext,
): Promise<AttentionInputs> {
  const repeated = (heads: number): Tensor => residPre.unsqueeze(2).expand(-1, -1, heads, -1).contiguous();
  let attnIn = repeated(b.cfg.nHeads);
  if (b.cfg.useAttnIn) attnIn = await b.hook("hook_attn_in").run(attnIn.clone(), ctx);
  let q: Tensor, k: Tensor, v: Tensor;
  if (b.cfg.useSplitQkvInput) {
    // TL's order: the three input hooks, then ln1 on each
    const qIn = await b.hook("hook_q_input").run(attnIn.clone(), ctx);
    const kIn = await b.hook("hook_k_input").run(repeated(b.nKvHeads), ctx);
    const vIn = await b.hook("hook_v_input").run(repeated(b.nKvHeads), ctx);
    [q, k, v] = [await norm(qIn), await norm(kIn), await norm(vIn)];
  } else if (ln1Writes) {
    [q, k, v] = [await norm(attnIn), await norm(attnIn), await norm(attnIn)];
  } else {
    const x = await norm(attnIn);
    const qk = pe ? x.add(pe.unsqueeze(2)) : x;
    return { kind: "perHead", q: qk, k: qk, v: x };
  }
  if (pe) {
    const pe4 = pe.unsqueeze(2); // [batch, pos, 1, d_model]
    q = q.add(pe4);
    k = k.add(pe4);
  }
  return { kind: "perHead", q, k, v };
}

/** Shortformer: the positional embeddings [batch, pos, d_model] of this forward's positions (given by the model,
 *  or looked up for positions past .. past + pos, past = the KV cache length). */
function shortformerPositions(b: BlockInputParts, resid: Tensor, masking: BlockMasking): Tensor {
  if (masking.shortformerPosEmbed) return masking.shortformerPosEmbed;
  if (!b.posEmbed)
    throw new ModelError(
      `blocks.${b.index}: a shortformer block needs the positional embeddings (shortformerPosEmbed)`,
    );
  const [batch, pos] = resid.shape as [number, number];
  const past = masking.kvCache?.length ?? 0;
  return b.posEmbed.forward(
    arange(past, past + pos, 1, "int32")
      .unsqueeze(0)
      .expand(batch, pos),
    null,
  );
}
