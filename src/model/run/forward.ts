// The model's forward pass, top to bottom, for one run (its RunContext):
//   residual = embed(tokens) + pos_embed(positions)     // [batch, pos, d_model]
//   residual = block(residual) for each block
//   logits   = unembed(ln_final(residual))              // [batch, pos, d_vocab_out]
import { HookError, ModelError, ShapeError } from "../../errors.js";
import { arange, cat, ones, Tensor } from "../../tensor/index.js";
import { fmtShape } from "../../tensor/shape.js";
import type { ForwardOptions, HookedTransformer } from "../hooked-transformer.js";
import type { KeyValueCache } from "../kv-cache.js";
import { prepareTokens, validateTokens, type ModelInput } from "../model-input.js";
import { RunContext } from "./context.js";

export type ForwardResult = Tensor | { logits: Tensor; loss: Tensor } | null;

/** The residual stream entering the first block run, with what the blocks and the loss need. */
interface Start {
  residual: Tensor;
  tokens: Tensor | null;
  attentionMask: Tensor | null;
  shortformerPosEmbed?: Tensor;
}

export async function runForward(
  model: HookedTransformer,
  input: ModelInput | Tensor,
  opts: ForwardOptions,
  runCtx: RunContext,
): Promise<ForwardResult> {
  const cfg = model.cfg;
  const returnType = opts.returnType === undefined ? "logits" : opts.returnType;
  const start = opts.startAtLayer ?? 0;
  const stop = opts.stopAtLayer ?? cfg.nLayers;
  // a negative stopAtLayer counts from the end, as in TL
  const stopAt = stop < 0 ? stop + cfg.nLayers : stop;
  checkLayer("startAtLayer", start, cfg.nLayers);
  checkLayer("stopAtLayer", stopAt, cfg.nLayers);
  const kv = opts.pastKvCache;
  // with a KV cache, hooks see only the new positions, which start at the cache's length
  const ctx = runCtx.at(kv?.length ?? 0).withPrecision(opts.matmulPrecision);
  const s =
    opts.startAtLayer !== undefined ? fromResidual(model, input, opts) : await fromTokens(model, input, opts, ctx);
  // with a KV cache, attention masks over cached + new positions
  const keyMask = kv ? kv.extendMask(s.residual.shape[0]!, s.residual.shape[1]!, s.attentionMask) : s.attentionMask;
  let residual = s.residual;
  for (let l = start; l < stopAt; l++) {
    residual = await model.blocks[l]!.forward(
      residual,
      { attentionMask: keyMask, kvCache: kv?.entries[l], shortformerPosEmbed: s.shortformerPosEmbed },
      ctx,
    );
  }
  if (opts.stopAtLayer !== undefined) return residual;
  if (opts.logitPositions !== undefined) {
    if (returnType === "loss" || returnType === "both")
      throw new ModelError("the loss needs logits at every position; drop logitPositions");
    const pos = residual.shape[1]!;
    const picks = opts.logitPositions === "last" ? [pos - 1] : opts.logitPositions;
    residual = residual.get(":", Tensor.fromTypedArray(Int32Array.from(picks), [picks.length]));
  }
  const normalized = model.lnFinal ? await model.lnFinal.forward(residual, ctx) : residual;
  // nothing reads the logits: skip the unembedding, often the largest GEMM (ln_final's hooks still fire)
  if (returnType === null) return null;
  const logits = model.unembed.forward(normalized, ctx.matmulPrecision);
  if (returnType === "logits") return logits;
  if (!s.tokens) throw new ModelError("the loss needs the tokens: pass opts.tokens together with startAtLayer");
  const loss = lmCrossEntropy(logits, s.tokens, s.attentionMask, opts.lossPerToken ?? false);
  return returnType === "loss" ? loss : { logits, loss };
}

/** startAtLayer: the input is the residual stream [batch, pos, d_model] before that block. */
function fromResidual(model: HookedTransformer, input: ModelInput | Tensor, opts: ForwardOptions): Start {
  const d = model.cfg.dModel;
  if (!(input instanceof Tensor) || input.ndim !== 3 || input.shape[2] !== d) {
    throw new ShapeError(
      `forward with startAtLayer takes the residual stream [batch, pos, d_model=${d}], got ${input instanceof Tensor ? fmtShape(input.shape) : typeof input}`,
    );
  }
  const tokens = opts.tokens ? validateTokens(opts.tokens, model.cfg.dVocab, model.cfg.nCtx) : null;
  return { residual: input, tokens, attentionMask: opts.attentionMask ?? null };
}

async function fromTokens(
  model: HookedTransformer,
  input: ModelInput | Tensor,
  opts: ForwardOptions,
  ctx: RunContext,
): Promise<Start> {
  const prepared = prepareTokens(input, model.tokenizer, model.cfg, {
    prependBos: opts.prependBos,
    paddingSide: opts.paddingSide,
  });
  const tokens = prepared.tokens;
  const attentionMask = opts.attentionMask ?? prepared.attentionMask;
  if (attentionMask && (attentionMask.shape[0] !== tokens.shape[0] || attentionMask.shape[1] !== tokens.shape[1])) {
    throw new ShapeError(
      `attentionMask has shape ${fmtShape(attentionMask.shape)} but the tokens have shape ${fmtShape(tokens.shape)}`,
    );
  }
  return { attentionMask, ...(await embedTokens(model, tokens, attentionMask, opts.pastKvCache, ctx)) };
}

/** [hook_tokens,] hook_embed + hook_pos_embed → the residual stream before block 0, and the tokens [batch, pos]
 *  the model ran on (hook_tokens may replace them; the loss uses them, as TL). tokens [batch, pos] (the new ones when a
 *  KV cache holds earlier positions). Shortformer models keep positions out of the residual stream and return
 *  them for the blocks' queries and keys; rotary models have no positional embedding here. */
async function embedTokens(
  model: HookedTransformer,
  tokens: Tensor,
  attentionMask: Tensor | null,
  kv: KeyValueCache | undefined,
  ctx: RunContext,
): Promise<{ residual: Tensor; tokens: Tensor; shortformerPosEmbed?: Tensor }> {
  const [batch, pos] = tokens.shape as [number, number];
  const past = kv?.length ?? 0;
  if (past + pos > model.cfg.nCtx) {
    throw new ShapeError(`${past} cached + ${pos} new tokens exceed the model's context n_ctx = ${model.cfg.nCtx}`);
  }
  // use_hook_tokens: hooks may replace the ids [batch, pos] the embedding and the loss read
  const ids = model.hookTokens ? await model.hookTokens.run(tokens, ctx) : tokens;
  const embed = await model.embed.hook.run(await model.embed.forward(ids, ctx), ctx);
  if (!model.posEmbed) return { residual: embed, tokens: ids };
  // padding: positions count real tokens only (TL's get_offset_position_ids), over cached + new positions
  const pastMask = kv?.attentionMask ?? null;
  const fullMask = pastMask
    ? cat([pastMask, (attentionMask ?? ones([batch, pos], "int32")).to("int32")], 1)
    : attentionMask;
  const positions = fullMask
    ? fullMask.to("int32").cumsum(1).sub(1).clamp(0).narrow(1, past, pos).to("int32")
    : arange(past, past + pos)
        .unsqueeze(0)
        .expand(batch, pos);
  const posEmbed = await model.posEmbed.hook.run(model.posEmbed.forward(positions, attentionMask), ctx);
  if (model.cfg.positionalEmbeddingType === "shortformer")
    return { residual: embed, tokens: ids, shortformerPosEmbed: posEmbed };
  return { residual: embed.add(posEmbed), tokens: ids };
}

function checkLayer(what: string, layer: number, nLayers: number): void {
  if (!Number.isInteger(layer) || layer < 0 || layer > nLayers) {
    throw new HookError(`${what} = ${layer} is out of range for a model with ${nLayers} layers (0..${nLayers})`);
  }
}

/** Next-token cross entropy: mean over positions (and real tokens under a mask), or per token [batch, pos - 1]. */
function lmCrossEntropy(logits: Tensor, tokens: Tensor, attentionMask: Tensor | null, perToken: boolean): Tensor {
  const pos = tokens.shape[1]!;
  if (pos < 2) throw new ShapeError("the loss needs at least 2 tokens per row");
  const logProbs = logits.narrow(1, 0, pos - 1).logSoftmax(-1);
  const targets = tokens.narrow(1, 1, pos - 1).unsqueeze(-1);
  let nll = logProbs.gather(-1, targets).squeeze(-1).neg(); // [batch, pos - 1]
  if (attentionMask) {
    const m = attentionMask.narrow(1, 1, pos - 1).to("float32");
    nll = nll.mul(m);
    return perToken ? nll : nll.sum().div(m.sum());
  }
  return perToken ? nll : nll.mean();
}
