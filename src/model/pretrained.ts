// Where pretrained weights come from: hub names through the Hugging Face cache (downloaded when missing), the
// embedded models in the repo's models/ folder, or a path whose format is detected from the files present.
import { LoadError } from "../errors.js";
import type { HookedTransformerConfig } from "../loading/config.js";
import { detectModelFiles, loadHfModelDir, readJsonFile, resolvePretrainedDir, type DetectedModel } from "../loading/index.js";
import { parseLlama2cCheckpoint } from "../loading/llama2c.js";
import { parseLlmvizModel } from "../loading/llmviz.js";
import type { Tensor } from "../tensor/index.js";
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

/** Resolves a name or path and reads the model's config, weights and tokenizer. */
export async function loadPretrainedWeights(nameOrPath: string): Promise<PretrainedWeights> {
  const looksLikePath = /[\\/]/.test(nameOrPath) || nameOrPath.startsWith(".");
  // hub names (gpt2-small, ...) come from the Hugging Face cache, downloading what is missing
  const hubDir = looksLikePath ? null : await resolvePretrainedDir(nameOrPath);
  const dir = hubDir ?? (EMBEDDED_MODELS.includes(nameOrPath) && !looksLikePath ? await embeddedDir(nameOrPath) : nameOrPath);
  const { existsSync } = await import("node:fs");
  if (!existsSync(dir)) {
    throw new LoadError(`unknown model "${nameOrPath}": not an embedded model (${EMBEDDED_MODELS.join(", ")}) and no such file or directory`);
  }
  const detected = await detectModelFiles(dir);
  if (detected.format === "llama2c") return loadLlama2c(detected);
  if (detected.format === "llmviz-json") return loadLlmviz(detected);
  const { cfg, weights } = await loadHfModelDir(detected.dir);
  // GPT-2's BPE for GPT-2-vocabulary models; other vocabularies have no tokenizer (token ids only)
  const tokenizer = cfg.dVocab === 50257 ? gpt2Tokenizer() : null;
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
  const ckpt = path.join(detected.dir, detected.files.checkpoint);
  const tokFile = path.join(detected.dir, detected.files.tokenizer);
  const modelName = path.basename(detected.files.checkpoint).replace(/\.bin$/i, "");
  const { cfg, weights } = parseLlama2cCheckpoint(await readBytes(ckpt), { source: ckpt, modelName });
  let tokenizer: Tokenizer;
  try {
    tokenizer = Llama2cTokenizer.fromBytes(await readBytes(tokFile), { vocabSize: cfg.dVocab, source: tokFile });
  } catch (e) {
    throw e instanceof LoadError ? e : new LoadError((e as Error).message);
  }
  return { cfg, weights, tokenizer };
}

/** An llm-viz model.json (minGPT GPT-2 with base64 tensors); token ids only. */
async function loadLlmviz(detected: DetectedModel): Promise<PretrainedWeights> {
  const path = await import("node:path");
  const file = path.join(detected.dir, detected.files.model);
  const { cfg, weights } = parseLlmvizModel(await readJsonFile(file), { source: file });
  return { cfg, weights, tokenizer: null };
}
