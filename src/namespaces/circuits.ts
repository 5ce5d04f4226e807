// `circuits`: the weight-based circuit scores of A Mathematical Framework (full OV / QK circuits as FactoredMatrix,
// copying and composition scores) and circuit validation by mean ablation per template (the IOI paper's F(C),
// minimality). docs/circuits.md.
export * from "../analysis/circuits.js";
export * from "../analysis/mean-ablation.js";
