// A token dataset [rows, ctx] from a text, as SAELens's ActivationsStore packs a text dataset into context-size
// rows: the text tokenized once (no BOS) and cut into consecutive pieces of ctx tokens, each after the BOS token
// when the model prepends one (then ctx − 1 text tokens a row). A last piece shorter than a row is dropped, unless
// it is the only one.
import { SaeError } from "../errors.js";
import { Tensor } from "../../tensor/index.js";
import { encodeText } from "../../tokenizer/tokens.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";

/** The text's tokens as rows [rows, ctx] (int32), ctx ≤ n_ctx. */
export function textTokenRows(model: HookedTransformer, text: string, ctx: number): Tensor {
  const tok = model.tokenizer;
  if (!tok) throw new SaeError(`textTokenRows: ${model.cfg.modelName} has no tokenizer to read a text with`);
  const bos = model.cfg.defaultPrependBos && tok.bosTokenId !== null ? tok.bosTokenId : null;
  const minCtx = bos === null ? 1 : 2;
  if (!(Number.isInteger(ctx) && ctx >= minCtx && ctx <= model.cfg.nCtx)) {
    throw new SaeError(
      `textTokenRows: the row length must be an integer from ${minCtx} to the model's context ${model.cfg.nCtx}, got ${ctx}`,
    );
  }
  const ids = encodeText(tok, text, { prependBos: false });
  const per = bos === null ? ctx : ctx - 1;
  if (ids.length === 0) throw new SaeError("textTokenRows: the text has no tokens");
  const rows = Math.max(1, Math.floor(ids.length / per));
  const width = ids.length < per ? ids.length + ctx - per : ctx;
  const out = new Int32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    const at = r * width;
    if (bos !== null) out[at] = bos;
    out.set(ids.slice(r * per, r * per + width - (ctx - per)), at + ctx - per);
  }
  return Tensor.fromTypedArray(out, [rows, width]);
}
