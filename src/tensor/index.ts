// The tensor layer's public surface.
export { Tensor, TensorStorage, where } from "./tensor.js";
export { noGrad, noGradSync, isGradEnabled } from "./autograd/mode.js";
export type { GradNode, GradHook, HookHandle } from "./autograd/tape.js";
export type { BackwardOptions } from "./autograd/engine.js";
export type { Index } from "./indexing.js";
export { nonzero } from "./indexing.js";
export type { TensorLike, NestedArray } from "./convert.js";
export type { DType, TypedArray } from "./dtype.js";
export { tensor, zeros, ones, full, zerosLike, onesLike, arange, linspace, eye, cat, stack } from "./create.js";
export { manualSeed, randn, rand, randint, Generator } from "./random.js";
export * as linalg from "./linalg.js";
export { einsum, rearrange, reduce, repeat } from "./einops.js";
export type { MatmulOptions, MatmulPrecision } from "./matmul.js";
export {
  maskAttentionScores,
  softCap,
  softmaxOrZero,
  rotary,
  rotarySinCos,
  layerNorm,
  type RotaryOptions,
  type NtkByParts,
} from "./nn-ops.js";
