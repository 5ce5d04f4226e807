// Each architecture's parameter set (SAELens's names) and the checks that a state dict has it, with the right shapes.
import type { Tensor } from "../tensor/index.js";
import type { SaeArchitecture, SaeConfig } from "./config.js";
import { SaeError } from "./errors.js";

export const SAE_PARAM_NAMES = ["W_enc", "b_enc", "W_dec", "b_dec", "b_gate", "r_mag", "b_mag", "threshold"] as const;
export type SaeParamName = (typeof SAE_PARAM_NAMES)[number];
/** An SAE's parameters by SAELens name (W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_dec [d_in], the rest [d_sae]). */
export type SaeWeights = Partial<Record<SaeParamName, Tensor>> | ReadonlyMap<string, Tensor>;
type Checked = Pick<Record<SaeParamName, Tensor>, "W_enc" | "W_dec" | "b_dec"> & Partial<Record<SaeParamName, Tensor>>;

const REQUIRED: Record<SaeArchitecture, readonly SaeParamName[]> = {
  standard: ["W_enc", "b_enc", "W_dec", "b_dec"],
  topk: ["W_enc", "b_enc", "W_dec", "b_dec"],
  jumprelu: ["W_enc", "b_enc", "W_dec", "b_dec", "threshold"],
  gated: ["W_enc", "b_gate", "r_mag", "b_mag", "W_dec", "b_dec"],
};

function shapeOf(name: SaeParamName, c: SaeConfig): number[] {
  if (name === "W_enc") return [c.dIn, c.dSae];
  if (name === "W_dec") return [c.dSae, c.dIn];
  return name === "b_dec" ? [c.dIn] : [c.dSae];
}

/** The architecture's tensors, float in the config's dtype; SaeError naming what is missing, extra or misshapen
 *  (SAELens's all-ones `scaling_factor` is dropped as its loader does). */
export function checkSaeWeights(c: SaeConfig, weights: SaeWeights): Checked {
  const given =
    weights instanceof Map ? new Map(weights) : new Map(Object.entries(weights).filter(([, t]) => t !== undefined));
  const scaling = given.get("scaling_factor");
  if (scaling && scaling.sub(1).abs().max().item() === 0) given.delete("scaling_factor");
  const want = REQUIRED[c.architecture];
  const missing = want.filter((n) => !given.has(n));
  if (missing.length)
    throw new SaeError(
      `${c.architecture} SAE: missing tensor${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (it needs ${want.join(", ")})`,
    );
  const extra = [...given.keys()].filter((n) => !(want as readonly string[]).includes(n));
  if (extra.length)
    throw new SaeError(
      `${c.architecture} SAE: unexpected tensor${extra.length > 1 ? "s" : ""} ${extra.join(", ")} (it has ${want.join(", ")})`,
    );
  const out: Partial<Record<SaeParamName, Tensor>> = {};
  for (const n of want) {
    const t = given.get(n) as Tensor;
    const shape = shapeOf(n, c);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new SaeError(
        `${c.architecture} SAE: ${n} has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}] (d_in ${c.dIn}, d_sae ${c.dSae})`,
      );
    }
    out[n] = t.dtype === c.dtype ? t : t.to(c.dtype);
  }
  return out as Checked;
}
