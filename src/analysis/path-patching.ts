// Path patching (Wang et al. 2022, "Interpretability in the Wild", §3.1 and Appendix B; ARENA 1.4's
// get_path_patch_head_to_final_resid_post / get_path_patch_head_to_heads, as seed 002 uses them).
//
// Two runs: the original one (x_orig, e.g. the IOI prompts) and the new one (x_new, e.g. the ABC prompts). A
// *sender* head's output (hook_z) is patched from the new run while every other head is frozen at its original
// output; MLPs and norms recompute (unless freezeMlps). Then
//  - to the final residual stream (the direct effect): the metric reads the logits of that run;
//  - to receiver heads: the receivers' q/k/v inputs of that run are recorded (at the given positions), and a
//    second run on x_orig patches only them in, letting everything downstream recompute.
//
// Why the default (fast) algorithm is cheap. With every head frozen, no attention reads a changed value, so each
// position of the residual stream evolves on its own: stream(l+1) = stream(l) + attn_out_orig(l) + Δ_senders(l)
// + MLP(stream(l) + ...). So the first stage runs only at the positions it needs (where the metric reads, or
// where the receivers read), only from the first sender's layer on, and for all senders at once (stacked along
// the batch); attention is never recomputed. The second stage (receivers) starts at the first receiver layer from
// the original residual stream, recomputes only positions ≥ the first patched one (earlier keys and values come
// from the original run, as a KV cache does), and stacks many senders along the batch. `fast: false` runs the
// literal algorithm (whole model, hooks on every hook_z); the tests check both agree.
export {
  gatherLayout,
  resolveMetricLayout,
  resolvePositions,
  scoreResid,
  type Head,
  type MetricLayout,
  type MetricPositions,
  type PathPatchInputs,
  type PathPatchResult,
  type PathPatchToHeadsInputs,
  type PositionSpec,
  type PositionedMetric,
  type QkvInput,
} from "./path-patching/positions.js";
export { getPathPatchHeadToFinalResidPost } from "./path-patching/to-final.js";
export { getPathPatchHeadToHeads } from "./path-patching/to-heads.js";
