// The tensors of a model folder (model.safetensors, or the shards model.safetensors.index.json lists), read one at
// a time when a conversion asks for them: only the headers are read up front, so a load holds the converted model
// plus one tensor in flight, never a second whole copy. Node only (synchronous reads on open file descriptors).
import { LoadError } from "../../errors.js";
import type { Tensor } from "../../tensor/index.js";
import { readJsonFile } from "../json-file.js";
import { decodeTensor, parseSafetensorsHeader, readHeaderLength, type ReadSafetensorsOptions, type SafetensorsEntry } from "../safetensors.js";
import type { TensorSource } from "./tensors.js";

interface Located { fd: number; file: string; dataStart: number; entry: SafetensorsEntry }

type ReadSync = (fd: number, buf: Uint8Array, offset: number, length: number, position: number) => number;

export class LazySafetensors implements TensorSource {
  private constructor(
    private readonly where: Map<string, Located>,
    private readonly fds: number[],
    private readonly readSync: ReadSync,
    private readonly closeSync: (fd: number) => void,
    private readonly options: ReadSafetensorsOptions,
  ) {}

  /** Opens `weightsFile` in `dir` (a .safetensors file or a shard index) and reads the headers; `options` as
   *  readSafetensorsFile's (trailing bytes, the finiteness check of each tensor as it is read). */
  static async open(dir: string, weightsFile: string, options: ReadSafetensorsOptions = {}): Promise<LazySafetensors> {
    const fs = await import("node:fs");
    const path = await import("node:path");
    const full = path.join(dir, weightsFile);
    const shards = weightsFile.endsWith(".index.json") ? await shardsOf(full, path.isAbsolute) : new Map([[weightsFile, null]]);
    const where = new Map<string, Located>();
    const fds: number[] = [];
    const lazy = new LazySafetensors(where, fds, fs.readSync, fs.closeSync, options);
    try {
      for (const [shard, listed] of shards) {
        const file = path.join(dir, shard);
        let fd: number;
        try {
          fd = fs.openSync(file, "r");
        } catch (e) {
          throw new LoadError(`${file}: cannot open (${(e as Error).message})`);
        }
        fds.push(fd);
        const size = fs.fstatSync(fd).size;
        const n = readHeaderLength(lazy.read(fd, file, 0, Math.min(8, size)), size, file);
        const header = parseSafetensorsHeader(lazy.read(fd, file, 8, n), size, file, options);
        for (const entry of header.entries) {
          if (listed && !listed.has(entry.name)) throw new LoadError(`${file}: tensor "${entry.name}" is not listed in ${weightsFile}`);
          where.set(entry.name, { fd, file, dataStart: header.dataStart, entry });
        }
        for (const name of listed ?? []) {
          if (!where.has(name)) throw new LoadError(`${file}: tensor "${name}" listed in ${weightsFile} is not in this shard`);
        }
      }
    } catch (e) {
      lazy.close();
      throw e;
    }
    return lazy;
  }

  has(name: string): boolean { return this.where.has(name); }
  keys(): IterableIterator<string> { return this.where.keys(); }
  get size(): number { return this.where.size; }
  delete(name: string): boolean { return this.where.delete(name); }

  /** Reads and decodes one tensor (float formats to float32, as readSafetensorsFile). */
  get(name: string): Tensor | undefined {
    const at = this.where.get(name);
    if (!at) return undefined;
    const { fd, file, dataStart, entry } = at;
    return decodeTensor(entry, this.read(fd, file, dataStart + entry.begin, entry.end - entry.begin), file, this.options);
  }

  /** Each tensor's dtype as stored. */
  dtypes(): Map<string, string> {
    return new Map([...this.where].map(([name, at]) => [name, at.entry.dtype]));
  }

  close(): void {
    for (const fd of this.fds.splice(0)) this.closeSync(fd);
  }

  private read(fd: number, file: string, position: number, length: number): Uint8Array {
    const buf = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = this.readSync(fd, buf, got, length - got, position + got);
      if (n === 0) throw new LoadError(`${file}: file ended early (changed while reading?)`);
      got += n;
    }
    return buf;
  }
}

/** model.safetensors.index.json → shard file → the tensor names it must hold. */
async function shardsOf(full: string, isAbsolute: (p: string) => boolean): Promise<Map<string, Set<string>>> {
  const map = ((await readJsonFile(full)) as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw new LoadError(`${full}: "weight_map" must be an object of tensor name → shard file`);
  }
  const shards = new Map<string, Set<string>>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== "string" || shard.length === 0 || isAbsolute(shard) || shard.split(/[\\/]/).includes("..")) {
      throw new LoadError(`${full}: tensor "${name}" maps to an invalid shard file ${JSON.stringify(shard)}`);
    }
    if (!shards.has(shard)) shards.set(shard, new Set());
    shards.get(shard)!.add(name);
  }
  return shards;
}
