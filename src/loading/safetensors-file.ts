// Reading a safetensors file from disk (Node only; the browser build substitutes src/browser/shims/safetensors-file.ts).
import { LoadError } from "../errors.js";
import type { Tensor } from "../tensor/index.js";
import {
  decodeTensor,
  parseSafetensorsHeader,
  readHeaderLength,
  type ReadSafetensorsOptions,
  type SafetensorsContents,
} from "./safetensors.js";

/**
 * Reads a safetensors file from disk (Node only): the header first, then each tensor's byte range, so files larger
 * than one Buffer can hold still load, and nothing is allocated before the header has been validated.
 */
export async function readSafetensorsFile(
  path: string,
  options: ReadSafetensorsOptions = {},
): Promise<SafetensorsContents> {
  const { open } = await import("node:fs/promises");
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw new LoadError(`${path}: cannot open (${(e as Error).message})`);
  }
  try {
    const { size } = await fh.stat();
    const readExactly = async (position: number, length: number): Promise<Uint8Array> => {
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, position + got);
        if (bytesRead === 0) throw new LoadError(`${path}: file ended early (changed while reading?)`);
        got += bytesRead;
      }
      return buf;
    };
    const prefix = await readExactly(0, Math.min(8, size));
    const n = readHeaderLength(prefix, size, path);
    const header = parseSafetensorsHeader(await readExactly(8, n), size, path, options);
    const tensors = new Map<string, Tensor>();
    const dtypes = new Map<string, string>();
    for (const e of header.entries) {
      const data = await readExactly(header.dataStart + e.begin, e.end - e.begin);
      tensors.set(e.name, decodeTensor(e, data, path, options));
      dtypes.set(e.name, e.dtype);
    }
    return { tensors, dtypes, metadata: header.metadata };
  } finally {
    await fh.close();
  }
}
