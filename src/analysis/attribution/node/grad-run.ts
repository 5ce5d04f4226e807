// The one place attribution takes gradients w.r.t. activations: a forward with hooks that keeps the requested
// activations and d metric / d activation, then one backward. (Model weights do not require grad, so the first
// requested activation to fire is replaced by a detached leaf; later ones are in its graph and get a gradient
// hook. When the model's own backward hooks are available this can switch to them without changing callers.)
import type { Tensor } from "../../../tensor/index.js";
import type { HookedTransformer } from "../../../model/hooked-transformer.js";
import { AttributionError } from "../errors.js";

/** metric(logits [batch, pos, d_vocab]) → a differentiable scalar Tensor (e.g. a logit difference summed over the batch). */
export type AttributionMetric = (logits: Tensor) => Tensor | Promise<Tensor>;

export interface GradRun {
  metric: number;
  /** hook name → activation (as the hook saw it) */
  acts: Map<string, Tensor>;
  /** hook name → d metric / d activation, same shape (zeros where the metric does not depend on it) */
  grads: Map<string, Tensor>;
}

export interface GradRunOptions {
  /** Gradient hooks on other activations, e.g. GradDrop's zeroing; fn(grad) → the gradient that flows on. */
  gradHooks?: [string, (grad: Tensor) => Tensor][];
  /** Activations to use instead of the model's at these hooks (EAP-IG's interpolated inputs), same shapes. */
  replace?: Map<string, Tensor>;
}

export async function gradRun(model: HookedTransformer, tokens: Tensor, metric: AttributionMetric, names: readonly string[],
  opts: GradRunOptions = {}): Promise<GradRun> {
  const acts = new Map<string, Tensor>();
  const grads = new Map<string, Tensor>();
  const leaves = new Map<string, Tensor>();
  const wanted = new Set(names);
  const gradHooks = new Map(opts.gradHooks ?? []);
  const all = new Set([...wanted, ...gradHooks.keys(), ...(opts.replace?.keys() ?? [])]);
  for (const n of all) if (!model.hookPoints.has(n)) throw new AttributionError(`attribution: the model has no hook point "${n}"`);
  const fwdHooks: [string, (act: Tensor) => Tensor | void][] = [...all].map((name) => [name, (fired: Tensor) => {
    const act = opts.replace?.get(name) ?? fired;
    // one leaf per name: later firings (none for the hooks used here) would replace it
    const t = act.requiresGrad ? act : act.detach().requiresGrad_();
    if (wanted.has(name)) acts.set(name, t.detach());
    if (t === act) {
      t.registerHook((g) => {
        const drop = gradHooks.get(name);
        const flows = drop ? drop(g) : g;
        if (wanted.has(name)) grads.set(name, grads.has(name) ? grads.get(name)!.add(flows) : flows);
        return drop ? flows : undefined;
      });
      return;
    }
    leaves.set(name, t);
    return t;
  }]);
  const out = await metric(await model.runWithHooks(tokens, { fwdHooks }));
  if (out.numel !== 1) throw new AttributionError(`attribution: the metric must return a scalar, got shape [${out.shape.join(", ")}]`);
  const value = out.item();
  if (out.requiresGrad) await out.backward();
  for (const name of wanted) {
    const leafGrad = leaves.get(name)?.grad;
    // a leaf has nothing upstream: its gradient hook only changes what is recorded
    const drop = gradHooks.get(name);
    if (leafGrad) grads.set(name, drop ? drop(leafGrad) : leafGrad);
    if (!grads.has(name)) {
      const a = acts.get(name);
      if (!a) throw new AttributionError(`attribution: hook "${name}" did not fire`);
      grads.set(name, a.mul(0));
    }
  }
  return { metric: value, acts, grads };
}
