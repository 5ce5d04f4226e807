// What a model family provides: TL's config from config.json, and the HF → TL weight conversion.
import type { Tensor } from "../../tensor/index.js";
import type { HookedTransformerConfig } from "../config.js";
import type { HfFields } from "./fields.js";
import type { HfStateDict } from "./tensors.js";

export interface Family {
  /** TL's HookedTransformerConfig fields as TL 2.18's convert_hf_model_config builds them (before defaults). */
  config(f: HfFields): Partial<HookedTransformerConfig>;
  /** HF tensors → TL state dict; takes every tensor it uses from `sd` (leftovers are refused by the caller). */
  convert(sd: HfStateDict, cfg: HookedTransformerConfig, hf: HfFields): Map<string, Tensor>;
}

/** The TL block prefix of layer l. */
export const block = (l: number): string => `blocks.${l}`;
