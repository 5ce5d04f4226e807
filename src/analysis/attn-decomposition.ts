// The copy-suppression toolkit (seeds 000, 001, 003; McDougall et al. 2023): attention scores of one head as linear
// functions of its queries or of its keys, the decomposition of a score by the residual-stream components on the
// key side or the query side (W_E, W_pos, every head, every MLP, biases), the ∥/⟂ splits along W_U[IO] (queries)
// and MLP0's output (keys), the effective embedding, and the position-flip patching experiment.
//
// Notation (IOI): per batch row, the query sits at `end`, the key at `IO`, the baseline key at `S1`; the head is
// (layer L, head h). Everything reads an ActivationCache of the run; no extra forward passes except in
// `positionFlipPatching` and `getEffectiveEmbedding`.
//
// The score of query position i on key position j is
//   S = (u_i W_Q + b_Q) · (u_j W_K + b_K) / attnScale,
// u = the ln1 input before any affine: centred (LN/LNPre) and divided by ln1's cached scale. Norm weights and biases
// of unfolded models are folded into W_Q/b_Q and W_K/b_K here, so every identity below holds for any GPT-2-style
// model, folded or not. u is linear in the residual stream's components (each centred and divided by the same
// scale), so S splits exactly into one term per component plus the bias term.
export { type IOIPositions, type IOITokens, type AttnHeadTarget } from "./attn-decomposition/targets.js";
export { foldedQK } from "./attn-decomposition/head-inputs.js";
export {
  attnScoresAsLinearFuncOfQueries,
  attnScoresAsLinearFuncOfKeys,
  attnScoresForQuerySideVectors,
  attnScoresForKeySideVectors,
  type LinearScoreFunction,
  type LinearFuncOptions,
  type SideVectorScores,
  type QuerySideVectorsOptions,
  type KeySideVectorsOptions,
} from "./attn-decomposition/linear-scores.js";
export { attnDecompositionLabels, headResultsAt } from "./attn-decomposition/components.js";
export {
  getEffectiveEmbedding,
  type EffectiveEmbedding,
  type EffectiveEmbeddingOptions,
} from "./attn-decomposition/effective-embedding.js";
export {
  decomposeAttnScores,
  copySuppressionHookNames,
  type QueryIntervention,
  type KeyIntervention,
  type DecomposeAttnScoresOptions,
  type AttnScoreDecomposition,
} from "./attn-decomposition/decompose.js";
export {
  decomposeAttnScoresFull,
  type FullDecompositionOptions,
  type FullAttnScoreDecomposition,
} from "./attn-decomposition/full-decomposition.js";
export {
  positionFlipPatching,
  type PositionFlipOptions,
  type PositionFlipResult,
} from "./attn-decomposition/position-flip.js";
