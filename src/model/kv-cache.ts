// The key/value cache for generation (TL's HookedTransformerKeyValueCache): each layer keeps the keys and
// values of every position seen so far, so a step only computes the new positions.
import { cat, ones, type Tensor } from "../tensor/index.js";

export class KeyValueCacheEntry {
  /** [batch, pos so far, n_heads, d_head] */
  keys: Tensor | null = null;
  values: Tensor | null = null;

  /** Positions cached so far. */
  get length(): number {
    return this.keys?.shape[1] ?? 0;
  }

  /** Appends the new positions' keys and values; returns everything cached, new positions included. */
  append(k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    this.keys = this.keys ? cat([this.keys, k], 1) : k;
    this.values = this.values ? cat([this.values, v], 1) : v;
    return { k: this.keys, v: this.values };
  }
}

export class KeyValueCache {
  readonly entries: KeyValueCacheEntry[];
  /** int32 [batch, pos so far]: 1 = real token; grows with every forward through the cache. */
  attentionMask: Tensor | null = null;

  constructor(nLayers: number) {
    this.entries = Array.from({ length: nLayers }, () => new KeyValueCacheEntry());
  }

  /** Positions cached so far. */
  get length(): number {
    return this.entries[0]?.length ?? 0;
  }

  /** The attention mask over cached + new positions (new positions count as real unless `newMask` says not);
   *  null while nothing has been padded, so unpadded generation does no masking work. */
  extendMask(batch: number, newPositions: number, newMask: Tensor | null): Tensor | null {
    if (!newMask && !this.attentionMask) return null;
    const add = newMask ?? ones([batch, newPositions], "int32");
    const past = this.attentionMask ?? (this.length > 0 ? ones([batch, this.length], "int32") : null);
    this.attentionMask = past ? cat([past, add.to("int32")], 1) : add.to("int32");
    return this.attentionMask;
  }
}
