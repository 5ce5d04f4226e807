// utils.getActName: TransformerLens's short activation names → full hook names.
// One deliberate difference from TL: a layer-norm activation asked for with layerType "ln_final" gives the real
// hook ("ln_final.hook_scale"), where TL returns "ln_final.ln_final.hook_scale", which does not exist.

const LAYER_TYPE_ALIAS: Record<string, string> = {
  a: "attn",
  m: "mlp",
  b: "",
  block: "",
  blocks: "",
  attention: "attn",
};
const ACT_NAME_ALIAS: Record<string, string> = {
  attn: "pattern",
  attn_logits: "attn_scores",
  key: "k",
  query: "q",
  value: "v",
  mlp_pre: "pre",
  mlp_mid: "mid",
  mlp_post: "post",
};
const ATTN_ACTS = new Set(["k", "v", "q", "z", "rot_k", "rot_q", "result", "pattern", "attn_scores"]);
const MLP_ACTS = new Set(["pre", "post", "mid", "pre_linear"]);
const LAYER_NORM_ACTS = new Set(["scale", "normalized"]);

/** getActName("pattern", 3) → "blocks.3.attn.hook_pattern"; also compact forms ("k6", "scale4ln1") and aliases. */
export function getActName(name: string, layer?: number | null, layerType?: string | null): string {
  const noLayer = layer === undefined || layer === null;
  const noType = layerType === undefined || layerType === null;
  if ((name.includes(".") || name.startsWith("hook_")) && noLayer && noType) return name;
  let act = name;
  let lay: number | string | null = noLayer ? null : layer;
  let type: string | null = noType ? null : layerType;
  const compact = /^([a-z]+)(\d+)([a-z]?.*)/.exec(name);
  if (compact) {
    act = compact[1]!;
    lay = compact[2]!;
    type = compact[3]!;
  }
  act = ACT_NAME_ALIAS[act] ?? act;
  let full = lay !== null ? `blocks.${lay}.` : "";
  if (ATTN_ACTS.has(act)) type = "attn";
  else if (MLP_ACTS.has(act)) type = "mlp";
  else if (type !== null && type in LAYER_TYPE_ALIAS) type = LAYER_TYPE_ALIAS[type]!;
  if (LAYER_NORM_ACTS.has(act) && lay === null) return `ln_final.hook_${act}`;
  if (type) full += `${type}.`;
  return `${full}hook_${act}`;
}
