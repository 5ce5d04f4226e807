// `ioi`: the IOI circuit toolkit (Wang et al. 2022): the logit-difference metric, the clean / flipped data and
// caches, the head analyses of the paper (DLA per head, name-mover copy scores, backup name movers, attention vs
// projection) and the whole pipeline behind `tlens ioi`. The dataset itself is `datasets.IOIDataset`.
// docs/ioi.md.
export * from "../analysis/ioi/index.js";
export * from "../analysis/ioi-circuit.js";
export * from "../analysis/copy-scores.js";
