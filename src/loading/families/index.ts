// The model families tlens converts from Hugging Face folders beside GPT-2 (src/loading/gpt2.ts), by HF architecture.
import { ConfigError } from "../../errors.js";
import type { Tensor } from "../../tensor/index.js";
import { makeConfig, type HookedTransformerConfig } from "../config.js";
import type { Family } from "./family.js";
import { HfFields } from "./fields.js";
import { gemma, gemma2 } from "./gemma.js";
import { gptj } from "./gptj.js";
import { llama } from "./llama.js";
import { mistral } from "./mistral.js";
import { neox } from "./neox.js";
import { opt } from "./opt.js";
import { phi } from "./phi.js";
import { qwen2 } from "./qwen2.js";
import { HfStateDict, type TensorSource } from "./tensors.js";

/** Family by HF architecture, with the config.json `model_type` that names it when `architectures` is absent. */
export const FAMILIES: Readonly<Record<string, { family: Family; modelType: string }>> = {
  GPTNeoXForCausalLM: { family: neox, modelType: "gpt_neox" },
  GPTJForCausalLM: { family: gptj, modelType: "gptj" },
  Gemma2ForCausalLM: { family: gemma2, modelType: "gemma2" },
  GemmaForCausalLM: { family: gemma, modelType: "gemma" },
  Qwen2ForCausalLM: { family: qwen2, modelType: "qwen2" },
  MistralForCausalLM: { family: mistral, modelType: "mistral" },
  OPTForCausalLM: { family: opt, modelType: "opt" },
  PhiForCausalLM: { family: phi, modelType: "phi" },
  LlamaForCausalLM: { family: llama, modelType: "llama" },
};

function familyOf(architecture: string, source: string): Family {
  const hit = FAMILIES[architecture];
  if (!hit) throw new ConfigError(`${source}: no family conversion for ${architecture}`);
  return hit.family;
}

/** Fields every family sets the same way: metadata, token ids, loaded (not initialised) weights. */
function commonFields(
  f: HfFields,
  architecture: string,
  modelName: string,
  dVocab: number,
): Partial<HookedTransformerConfig> {
  return {
    modelName,
    originalArchitecture: architecture,
    initWeights: false,
    bosTokenId: f.tokenId("bos_token_id", dVocab),
    eosTokenId: f.tokenId("eos_token_id", dVocab),
  };
}

/** TL's config for a family's config.json (TL 2.18's mapping for that architecture). */
export function familyConfigToTL(
  json: Record<string, unknown>,
  architecture: string,
  source: string,
  modelName: string,
): HookedTransformerConfig {
  const f = new HfFields(json, source);
  const partial = familyOf(architecture, source).config(f);
  return makeConfig({ ...partial, ...commonFields(f, architecture, modelName, partial.dVocab ?? 1) }, source);
}

/**
 * Converts a family's HF tensors (consumed: each is removed from `hf` once converted) into TL's state dict.
 * Tensors no step uses are refused (the file is probably not the model config.json describes).
 */
export function convertFamilyWeights(
  hf: TensorSource,
  cfg: HookedTransformerConfig,
  json: Record<string, unknown>,
  source: string,
): Map<string, Tensor> {
  const architecture = cfg.originalArchitecture ?? "";
  const sd = new HfStateDict(hf, source);
  const out = familyOf(architecture, source).convert(sd, cfg, new HfFields(json, `${source} config.json`));
  sd.refuseLeftovers(`a ${cfg.nLayers}-layer ${architecture}`);
  return out;
}
