// Reads a Hugging Face folder's tokenizer files (Node only, so not exported from ./index.ts, which the browser
// build bundles).
import { TokenizerError } from "../errors.js";
import { HfTokenizer } from "./hf.js";

async function readJson(file: string): Promise<unknown> {
  const { readFile } = await import("node:fs/promises");
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new TokenizerError(`${file}: cannot read it as JSON (${(e as Error).message})`);
  }
}

/**
 * The tokenizer of a Hugging Face folder: `tokenizer.json` with `tokenizer_config.json` when present, BOS/EOS
 * falling back to the model config's ids. Null when the folder has no tokenizer.json (the model then runs on ids).
 */
export async function readHfTokenizerDir(
  dir: string,
  ids: { bosTokenId?: number | null; eosTokenId?: number | null } = {},
): Promise<HfTokenizer | null> {
  const { existsSync } = await import("node:fs");
  const path = await import("node:path");
  const file = path.join(dir, "tokenizer.json");
  if (!existsSync(file)) return null;
  const configFile = path.join(dir, "tokenizer_config.json");
  const tokenizerConfig = existsSync(configFile) ? await readJson(configFile) : undefined;
  return new HfTokenizer(await readJson(file), { ...ids, tokenizerConfig, source: file });
}
