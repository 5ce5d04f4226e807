// runWithCache (TL's run_with_cache and get_caching_hooks): a forward reader that stores each activation, and
// with inclBwd a backward hook that stores `<hook>_grad` when backward() reaches it.
import { HookError } from "../errors.js";
import { Tensor } from "../tensor/index.js";
import { ActivationCache } from "./activation-cache.js";
import { readerHook, type HookFn, type NameFilter } from "./hook-point.js";
import type { ForwardOptions, HookedTransformer } from "./hooked-transformer.js";
import type { ModelInput } from "./model-input.js";
import { RunContext } from "./run/context.js";
import { runForward } from "./run/forward.js";

export type RunWithCacheOptions = ForwardOptions & {
  namesFilter?: NameFilter;
  removeBatchDim?: boolean;
  /** Also cache `<hook>_grad` = d(metric)/d(activation): the entries appear once `await metric.backward()` has run
   *  on a scalar computed from the returned logits (with returnType "loss", backward runs here, as in TL). */
  inclBwd?: boolean;
};

/** Runs the model caching activations (all hook points that fire, or those namesFilter selects) and, with
 *  inclBwd, their gradients. The cache's hooks belong to this run only: overlapping runs neither see nor fill them. */
export async function runWithCache(
  model: HookedTransformer,
  input: ModelInput | Tensor,
  opts: RunWithCacheOptions,
): Promise<[Tensor, ActivationCache]> {
  const store = new Map<string, Tensor>();
  const filter = opts.namesFilter ?? (() => true);
  const save = readerHook((act, hook) => {
    store.set(hook.name, act);
  });
  const ctx = RunContext.withHooks(
    model.hookPoints,
    [[filter, save]],
    0,
    opts.inclBwd ? [[filter, gradSaver(store)]] : [],
  );
  const out = await runForward(model, input, opts, ctx);
  const scalar = out instanceof Tensor && out.numel === 1;
  if (opts.inclBwd && scalar) await out.backward();
  if (opts.inclBwd && opts.removeBatchDim && !scalar) {
    throw new HookError(
      "runWithCache: removeBatchDim with inclBwd: the gradients arrive after this call; call cache.removeBatchDim() after backward()",
    );
  }
  // keys in the order the hooks first fired, as TL's cache dict (gradients after, as backward fills them)
  const cache = new ActivationCache(store, model);
  return [out as Tensor, opts.removeBatchDim ? cache.removeBatchDim() : cache];
}

/** Stores `<hook>_grad`. A point that fires several times (ln1, once per q, k and v input) gets their sum: the
 *  true d(metric)/d(activation), where TL's cache keeps the last firing (the query path). */
function gradSaver(store: Map<string, Tensor>): HookFn {
  return (g, hook) => {
    const key = `${hook.name}_grad`;
    const prev = store.get(key);
    store.set(key, prev ? prev.add(g) : g);
  };
}
