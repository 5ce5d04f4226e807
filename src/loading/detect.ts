// Which weight format a path holds, decided by the files present. The decision itself (`detectFormatFromFiles`)
// is pure; `detectModelFiles`/`detectFormat` look at the file system (Node, dynamic import).
import { LoadError } from "../errors.js";

export type ModelFormat = "hf-safetensors" | "llama2c" | "llmviz-json";

export interface DetectedModel {
  format: ModelFormat;
  /** The folder holding the model's files. */
  dir: string;
  /**
   * The files that make up the model, by role, as names inside `dir`:
   * hf-safetensors: `config`, `weights` (model.safetensors or the shard index model.safetensors.index.json);
   * llama2c: `checkpoint`, `tokenizer`; llmviz-json: `model`.
   */
  files: Record<string, string>;
}

const HF_WEIGHTS = ["model.safetensors", "model.safetensors.index.json"];
const isTokenizerBin = (n: string): boolean => /^tok.*\.bin$/i.test(n) || /^tokenizer.*\.bin$/i.test(n);
const isPickle = (n: string): boolean => /^pytorch_model.*\.bin$/i.test(n) || /\.(pt|pth|ckpt)$/i.test(n);

function describe(names: readonly string[]): string {
  if (names.length === 0) return "an empty folder";
  const shown = [...names].sort().slice(0, 20).join(", ");
  return `${shown}${names.length > 20 ? `, ... (${names.length} files)` : ""}`;
}

const EXPECTED =
  "expected config.json + model.safetensors (Hugging Face), a llama2.c checkpoint .bin with its tokenizer .bin " +
  "(e.g. tok512.bin) beside it, or an llm-viz model.json";

/**
 * Decides the format from the names of the files in a folder. `file`, when given, is the one file the user
 * pointed at (it must be part of the model). `where` names the folder in errors.
 */
export function detectFormatFromFiles(
  names: readonly string[],
  where: string,
  file?: string,
): Omit<DetectedModel, "dir"> {
  const has = (n: string): boolean => names.includes(n);
  const hfWeights = HF_WEIGHTS.find(has);
  const tokenizers = names.filter(isTokenizerBin);
  const checkpoints = names.filter((n) => /\.bin$/i.test(n) && !isTokenizerBin(n) && !isPickle(n));

  const pick = (): Omit<DetectedModel, "dir"> | undefined => {
    if (file !== undefined) {
      if (/\.safetensors(\.index\.json)?$/i.test(file) || file === "config.json") {
        if (!has("config.json"))
          throw new LoadError(`${where}: ${file} needs a config.json beside it (found ${describe(names)})`);
        const weights = file === "config.json" ? hfWeights : file;
        if (weights === undefined)
          throw new LoadError(`${where}: config.json has no model.safetensors beside it (found ${describe(names)})`);
        return { format: "hf-safetensors", files: { config: "config.json", weights } };
      }
      if (/\.bin$/i.test(file) && !isPickle(file)) {
        if (isTokenizerBin(file)) {
          throw new LoadError(
            `${where}: ${file} looks like a llama2.c tokenizer; point at the checkpoint .bin instead`,
          );
        }
        if (tokenizers.length === 0) {
          throw new LoadError(
            `${where}: llama2.c checkpoint ${file} needs its tokenizer .bin (e.g. tok512.bin) beside it (found ${describe(names)})`,
          );
        }
        if (tokenizers.length > 1)
          throw new LoadError(`${where}: several tokenizer files beside ${file}: ${tokenizers.join(", ")}`);
        return { format: "llama2c", files: { checkpoint: file, tokenizer: tokenizers[0]! } };
      }
      if (/\.json$/i.test(file)) return { format: "llmviz-json", files: { model: file } };
      return undefined;
    }
    if (has("config.json") && hfWeights !== undefined) {
      return { format: "hf-safetensors", files: { config: "config.json", weights: hfWeights } };
    }
    if (has("model.json")) return { format: "llmviz-json", files: { model: "model.json" } };
    if (checkpoints.length > 0 && tokenizers.length > 0) {
      if (checkpoints.length > 1) {
        throw new LoadError(`${where}: several llama2.c checkpoints (${checkpoints.join(", ")}); point at one of them`);
      }
      if (tokenizers.length > 1) throw new LoadError(`${where}: several tokenizer files (${tokenizers.join(", ")})`);
      return { format: "llama2c", files: { checkpoint: checkpoints[0]!, tokenizer: tokenizers[0]! } };
    }
    return undefined;
  };

  const hit = pick();
  if (hit) return hit;
  const pickles = names.filter(isPickle);
  const hint =
    pickles.length > 0
      ? ` PyTorch pickle weights (${pickles.join(", ")}) are not supported: save them as safetensors ` +
        `(model.save_pretrained(dir, safe_serialization=True)).`
      : checkpoints.length > 0 && tokenizers.length === 0
        ? ` ${checkpoints.join(", ")} looks like a llama2.c checkpoint but no tokenizer .bin is beside it.`
        : has("config.json")
          ? " config.json has no model.safetensors beside it."
          : "";
  throw new LoadError(
    `${where}: no model found${file ? ` at ${file}` : ""}; ${EXPECTED}. Found: ${describe(names)}.${hint}`,
  );
}

/** Looks at a folder or file and says which format it holds and which files make up the model. Node only. */
export async function detectModelFiles(dirOrFile: string): Promise<DetectedModel> {
  const fs = await import("node:fs/promises");
  const path = await import("node:path");
  let st;
  try {
    st = await fs.stat(dirOrFile);
  } catch (e) {
    throw new LoadError(
      `${dirOrFile}: no such file or folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  const dir = st.isDirectory() ? dirOrFile : path.dirname(dirOrFile);
  const file = st.isDirectory() ? undefined : path.basename(dirOrFile);
  let names: string[];
  try {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    names = entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name); // the HF cache uses symlinks
  } catch (e) {
    throw new LoadError(`${dir}: cannot list the folder (${(e as Error).message})`);
  }
  return { dir, ...detectFormatFromFiles(names, dirOrFile, file) };
}

/** "hf-safetensors" | "llama2c" | "llmviz-json" for a folder or file, or a LoadError saying what was found. Node only. */
export async function detectFormat(dirOrFile: string): Promise<ModelFormat> {
  return (await detectModelFiles(dirOrFile)).format;
}
