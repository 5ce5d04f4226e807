// The GPT-2-small-shaped model the benches time: 12 layers, d_model 768, 12 heads, d_mlp 3072, vocab 50257,
// with seeded random weights (N(0, 0.02²)), folded LN as from_pretrained leaves it.
import { HookedTransformer, manualSeed, randn, type HookedTransformerConfig, type Tensor } from "../src/api.js";

export const GPT2_SMALL_SHAPE = {
  nLayers: 12,
  dModel: 768,
  nHeads: 12,
  dHead: 64,
  dMlp: 3072,
  dVocab: 50257,
  nCtx: 1024,
  actFn: "gelu_new",
  normalizationType: "LNPre" as const,
};

/** That model (or one of another shape, same initialisation). */
export function randomGpt2Small(shape: Partial<HookedTransformerConfig> = GPT2_SMALL_SHAPE): HookedTransformer {
  manualSeed(0);
  const model = HookedTransformer.fromConfig(shape);
  const sd = new Map<string, Tensor>();
  for (const [name, t] of model.stateDict()) sd.set(name, randn(t.shape).mul(0.02));
  model.loadStateDict(sd);
  return model;
}
