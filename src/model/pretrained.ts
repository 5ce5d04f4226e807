// Where pretrained weights come from: hub names through the Hugging Face cache (downloaded when missing), the
// embedded models in the repo's models/ folder, or a path whose format is detected from the files present.
import { LoadError } from "../errors.js";
import type { HookedTransformerConfig } from "../loading/config.js";
import { detectModelFiles, loadHfModelDir, resolvePretrainedDir } from "../loading/index.js";
import type { Tensor } from "../tensor/index.js";
import { gpt2Tokenizer, type Tokenizer } from "../tokenizer/index.js";

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
  if (detected.format !== "hf-safetensors") {
    throw new LoadError(`${dir}: ${detected.format} models are not supported yet`);
  }
  const { cfg, weights } = await loadHfModelDir(detected.dir);
  // GPT-2's BPE for GPT-2-vocabulary models; other vocabularies have no tokenizer (token ids only)
  const tokenizer = cfg.dVocab === 50257 ? gpt2Tokenizer() : null;
  if (tokenizer) {
    cfg.bosTokenId ??= tokenizer.bosTokenId;
    cfg.eosTokenId ??= tokenizer.eosTokenId;
  }
  return { cfg, weights, tokenizer };
}
