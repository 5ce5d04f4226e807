// The dataset layer's public surface (the `datasets` namespace): CPython's random / numpy's legacy stream, and the
// IOI dataset generator. The Mersenne Twister itself (MT19937) and Python's set order stay internal.
export { DatasetError } from "./errors.js";
export { PythonRandom, NumpyRandomState } from "./python-random.js";
export * as ioiConstants from "./ioi-constants.js";
export {
  IOIDataset,
  IOI_PROMPT_TYPES,
  WORD_IDX_KEYS,
  ioiTemplates,
  genPromptUniform,
  genFlippedPrompts,
  parseFlip,
  flipSeed,
  getIdxDict,
  type IOIPromptType,
  type IOIPrompt,
  type WordIdx,
  type WordIdxKey,
  type IOIDatasetOptions,
  type FlipOptions,
} from "./ioi.js";
export { ABC_FLIP, generateIOIData, type IOIDataOptions } from "./ioi-data.js";
