// The environment-neutral public API: everything the Node entry (index.ts) and the browser entry
// (browser/index.ts) both export. Nothing reachable from here may import a Node built-in, except through the modules
// the browser build substitutes (scripts/build-browser.mjs).
//
// The root is TransformerLens's: the model classes, the tensor constructors, the errors; everything else sits in a
// namespace named after TransformerLens's module for it (docs/api.md). test/api/surface.test.ts holds the list.

// ---------- tensors (torch-like) ----------
export {
  Tensor,
  where,
  tensor,
  zeros,
  ones,
  full,
  zerosLike,
  onesLike,
  arange,
  linspace,
  eye,
  cat,
  stack,
  manualSeed,
  randn,
  rand,
  randint,
  Generator,
  linalg,
  einsum,
  rearrange,
  reduce,
  repeat,
  noGrad,
  noGradSync,
  isGradEnabled,
  type TensorStorage,
  type DType,
  type TypedArray,
  type TensorLike,
  type NestedArray,
  type Index,
  type GradNode,
  type GradHook,
  type HookHandle,
  type BackwardOptions,
  type MatmulOptions,
  type MatmulPrecision,
} from "./tensor/index.js";
export { FactoredMatrix, type FactoredSvd } from "./tensor/factored-matrix.js";

// ---------- errors: TlensError and every subclass ----------
export * from "./errors.js";

// ---------- the model ----------
export { HookedTransformer } from "./model/hooked-transformer.js";
export type {
  ForwardOptions,
  ForwardReturnType,
  RunWithCacheOptions,
  RunWithHooksOptions,
  HookLists,
  FromPretrainedOptions,
} from "./model/hooked-transformer.js";
export type { GenerateOptions } from "./model/generate.js";
export {
  ActivationCache,
  type TokensInput,
  type AccumulatedResidOptions,
  type DecomposeResidOptions,
  type StackHeadResultsOptions,
  type StackNeuronResultsOptions,
  type FullResidDecompositionOptions,
  type ApplyLnToStackOptions,
  type LogitAttrsOptions,
} from "./model/activation-cache.js";
export { HookPoint, type HookFn, type HookInfo, type NameFilter, type AddHookOptions } from "./model/hook-point.js";
export type { ModelInput } from "./model/model-input.js";
export type { ProcessOptions } from "./model/weight-processing.js";
export { makeConfig, type HookedTransformerConfig } from "./loading/config.js";

// ---------- what the api sketch puts at the root besides ----------
export { detectHead, type DetectHeadOptions } from "./analysis/head-detector.js";
export { IOIDataset, type IOIDatasetOptions, type IOIPrompt } from "./datasets/ioi.js";
/** A patching metric: logits → a number or a scalar tensor (TL's `patching_metric`). */
export type { MetricFn as Metric } from "./analysis/patching/engine.js";
/** A differentiable metric for attribution patching: logits → a scalar tensor that requires grad. */
export type { AttributionMetric as DiffMetric } from "./analysis/attribution/node/grad-run.js";

// ---------- namespaces, after TransformerLens's modules ----------
/** `transformer_lens.patching`: every `get_act_patch_*`, camelCased, same argument order (docs/patching.md). */
export * as patching from "./analysis/patching/index.js";
/** Path patching to the logits and to receiver heads (IOI paper, ARENA 1.4; docs/ioi.md). */
export * as pathPatching from "./namespaces/path-patching.js";
/** Attribution patching (AtP, AtP*) and edge attribution (EAP, EAP-IG) with circuit evaluation (docs/attribution.md). */
export * as attribution from "./analysis/attribution/index.js";
/** `transformer_lens.head_detector` and ARENA's attention detectors (docs/circuits.md). */
export * as detectors from "./namespaces/detectors.js";
/** Full OV/QK circuits, copying and composition scores, mean-ablation circuit validation (docs/circuits.md). */
export * as circuits from "./namespaces/circuits.js";
/** The logit lens and direct logit attribution (docs/analysis.md). */
export * as logitLens from "./namespaces/logit-lens.js";
/** Steering vectors: activation addition, contrastive vectors, sweeps (docs/steering.md). */
export * as steering from "./namespaces/steering.js";
/** The IOI toolkit: metric, data and caches, the paper's head analyses, the pipeline (docs/ioi.md). */
export * as ioi from "./namespaces/ioi.js";
/** The copy-suppression toolkit: attention-score decompositions, effective embedding, position flips (docs/copy-suppression.md). */
export * as copySuppression from "./namespaces/copy-suppression.js";
/** Python's `random` port and the IOI dataset generator (docs/datasets.md). */
export * as datasets from "./datasets/index.js";
/** Figures as plotly JSON, CircuitsVis-style viewers, HTML reports, PNG export (docs/report.md). */
export * as viz from "./viz/index.js";
/** GPT-2 BPE, the llama2.c and Hugging Face tokenizers, and TL's token helpers (docs/model.md). */
export * as tokenizer from "./tokenizer/index.js";
/** Kernel backend selection: native, wasm, js (docs/performance.md). */
export * as backend from "./backend/index.js";
/** `transformer_lens.utils`: getActName, Slice, hook and progress helpers (docs/model.md). */
export * as utils from "./namespaces/utils.js";
