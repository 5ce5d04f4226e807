// Loading the model a spec names: pretrained (name or directory, with weight processing) or seeded random weights.
import { HookedTransformer } from "../model/hooked-transformer.js";
import { Generator, randn, type Tensor } from "../tensor/index.js";
import type { HookedTransformerConfig } from "../loading/config.js";
import { TlensError } from "../errors.js";
import { SpecError } from "./errors.js";
import type { ModelSpec } from "./spec.js";

/** The model of a spec. A random model gets every parameter from N(0, std²) (default 0.02) in stateDict order. */
export async function loadSpecModel(spec: ModelSpec): Promise<HookedTransformer> {
  if ("name" in spec) return HookedTransformer.fromPretrained(spec.name, spec.processing ?? {});
  let model: HookedTransformer;
  try {
    model = HookedTransformer.fromConfig(spec.random.config as Partial<HookedTransformerConfig>);
  } catch (e) {
    throw new SpecError(`model.random.config: ${e instanceof TlensError ? e.message : String(e)}`);
  }
  const g = new Generator(spec.random.seed);
  const std = spec.random.std ?? 0.02;
  const sd = new Map<string, Tensor>();
  for (const [name, t] of model.stateDict()) sd.set(name, randn(t.shape, { generator: g }).mul(std));
  model.loadStateDict(sd);
  return model;
}
