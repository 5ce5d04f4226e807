// The tensors of one or more safetensors files (a model.safetensors, or the shards model.safetensors.index.json
// lists) as a TensorSource: only the headers are parsed up front, and each tensor is decoded (float formats to
// float32) when a conversion asks for it. How bytes are read is the caller's: file descriptors in Node
// (lazy-safetensors.ts), fetched buffers in the browser. Pure (no Node built-ins).
import { LoadError } from "../../errors.js";
import type { Tensor } from "../../tensor/index.js";
import {
  decodeTensor,
  parseSafetensorsHeader,
  readHeaderLength,
  type ReadSafetensorsOptions,
  type SafetensorsEntry,
} from "../safetensors.js";
import type { TensorSource } from "./tensors.js";

export const SHARD_INDEX = "model.safetensors.index.json";

/** One safetensors file: its name, byte size, a reader, and (sharded) the tensor names the index says it holds. */
export interface SafetensorsShard {
  file: string;
  size: number;
  read(position: number, length: number): Uint8Array;
  listed: ReadonlySet<string> | null;
}

interface Located {
  shard: SafetensorsShard;
  dataStart: number;
  entry: SafetensorsEntry;
}

/**
 * model.safetensors.index.json (parsed) → shard file → the tensor names it must hold. Shard names must be relative
 * paths inside the folder (no "..", not absolute).
 */
export function parseShardIndex(index: unknown, source: string): Map<string, Set<string>> {
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw new LoadError(`${source}: "weight_map" must be an object of tensor name → shard file`);
  }
  const shards = new Map<string, Set<string>>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (
      typeof shard !== "string" ||
      shard.length === 0 ||
      /^([\\/]|[A-Za-z]:)/.test(shard) ||
      shard.split(/[\\/]/).includes("..")
    ) {
      throw new LoadError(`${source}: tensor "${name}" maps to an invalid shard file ${JSON.stringify(shard)}`);
    }
    if (!shards.has(shard)) shards.set(shard, new Set());
    shards.get(shard)!.add(name);
  }
  return shards;
}

export class ShardedSafetensors implements TensorSource {
  private readonly where = new Map<string, Located>();

  /** Parses each shard's header; a tensor missing from its listed shard, or not listed, is a LoadError. */
  constructor(
    shards: readonly SafetensorsShard[],
    index: string,
    private readonly options: ReadSafetensorsOptions = {},
  ) {
    for (const shard of shards) {
      const { file, size, listed } = shard;
      const n = readHeaderLength(shard.read(0, Math.min(8, size)), size, file);
      const header = parseSafetensorsHeader(shard.read(8, n), size, file, options);
      for (const entry of header.entries) {
        if (listed && !listed.has(entry.name))
          throw new LoadError(`${file}: tensor "${entry.name}" is not listed in ${index}`);
        this.where.set(entry.name, { shard, dataStart: header.dataStart, entry });
      }
      for (const name of listed ?? []) {
        if (!this.where.has(name))
          throw new LoadError(`${file}: tensor "${name}" listed in ${index} is not in this shard`);
      }
    }
  }

  has(name: string): boolean {
    return this.where.has(name);
  }
  keys(): IterableIterator<string> {
    return this.where.keys();
  }
  get size(): number {
    return this.where.size;
  }
  delete(name: string): boolean {
    return this.where.delete(name);
  }

  /** Reads and decodes one tensor (float formats to float32, as readSafetensorsFile). */
  get(name: string): Tensor | undefined {
    const at = this.where.get(name);
    if (!at) return undefined;
    const { shard, dataStart, entry } = at;
    return decodeTensor(entry, shard.read(dataStart + entry.begin, entry.end - entry.begin), shard.file, this.options);
  }

  /** Each tensor's dtype as stored. */
  dtypes(): Map<string, string> {
    return new Map([...this.where].map(([name, at]) => [name, at.entry.dtype]));
  }
}
