// Turning what users pass to the model (strings, token tensors, nested arrays) into validated int32 tokens.
import { IndexError, ModelError, ShapeError, TokenizerError } from "../errors.js";
import { fmtShape } from "../tensor/shape.js";
import { Tensor, tensor } from "../tensor/index.js";
import { toTokens, type Tokenizer } from "../tokenizer/index.js";

/** A string, a list of strings, a token tensor [batch, pos] (int32, or float holding integers), or number[][]. */
export type ModelInput = string | string[] | Tensor | number[][];

export interface PreparedTokens {
  /** int32 [batch, pos] */
  tokens: Tensor;
  /** int32 [batch, pos] (1 = real token) when some row is left-padded; null otherwise */
  attentionMask: Tensor | null;
}

export interface TokenizeOptions {
  prependBos?: boolean;
  paddingSide?: "left" | "right";
}

/** Checks token ids against the vocabulary and the sequence length against n_ctx. */
export function validateTokens(tokens: Tensor, dVocab: number, nCtx: number): Tensor {
  let t = tokens;
  if (t.ndim === 1) t = t.unsqueeze(0);
  if (t.ndim !== 2) throw new ShapeError(`tokens must be [batch, pos], got shape ${fmtShape(t.shape)}`);
  if (t.dtype !== "int32") {
    if (t.dtype === "bool") throw new ModelError("tokens must be integers, got a bool tensor");
    const ints = t.to("int32");
    if (!t.eq(ints).all().item())
      throw new ModelError("tokens must hold integers; got non-integer values in a float tensor");
    t = ints;
  }
  const [batch, pos] = t.shape as [number, number];
  if (pos === 0 || batch === 0)
    throw new ShapeError(`tokens must hold at least one token per row, got shape ${fmtShape(t.shape)}`);
  if (pos > nCtx) throw new ShapeError(`sequence of ${pos} tokens is longer than the model's context n_ctx = ${nCtx}`);
  const ids = t.contiguous().dataSync();
  for (let i = 0; i < ids.length; i++) {
    if (ids[i]! < 0 || ids[i]! >= dVocab) {
      throw new IndexError(
        `token id ${ids[i]} (batch ${Math.floor(i / pos)}, position ${i % pos}) is out of range for the vocabulary of size d_vocab = ${dVocab}`,
      );
    }
  }
  return t.contiguous();
}

export function prepareTokens(
  input: ModelInput,
  tokenizer: Tokenizer | null,
  cfg: { dVocab: number; nCtx: number },
  opts: TokenizeOptions,
): PreparedTokens {
  if (typeof input === "string" || (Array.isArray(input) && input.length > 0 && typeof input[0] === "string")) {
    if (!tokenizer) throw new TokenizerError("this model has no tokenizer; pass token ids instead of strings");
    const { tokens, attentionMask } = toTokens(tokenizer, input as string | string[], {
      prependBos: opts.prependBos,
      paddingSide: opts.paddingSide,
    });
    const padded = opts.paddingSide === "left" && attentionMask.eq(0).any().item() === 1;
    return { tokens: validateTokens(tokens, cfg.dVocab, cfg.nCtx), attentionMask: padded ? attentionMask : null };
  }
  const t = input instanceof Tensor ? input : tensor(input as number[][], undefined, "float64");
  return { tokens: validateTokens(t, cfg.dVocab, cfg.nCtx), attentionMask: null };
}
