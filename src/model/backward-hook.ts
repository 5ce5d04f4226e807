// Backward hooks at hook points (TransformerLens's dir="bwd"): a hook sees d(metric)/d(the hook point's output)
// once per backward pass, in reverse forward order, and a tensor it returns replaces that gradient upstream.
// They ride on the tensor engine's registerHook, attached to the activation as it leaves the hook point.
import { GradError, HookError } from "../errors.js";
import { isGradEnabled, type Tensor } from "../tensor/index.js";
import { hasNaN } from "../tensor/autograd/engine.js";
import { fmtShape } from "../tensor/shape.js";
import type { HookFn, HookInfo } from "./hook-point.js";

/** A backward hook and whether it is still attached when backward reaches it (model.addHook ones may have been
 *  removed since the forward: as in TL, a removed hook does not fire). */
export interface BackwardHook {
  fn: HookFn;
  active(): boolean;
}

/** The activation [any shape] as the run passes it on, with the hooks attached to its gradient. It gets a node
 *  of its own (an identity view): hook points that pass the same tensor on (resid_post → the next resid_pre)
 *  then fire separately, in reverse order. An activation outside the graph (frozen embeddings) becomes a leaf
 *  that requires grad (a copy of it is passed on), so its hooks fire however many parameters require grad. */
export function attachBackwardHooks(act: Tensor, hooks: readonly BackwardHook[], info: HookInfo): Tensor {
  if (!hooks.length || !isGradEnabled() || (act.dtype !== "float32" && act.dtype !== "float64")) return act;
  // (the leaf is cloned: later hooks may edit the activation in place, which a leaf that requires grad refuses)
  const out = act.requiresGrad ? act.viewAs(act.shape) : act.detach().requiresGrad_().clone();
  out.registerHook(async (grad) => {
    let g = grad;
    for (const h of hooks) if (h.active()) g = await applyBackwardHook(h.fn, g, info);
    return g === grad ? undefined : g;
  });
  return out;
}

/** Runs one backward hook on gradient g; its result must be a tensor of g's shape without NaN. */
async function applyBackwardHook(fn: HookFn, g: Tensor, info: HookInfo): Promise<Tensor> {
  let out: Tensor | void;
  try {
    out = await fn(g, info);
  } catch (e) {
    if (e instanceof Error && !e.message.includes(`"${info.name}"`))
      e.message = `in backward hook on "${info.name}": ${e.message}`;
    throw e;
  }
  if (out === undefined || out === null) return g;
  if (typeof out !== "object" || !("shape" in out) || !("dtype" in out)) {
    throw new HookError(
      `backward hook on "${info.name}" returned ${typeof out}; return a Tensor (the new gradient), or nothing to keep it`,
    );
  }
  if (out.shape.length !== g.shape.length || out.shape.some((s, i) => s !== g.shape[i])) {
    throw new GradError(
      `backward hook on "${info.name}" returned a gradient of shape ${fmtShape(out.shape)}, but the gradient there has shape ${fmtShape(g.shape)}`,
    );
  }
  if (hasNaN(out)) throw new GradError(`backward hook on "${info.name}" returned a gradient containing NaN`);
  return out.dtype === g.dtype ? out : out.to(g.dtype);
}
