// Where pretrained weights come from: hub names through the Hugging Face cache (downloaded when missing), the
// embedded models in the repo's models/ folder, or a path whose format is detected from the files present.
import { LoadError } from "../errors.js";
import type { HookedTransformerConfig } from "../loading/config.js";
import { downloadHfFolder } from "../loading/families/fetch.js";
import {
  detectModelFiles,
  isHubRepoId,
  loadHfModelDir,
  readJsonFile,
  resolvePretrainedDir,
  type DetectedModel,
} from "../loading/index.js";
import { parseLlama2cCheckpoint } from "../loading/llama2c.js";
import { parseLlmvizModel } from "../loading/llmviz.js";
import type { Tensor } from "../tensor/index.js";
import { readHfTokenizerDir } from "../tokenizer/hf-files.js";
import { gpt2Tokenizer, type Tokenizer } from "../tokenizer/index.js";
import { Llama2cTokenizer } from "../tokenizer/llama2c.js";

/** Models shipped inside the package (models/<name>), loadable with no network. */
export const EMBEDDED_MODELS: readonly string[] = ["toy-ioi"];

export interface PretrainedWeights {
  /** TL config before weight processing (normalizationType "LN" for GPT-2). */
  cfg: HookedTransformerConfig;
  /** TL-named float32 parameters. */
  weights: Map<string, Tensor>;
  tokenizer: Tokenizer | null;
}

async function embeddedDir(name: string): Promise<string> {
  const { fileURLToPath } = await import("node:url");
  // src/model/ and dist/model/ are both two levels below the package root
  return fileURLToPath(new URL(`../../models/${name}`, import.meta.url));
}

/**
 * Where `nameOrPath` lives: a registry name (gpt2-small, ...) through the HF cache, an embedded model, a local path,
 * or a hub repo id ("EleutherAI/pythia-70m") fetched through the HF cache when no such path exists.
 */
async function resolveModelDir(nameOrPath: string): Promise<string> {
  const { existsSync } = await import("node:fs");
  const looksLikePath = /[\\/]/.test(nameOrPath) || nameOrPath.startsWith(".");
  if (!looksLikePath) {
    const hubDir = await resolvePretrainedDir(nameOrPath);
    if (hubDir !== null) return hubDir;
    if (EMBEDDED_MODELS.includes(nameOrPath)) return embeddedDir(nameOrPath);
  }
  if (existsSync(nameOrPath)) return nameOrPath;
  if (nameOrPath.includes("/") && !nameOrPath.startsWith(".") && isHubRepoId(nameOrPath))
    return downloadHfFolder(nameOrPath);
  throw new LoadError(
    `unknown model "${nameOrPath}": not an embedded model (${EMBEDDED_MODELS.join(", ")}), no such file or directory, and not a hub repo id ("org/name")`,
  );
}

/** Resolves a name or path and reads the model's config, weights and tokenizer. */
export async function loadPretrainedWeights(nameOrPath: string): Promise<PretrainedWeights> {
  const detected = await detectModelFiles(await resolveModelDir(nameOrPath));
  if (detected.format === "llama2c") return loadLlama2c(detected);
  if (detected.format === "llmviz-json") return loadLlmviz(detected);
  const { cfg, weights } = await loadHfModelDir(detected.dir);
  // the folder's tokenizer.json; else GPT-2's BPE for GPT-2-vocabulary models; else none (token ids only)
  const tokenizer = (await readHfTokenizerDir(detected.dir, cfg)) ?? (cfg.dVocab === 50257 ? gpt2Tokenizer() : null);
  if (tokenizer) {
    cfg.bosTokenId ??= tokenizer.bosTokenId;
    cfg.eosTokenId ??= tokenizer.eosTokenId;
  }
  return { cfg, weights, tokenizer };
}

async function readBytes(file: string): Promise<Uint8Array> {
  const { readFile } = await import("node:fs/promises");
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    throw new LoadError(`${file}: cannot read (${(e as Error).message})`);
  }
}

/** A llama2.c checkpoint .bin with its tokenizer .bin beside it (e.g. stories260K.bin + tok512.bin). */
async function loadLlama2c(detected: DetectedModel): Promise<PretrainedWeights> {
  const path = await import("node:path");
  const ckpt = path.join(detected.dir, detected.files.checkpoint!);
  const tokFile = path.join(detected.dir, detected.files.tokenizer!);
  const modelName = path.basename(detected.files.checkpoint!).replace(/\.bin$/i, "");
  const { cfg, weights } = parseLlama2cCheckpoint(await readBytes(ckpt), { source: ckpt, modelName });
  let tokenizer: Tokenizer;
  try {
    tokenizer = Llama2cTokenizer.fromBytes(await readBytes(tokFile), { vocabSize: cfg.dVocab, source: tokFile });
  } catch (e) {
    throw e instanceof LoadError ? e : new LoadError((e as Error).message, { cause: e });
  }
  return { cfg, weights, tokenizer };
}

/** An llm-viz model.json (minGPT GPT-2 with base64 tensors); token ids only. */
async function loadLlmviz(detected: DetectedModel): Promise<PretrainedWeights> {
  const path = await import("node:path");
  const file = path.join(detected.dir, detected.files.model!);
  const { cfg, weights } = parseLlmvizModel(await readJsonFile(file), { source: file });
  return { cfg, weights, tokenizer: null };
}
