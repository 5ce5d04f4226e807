// The tensors of a model folder (model.safetensors, or the shards model.safetensors.index.json lists), read one at
// a time when a conversion asks for them: only the headers are read up front, so a load holds the converted model
// plus one tensor in flight, never a second whole copy. Node only (synchronous reads on open file descriptors).
import { LoadError } from "../../errors.js";
import { readJsonFile } from "../json-file.js";
import type { ReadSafetensorsOptions } from "../safetensors.js";
import { parseShardIndex, ShardedSafetensors, type SafetensorsShard } from "./safetensors-source.js";

type ReadSync = (fd: number, buf: Uint8Array, offset: number, length: number, position: number) => number;

/** `length` bytes of `fd` from `position`, in full. */
function readFully(readSync: ReadSync, fd: number, file: string, position: number, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new LoadError(`${file}: file ended early (changed while reading?)`);
    got += n;
  }
  return buf;
}

export class LazySafetensors extends ShardedSafetensors {
  private constructor(
    shards: SafetensorsShard[],
    index: string,
    options: ReadSafetensorsOptions,
    private readonly fds: number[],
    private readonly closeSync: (fd: number) => void,
  ) {
    super(shards, index, options);
  }

  /** Opens `weightsFile` in `dir` (a .safetensors file or a shard index) and reads the headers; `options` as
   *  readSafetensorsFile's (trailing bytes, the finiteness check of each tensor as it is read). */
  static async open(dir: string, weightsFile: string, options: ReadSafetensorsOptions = {}): Promise<LazySafetensors> {
    const fs = await import("node:fs");
    const path = await import("node:path");
    const full = path.join(dir, weightsFile);
    const listing = weightsFile.endsWith(".index.json")
      ? parseShardIndex(await readJsonFile(full), full)
      : new Map<string, Set<string> | null>([[weightsFile, null]]);
    const fds: number[] = [];
    try {
      const shards = [...listing].map(([shard, listed]): SafetensorsShard => {
        const file = path.join(dir, shard);
        let fd: number;
        try {
          fd = fs.openSync(file, "r");
        } catch (e) {
          throw new LoadError(`${file}: cannot open (${(e as Error).message})`);
        }
        fds.push(fd);
        return { file, size: fs.fstatSync(fd).size, listed, read: (at, n) => readFully(fs.readSync, fd, file, at, n) };
      });
      return new LazySafetensors(shards, weightsFile, options, fds, fs.closeSync);
    } catch (e) {
      for (const fd of fds) fs.closeSync(fd);
      throw e;
    }
  }

  close(): void {
    for (const fd of this.fds.splice(0)) this.closeSync(fd);
  }
}
