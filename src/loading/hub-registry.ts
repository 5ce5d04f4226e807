// The model registry: TransformerLens's official names and aliases → Hugging Face hub repos.

/** Where a model lives on the hub. */
export interface HubModel {
  /** Hub repo id ("gpt2", "org/name"). */
  repo: string;
  revision: string;
  /** The files a model needs, as paths inside the repo. */
  files: readonly string[];
}

/** The files of a Hugging Face GPT-2-style model. */
export const HUB_MODEL_FILES: readonly string[] = ["config.json", "model.safetensors"];

// TransformerLens's official names (used as the hub repo ids, as TL does; the hub redirects "gpt2" to
// "openai-community/gpt2") and their aliases (TL's MODEL_ALIASES).
const OFFICIAL: Readonly<Record<string, readonly string[]>> = {
  gpt2: ["gpt2-small"],
  "gpt2-medium": [],
  "gpt2-large": [],
  "gpt2-xl": [],
  distilgpt2: ["distillgpt2", "distill-gpt2", "distil-gpt2", "gpt2-xs"],
};

/** Model names `fromPretrained` and `tlens download` fetch from the hub (official names; aliases also work). */
export const HUB_MODELS: readonly string[] = ["gpt2-small", "gpt2-medium", "gpt2-large", "gpt2-xl", "distilgpt2"];

const ALIAS_TO_REPO = new Map<string, string>();
for (const [repo, aliases] of Object.entries(OFFICIAL)) {
  ALIAS_TO_REPO.set(repo, repo);
  for (const a of aliases) ALIAS_TO_REPO.set(a, repo);
}

/** A registry name (case-insensitive: "gpt2-small", "gpt2", "gpt2-xl", "distilgpt2", ...) → its hub repo; else null. */
export function resolveHubModel(name: string): HubModel | null {
  const repo = ALIAS_TO_REPO.get(name.trim().toLowerCase());
  return repo === undefined ? null : { repo, revision: "main", files: HUB_MODEL_FILES };
}
