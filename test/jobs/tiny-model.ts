// The tiny random model the jobs tests' specs name: 2 layers, d_model 16, built from a seed in every worker.
export const TINY = {
  random: {
    seed: 3,
    config: {
      nLayers: 2,
      dModel: 16,
      nHeads: 2,
      dHead: 8,
      dMlp: 32,
      dVocab: 64,
      nCtx: 32,
      actFn: "gelu_new",
      normalizationType: "LNPre",
    },
  },
};
