// `pathPatching`: path patching as the IOI paper and ARENA 1.4 do it (get_path_patch_head_to_final_resid_post,
// get_path_patch_head_to_heads), camelCased; `headToFinalResid` / `headToHeads` are the api sketch's short names
// for the same functions. docs/ioi.md.
export {
  getPathPatchHeadToFinalResidPost,
  getPathPatchHeadToHeads,
  resolvePositions,
  type Head,
  type PositionSpec,
  type MetricPositions,
  type PositionedMetric,
  type QkvInput,
  type PathPatchInputs,
  type PathPatchToHeadsInputs,
  type PathPatchResult,
} from "../analysis/path-patching.js";
export {
  getPathPatchHeadToFinalResidPost as headToFinalResid,
  getPathPatchHeadToHeads as headToHeads,
} from "../analysis/path-patching.js";
