// The options of ActivationCache's analysis methods (TL's keyword arguments, camelCased).
import type { Tensor } from "../tensor/index.js";
import type { SliceInput } from "./cache-analysis.js";

export interface AccumulatedResidOptions {
  /** Streams up to the input of this layer (resid_pre of it included); nothing, -1 or n_layers = all, ending
   *  with the final resid_post ("final_post"). */
  layer?: number | null;
  /** Add resid_mid of each earlier layer. */
  inclMid?: boolean;
  /** Normalise: at the unembed (layer = n_layers) the final norm is recomputed per component (with ln_final's
   *  weights when unfolded); for an earlier layer, centred and divided by that layer's cached ln1/ln2 scale. */
  applyLn?: boolean;
  posSlice?: SliceInput;
  /** Also resid_mid of `layer` (the MLP's input rather than attention's). */
  mlpInput?: boolean;
  returnLabels?: boolean;
}

export interface DecomposeResidOptions {
  /** Outputs of the layers before this one; nothing, -1 or n_layers = all layers. */
  layer?: number | null;
  /** Add attn_out of `layer` (the MLP's input). */
  mlpInput?: boolean;
  mode?: "all" | "attn" | "mlp";
  /** Centre and divide by the cached scale of the norm reading this stream. */
  applyLn?: boolean;
  posSlice?: SliceInput;
  /** hook_embed and hook_pos_embed first (default true). */
  inclEmbeds?: boolean;
  returnLabels?: boolean;
}

export interface StackHeadResultsOptions {
  /** Heads of the layers before this one; nothing, -1 or n_layers = all. */
  layer?: number | null;
  returnLabels?: boolean;
  /** Append "remainder" = the residual stream at `layer` minus the sum of the heads. */
  inclRemainder?: boolean;
  posSlice?: SliceInput;
  applyLn?: boolean;
}

export interface StackNeuronResultsOptions {
  /** Neurons of the layers before this one; nothing, -1 or n_layers = all. */
  layer?: number | null;
  posSlice?: SliceInput;
  /** Which neurons of each layer (an integer keeps its dim, as [n]). */
  neuronSlice?: SliceInput;
  returnLabels?: boolean;
  inclRemainder?: boolean;
  applyLn?: boolean;
  /** The stack feeds `layer`'s MLP: the remainder fills up to resid_mid and ln2's scale is used. */
  mlpInput?: boolean;
}

export interface FullResidDecompositionOptions {
  /** The layer whose input is decomposed; nothing, -1 or n_layers = the unembed's input. */
  layer?: number | null;
  mlpInput?: boolean;
  /** One component per neuron (default) or per MLP layer. */
  expandNeurons?: boolean;
  applyLn?: boolean;
  posSlice?: SliceInput;
  returnLabels?: boolean;
}

export interface ApplyLnToStackOptions {
  /** The layer whose input the stack is; nothing, -1 or n_layers = the unembed (ln_final). */
  layer?: number | null;
  /** Use ln2's scale (the MLP input) instead of ln1's. */
  mlpInput?: boolean;
  /** The pos slice already applied to the stack (applied here to the cached scale). */
  posSlice?: SliceInput;
  /** Applied to the stack's batch dim (dim 1) and to the scale. */
  batchSlice?: SliceInput;
  /** Whether the stack has a batch dim (default: whether the cache has one). */
  hasBatchDim?: boolean;
  /** At the unembed: normalise each component with its own statistics (the logit lens) instead of the cached scale. */
  recomputeLn?: boolean;
}

/** Tokens to attribute to: an id, a single-token string, or ids per batch row [batch] / per position [batch, pos]. */
export type TokensInput = number | string | readonly (number | string)[] | Tensor;

export interface LogitAttrsOptions {
  tokens: TokensInput;
  /** Attribute to the logit difference tokens − incorrectTokens (same shape as tokens). */
  incorrectTokens?: TokensInput;
  posSlice?: SliceInput;
  batchSlice?: SliceInput;
  hasBatchDim?: boolean;
}
