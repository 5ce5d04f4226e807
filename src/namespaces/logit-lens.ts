// `logitLens`: the logit lens over the accumulated residual stream and direct logit attribution by layer, head,
// neuron or every component (TL's cache.accumulated_resid / decompose_resid + logit_attrs, as the tutorials use
// them). docs/analysis.md.
export * from "../analysis/logit-lens.js";
