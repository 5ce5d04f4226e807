// The one place attribution takes gradients w.r.t. activations: one forward that keeps the requested activations
// (forward hooks that read, or replace with given tensors) and one backward whose hooks (the model's own
// backward hooks, TL's dir="bwd") keep d metric / d activation. Model weights need not require grad: a hooked
// activation outside the graph becomes a leaf there (model/backward-hook.ts).
import type { Tensor } from "../../../tensor/index.js";
import type { HookedTransformer } from "../../../model/hooked-transformer.js";
import type { HookFn } from "../../../model/hook-point.js";
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
  /** Offsets added to the model's activations at these hooks, same shapes; unlike `replace`, the gradient flows on
   *  through the hook to what computed it (EAP-IG on activations). */
  shift?: Map<string, Tensor>;
  /** The forward's logitPositions: the metric then gets logits [batch, n, d_vocab] at these positions only. */
  logitPositions?: "last" | number[];
}

/** One forward keeping the activations at `names` (optionally replaced or shifted) and one backward of the metric keeping d metric / d activation at them; AttributionError for an unknown hook or a non-scalar metric. */
export async function gradRun(
  model: HookedTransformer,
  tokens: Tensor,
  metric: AttributionMetric,
  names: readonly string[],
  opts: GradRunOptions = {},
): Promise<GradRun> {
  const acts = new Map<string, Tensor>();
  const grads = new Map<string, Tensor>();
  const wanted = new Set(names);
  const gradHooks = new Map(opts.gradHooks ?? []);
  const replace = opts.replace ?? new Map<string, Tensor>();
  const shift = opts.shift ?? new Map<string, Tensor>();
  const all = [...new Set([...wanted, ...gradHooks.keys(), ...replace.keys(), ...shift.keys()])];
  for (const n of all)
    if (!model.hookPoints.has(n)) throw new AttributionError(`attribution: the model has no hook point "${n}"`);
  const changed = (n: string): boolean => replace.has(n) || shift.has(n);
  const fwdHooks: [string, HookFn][] = all
    .filter((n) => wanted.has(n) || changed(n))
    .map((name) => [
      name,
      (fired: Tensor) => {
        const offset = shift.get(name);
        const act = replace.get(name) ?? (offset ? fired.add(offset) : fired);
        if (wanted.has(name)) acts.set(name, act.detach());
        return changed(name) ? act : undefined;
      },
    ]);
  const bwdHooks: [string, HookFn][] = all.map((name) => [
    name,
    (g: Tensor) => {
      const drop = gradHooks.get(name);
      const flows = drop ? drop(g) : g;
      if (wanted.has(name)) grads.set(name, grads.has(name) ? grads.get(name)!.add(flows) : flows);
      return drop ? flows : undefined;
    },
  ]);
  const out = await metric(
    await model.runWithHooks(tokens, { fwdHooks, bwdHooks, logitPositions: opts.logitPositions }),
  );
  if (out.numel !== 1)
    throw new AttributionError(`attribution: the metric must return a scalar, got shape [${out.shape.join(", ")}]`);
  const value = out.item();
  if (out.requiresGrad) await out.backward();
  for (const name of wanted) {
    if (grads.has(name)) continue;
    const a = acts.get(name);
    if (!a) throw new AttributionError(`attribution: hook "${name}" did not fire`);
    grads.set(name, a.mul(0));
  }
  return { metric: value, acts, grads };
}
