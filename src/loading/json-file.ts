// One JSON file read with errors that name it (configs, shard indexes, tokenizer files).
import { LoadError } from "../errors.js";

/** Reads and parses a JSON file; LoadError naming the file when it is missing or not JSON. */
export async function readJsonFile(file: string): Promise<unknown> {
  const { readFile } = await import("node:fs/promises");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new LoadError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new LoadError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}
