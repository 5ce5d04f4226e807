// The dataset layer's public surface: CPython's random / numpy's legacy stream, and the IOI dataset generator.
export { DatasetError } from "./errors.js";
export { MT19937, PythonRandom, NumpyRandomState, seedKey, type MTState } from "./python-random.js";
export { pythonIntSetOrder } from "./python-set.js";
export * as ioiConstants from "./ioi-constants.js";
export {
  IOIDataset, IOI_PROMPT_TYPES, WORD_IDX_KEYS, ioiTemplates, genPromptUniform, genFlippedPrompts, parseFlip, flipSeed, getIdxDict,
  type IOIPromptType, type IOIPrompt, type WordIdx, type WordIdxKey, type IOIDatasetOptions, type FlipOptions,
} from "./ioi.js";
export { ABC_FLIP, generateIOIData, type IOIDataOptions } from "./ioi-data.js";
