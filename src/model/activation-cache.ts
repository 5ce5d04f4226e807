// ActivationCache: the activations of one run, keyed by TransformerLens hook names. Analysis methods
// (accumulatedResid, decomposeResid, ...) build on this in src/model/cache-analysis (later issue).
import { HookError } from "../errors.js";
import type { Tensor } from "../tensor/index.js";
import { getActName } from "./act-name.js";
import { nearestName } from "./hook-point.js";

export class ActivationCache {
  constructor(private readonly store: Map<string, Tensor>, readonly hasBatchDim = true) {}

  /** cache.get("blocks.0.attn.hook_pattern") or TL's shorthand cache.get("pattern", 0). */
  get(name: string, layer?: number, layerType?: string): Tensor {
    const key = layer === undefined && layerType === undefined && this.store.has(name) ? name : getActName(name, layer, layerType);
    const t = this.store.get(key);
    if (!t) {
      const near = nearestName(key, this.store.keys());
      throw new HookError(`"${key}" is not in the cache${near ? `; did you mean "${near}"?` : ""} (the cache holds ${this.store.size} activations; check namesFilter)`);
    }
    return t;
  }

  has(name: string): boolean {
    return this.store.has(name);
  }

  keys(): string[] {
    return [...this.store.keys()];
  }

  entries(): [string, Tensor][] {
    return [...this.store.entries()];
  }

  get size(): number {
    return this.store.size;
  }

  /** A cache of batch-1 activations without the batch dim (TL's remove_batch_dim). */
  removeBatchDim(): ActivationCache {
    if (!this.hasBatchDim) return this;
    const out = new Map<string, Tensor>();
    for (const [k, v] of this.store) {
      if (v.shape[0] !== 1) throw new HookError(`removeBatchDim: "${k}" has batch size ${v.shape[0]}; only a batch of 1 can drop its batch dim`);
      out.set(k, v.squeeze(0));
    }
    return new ActivationCache(out, false);
  }
}
