// `utils`: the parts of TransformerLens's utils that tlens has (get_act_name, Slice), plus the hook and progress
// helpers the analyses' options take. docs/model.md.
export { getActName } from "../model/act-name.js";
export { Slice, type SliceInput, type SliceRange } from "../model/activation-cache.js";
export { readerHook } from "../model/hook-point.js";
export { progressReporter, type ProgressCallback, type ProgressOptions } from "../analysis/progress.js";
