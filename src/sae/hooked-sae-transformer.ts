// SAELens's HookedSAETransformer in camelCase: a HookedTransformer with SAEs spliced in at hook points. The model
// core knows nothing of SAEs: each run adds, as its own hook at the SAE's hook point, a call of the SAE whose hook
// points are named `<hook>.hook_sae_*`; the spliced point itself leaves the cache (SAELens replaces it).
import { HookError } from "../errors.js";
import { ActivationCache } from "../model/activation-cache.js";
import type { ForwardOptions, HookedTransformer } from "../model/hooked-transformer.js";
import { readerHook, type HookFn, type NameFilter } from "../model/hook-point.js";
import type { ModelInput } from "../model/model-input.js";
import { RunContext, type HookSpec } from "../model/run/context.js";
import { runForward, type ForwardResult } from "../model/run/forward.js";
import { Tensor } from "../tensor/index.js";
import { SaeError } from "./errors.js";
import { hookWidth } from "./hook-width.js";
import type { SAE } from "./sae.js";
import { splitHooks } from "./splice-hooks.js";

export interface AddSaeOptions {
  /** add the SAE's error so the model's outputs are unchanged (default: the SAE's own useErrorTerm) */
  useErrorTerm?: boolean;
}

export interface WithSaesOptions extends AddSaeOptions {
  /** SAEs spliced for this call only, on top of (and at their hooks replacing) the attached ones */
  saes?: SAE | SAE[];
}

export type SaeHookOptions = { fwdHooks?: HookSpec[]; bwdHooks?: HookSpec[] };
export type SaeCacheOptions = ForwardOptions &
  WithSaesOptions & {
    namesFilter?: NameFilter;
    removeBatchDim?: boolean;
    /** also cache `<hook>_grad` (SAE hooks included) once `await metric.backward()` has run on the returned output */
    inclBwd?: boolean;
  };

interface Splice {
  sae: SAE;
  useErrorTerm: boolean;
}

/** SAELens's HookedSAETransformer: a model with SAEs spliced in at their hooks (optionally with the error term so
 *  the output is unchanged), whose runs and caches include each SAE's own hook points. */
export class HookedSAETransformer {
  private readonly attached = new Map<string, Splice>();

  constructor(readonly model: HookedTransformer) {}

  /** The attached SAEs by hook name (SAELens's acts_to_saes). */
  get actsToSaes(): ReadonlyMap<string, SAE> {
    return new Map([...this.attached].map(([h, s]) => [h, s.sae]));
  }

  /** Splices `sae` in at its cfg.hookName (replacing an SAE already there). HookError for a hook the model does
   *  not have, SaeError for d_in ≠ the hook's width. */
  addSae(sae: SAE, opts: AddSaeOptions = {}): void {
    this.attached.set(sae.cfg.hookName, this.splice(sae, opts));
  }

  /** Removes the SAEs at the given hooks (all when none given). */
  resetSaes(hookNames?: string[]): void {
    for (const h of hookNames ?? [...this.attached.keys()]) {
      if (!this.attached.delete(h)) throw new HookError(`resetSaes: no SAE is attached at "${h}"`);
    }
  }

  /** The model's hook names with the spliced ones replaced by their SAEs' `<hook>.hook_sae_*` names. */
  hookNames(extra: SAE[] = []): string[] {
    const splices = this.splices({ saes: extra });
    return this.model.hookNames().flatMap((n) => {
      const s = splices.get(n);
      return s
        ? [...s.sae.hookPoints.keys()].filter((l) => s.useErrorTerm || l !== "hook_sae_error").map((l) => `${n}.${l}`)
        : [n];
    });
  }

  /** The model's forward with the attached SAEs. */
  forward(input: ModelInput | Tensor, opts: ForwardOptions = {}): Promise<ForwardResult> {
    return this.run(input, opts, this.splices({}), {});
  }

  /** forward with hooks for this call (names may be `<hook>.hook_sae_*` of a spliced SAE). */
  runWithHooks(
    input: ModelInput | Tensor,
    opts: ForwardOptions & SaeHookOptions & WithSaesOptions = {},
  ): Promise<ForwardResult> {
    return this.run(input, opts, this.splices(opts), opts);
  }

  /** SAELens's run_with_saes: the attached SAEs plus `saes`, for this call only. */
  runWithSaes(input: ModelInput | Tensor, opts: ForwardOptions & WithSaesOptions = {}): Promise<ForwardResult> {
    return this.run(input, opts, this.splices(opts), {});
  }

  /** SAELens's run_with_cache_with_saes: the cache holds the model's hooks and `<hook>.hook_sae_*` (no `<hook>`). */
  async runWithCacheWithSaes(
    input: ModelInput | Tensor,
    opts: SaeCacheOptions = {},
  ): Promise<[Tensor, ActivationCache]> {
    const store = new Map<string, Tensor>();
    const filter = opts.namesFilter ?? (() => true);
    const save = readerHook((act, hook) => {
      store.set(hook.name, act);
    });
    const grad: HookFn = (g, hook) => {
      store.set(`${hook.name}_grad`, g);
    };
    const out = await this.run(input, opts, this.splices(opts), {
      fwdHooks: [[filter, save]],
      bwdHooks: opts.inclBwd ? [[filter, grad]] : [],
    });
    if (!(out instanceof Tensor))
      throw new HookError("runWithCacheWithSaes: returnType must give a tensor (logits or loss)");
    if (opts.inclBwd && out.numel === 1) await out.backward();
    const cache = new ActivationCache(store, this.model);
    return [out, opts.removeBatchDim ? cache.removeBatchDim() : cache];
  }

  /** runWithCacheWithSaes with only the attached SAEs (SAELens's run_with_cache on a HookedSAETransformer). */
  runWithCache(
    input: ModelInput | Tensor,
    opts: Omit<SaeCacheOptions, "saes"> = {},
  ): Promise<[Tensor, ActivationCache]> {
    return this.runWithCacheWithSaes(input, opts);
  }

  private splice(sae: SAE, opts: AddSaeOptions): Splice {
    const h = sae.cfg.hookName;
    if (!this.model.hookPoints.has(h))
      throw new HookError(`SAE hook "${h}" is not a hook point of this model (${this.model.cfg.modelName})`);
    const width = hookWidth(this.model.cfg, h);
    if (width !== null && width !== sae.cfg.dIn) {
      throw new SaeError(
        `SAE at "${h}" has d_in ${sae.cfg.dIn}, but that hook is ${width} wide in ${this.model.cfg.modelName}`,
      );
    }
    return { sae, useErrorTerm: opts.useErrorTerm ?? sae.useErrorTerm };
  }

  /** The attached splices, with this call's SAEs (and its useErrorTerm for them) on top. */
  private splices(opts: WithSaesOptions): Map<string, Splice> {
    const out = new Map(this.attached);
    const extra = opts.saes === undefined ? [] : Array.isArray(opts.saes) ? opts.saes : [opts.saes];
    for (const sae of extra) out.set(sae.cfg.hookName, this.splice(sae, opts));
    return out;
  }

  private async run(
    input: ModelInput | Tensor,
    opts: ForwardOptions,
    splices: Map<string, Splice>,
    hooks: SaeHookOptions,
  ): Promise<ForwardResult> {
    const spliced = [...splices.keys()];
    const fwd = splitHooks(hooks.fwdHooks ?? [], spliced);
    const bwd = splitHooks(hooks.bwdHooks ?? [], spliced);
    const saeHooks: HookSpec[] = [...splices].map(([h, s]) => [
      h,
      (act, info) => {
        const ctx = RunContext.withHooks(
          s.sae.hookPoints,
          fwd.sae.get(h) ?? [],
          info.positionOffset,
          bwd.sae.get(h) ?? [],
        );
        return s.sae.forward(act, { useErrorTerm: s.useErrorTerm }, ctx);
      },
    ]);
    const ctx = RunContext.withHooks(this.model.hookPoints, [...fwd.model, ...saeHooks], 0, bwd.model);
    return runForward(this.model, input, opts, ctx);
  }
}
