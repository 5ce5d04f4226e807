// The sparse autoencoder (SAELens's SAE classes: standard, gated, JumpReLU, TopK) with its own hook points. Built from
// tensor ops only, so the autodiff differentiates it (training, attribution through a spliced SAE).
import { Tensor, noGradSync, zerosLike } from "../tensor/index.js";
import { HookPoint, selectHooks, type AddHookOptions, type HookFn, type NameFilter } from "../model/hook-point.js";
import { ActivationCache } from "../model/activation-cache.js";
import { RunContext, type HookSpec } from "../model/run/context.js";
import { makeSaeConfig, type SaeConfig, type SaeConfigInput } from "./config.js";
import { SaeError } from "./errors.js";
import { checkSaeWeights, type SaeWeights } from "./weights.js";
import { normalizer, type Normalizer } from "./normalize.js";

/** SAELens's hook points inside an SAE, in the order they fire (hook_sae_error only with the error term). */
export const SAE_HOOK_NAMES = [
  "hook_sae_input",
  "hook_sae_acts_pre",
  "hook_sae_acts_post",
  "hook_sae_recons",
  "hook_sae_error",
  "hook_sae_output",
] as const;
export type SaeHookName = (typeof SAE_HOOK_NAMES)[number];

export interface SaeForwardOptions {
  /** add x − decode(encode(x)) (computed with no hooks and no gradient) so the output equals the input; default:
   *  the SAE's own useErrorTerm */
  useErrorTerm?: boolean;
}

/** Encoder input after reshaping, normalisation and the b_dec subtraction, with the way back out. */
interface SaeIn {
  saeIn: Tensor;
  norm: Normalizer;
  dHead: number | null;
}

/** A sparse autoencoder in SAELens's formats and architectures (standard, gated, JumpReLU, TopK): `encode`
 *  [..., d_in] → [..., d_sae], `decode` back, `forward` both; loaded from a SAELens folder or hub repo. */
export class SAE {
  readonly cfg: SaeConfig;
  /** [d_in, d_sae] */
  W_enc: Tensor;
  /** [d_sae, d_in] */
  W_dec: Tensor;
  /** [d_in] */
  b_dec: Tensor;
  /** [d_sae]; absent for gated (which has b_gate and b_mag) */
  b_enc?: Tensor;
  /** gated: [d_sae] each */
  b_gate?: Tensor;
  r_mag?: Tensor;
  b_mag?: Tensor;
  /** jumprelu: [d_sae] */
  threshold?: Tensor;
  /** SAELens's sae.use_error_term: forward's default */
  useErrorTerm = false;
  private readonly points = new Map<string, HookPoint>();
  /** the normaliser of the last encode (SAELens keeps it on the module for a separate decode) */
  private lastNorm: Normalizer | null = null;
  /** hook_z: the last encode's d_head, to reshape a separate decode's output */
  private lastDHead: number | null = null;

  /** An SAE from its config and weights (SAELens's names; each architecture's set, shapes checked). */
  constructor(cfg: SaeConfigInput, weights: SaeWeights) {
    this.cfg = makeSaeConfig(cfg);
    const w = checkSaeWeights(this.cfg, weights);
    this.W_enc = w.W_enc;
    this.W_dec = w.W_dec;
    this.b_dec = w.b_dec;
    this.b_enc = w.b_enc;
    this.b_gate = w.b_gate;
    this.r_mag = w.r_mag;
    this.b_mag = w.b_mag;
    this.threshold = w.threshold;
    for (const n of SAE_HOOK_NAMES) this.points.set(n, new HookPoint(n));
  }

  /** The SAE's hook points by name (SAELens's hook_dict). */
  get hookPoints(): ReadonlyMap<string, HookPoint> {
    return this.points;
  }

  /** The parameters by SAELens name, in its state-dict order. */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const order =
      this.cfg.architecture === "gated"
        ? (["W_enc", "b_gate", "r_mag", "b_mag", "W_dec", "b_dec"] as const)
        : (["W_enc", "b_enc", "W_dec", "b_dec", "threshold"] as const);
    for (const n of order) {
      const t = this[n];
      if (t) out.set(n, t);
    }
    return out;
  }

  /** Sets requiresGrad on every parameter (training, attribution to parameters). */
  requiresGrad_(flag = true): this {
    for (const t of this.stateDict().values()) t.requiresGrad_(flag);
    return this;
  }

  /** A shared hook on one of the SAE's hook points (fires in every run, spliced or not, until resetHooks). */
  addHook(name: NameFilter, fn: HookFn, opts: AddHookOptions = {}): void {
    for (const p of selectHooks(this.points, name)) p.add(fn, opts);
  }

  /** Removes the hooks added on the SAE's hook points (permanent ones too with `includingPermanent`). */
  resetHooks(opts: { includingPermanent?: boolean } = {}): void {
    for (const p of this.points.values()) p.clear(opts.includingPermanent ?? false);
  }

  /** [..., d_in] → feature activations [..., d_sae] (hook_sae_input, hook_sae_acts_pre, hook_sae_acts_post). */
  async encode(x: Tensor, ctx: RunContext = RunContext.plain()): Promise<Tensor> {
    const input = await this.processIn(x, ctx);
    return this.encodeFrom(input, ctx);
  }

  /** Feature activations [..., d_sae] → reconstruction [..., d_in] (hook_sae_recons); de-normalises with the
   *  last encode's statistics under constant_norm_rescale / layer_norm, as SAELens does. */
  async decode(acts: Tensor, ctx: RunContext = RunContext.plain()): Promise<Tensor> {
    if (
      this.lastNorm === null &&
      this.cfg.normalizeActivations !== "none" &&
      this.cfg.normalizeActivations !== "expected_average_only_in"
    ) {
      throw new SaeError(
        `decode: normalize_activations "${this.cfg.normalizeActivations}" de-normalises with the statistics of the last encode; call encode first`,
      );
    }
    const recons = await this.point("hook_sae_recons").run(this.reconsPre(acts), ctx);
    return this.outFrom(recons, this.lastNorm, this.lastDHead);
  }

  /** decode(encode(x)) → hook_sae_output; with the error term, + hook_sae_error(x − clean reconstruction). */
  async forward(x: Tensor, opts: SaeForwardOptions = {}, ctx: RunContext = RunContext.plain()): Promise<Tensor> {
    const input = await this.processIn(x, ctx);
    const acts = await this.encodeFrom(input, ctx);
    const recons = await this.point("hook_sae_recons").run(this.reconsPre(acts), ctx);
    let out = this.outFrom(recons, input.norm, input.dHead);
    if (opts.useErrorTerm ?? this.useErrorTerm) {
      const clean = noGradSync(() => this.cleanForward(x));
      out = out.add(await this.point("hook_sae_error").run(x.to(clean.dtype).sub(clean), ctx));
    }
    return this.point("hook_sae_output").run(out, ctx);
  }

  /** forward with this run's own hooks on the SAE's hook points (fwdHooks as [name filter, fn]). */
  runWithHooks(
    x: Tensor,
    opts: SaeForwardOptions & { fwdHooks?: HookSpec[]; bwdHooks?: HookSpec[] } = {},
  ): Promise<Tensor> {
    return this.forward(x, opts, RunContext.withHooks(this.points, opts.fwdHooks ?? [], 0, opts.bwdHooks ?? []));
  }

  /** forward, caching every hook point that fires (or those namesFilter selects) under its SAE-local name. */
  async runWithCache(
    x: Tensor,
    opts: SaeForwardOptions & { namesFilter?: NameFilter } = {},
  ): Promise<[Tensor, ActivationCache]> {
    const store = new Map<string, Tensor>();
    const out = await this.runWithHooks(x, {
      ...opts,
      fwdHooks: [
        [
          opts.namesFilter ?? (() => true),
          (a, h) => {
            store.set(h.name, a);
          },
        ],
      ],
    });
    return [out, new ActivationCache(store)];
  }

  private point(name: SaeHookName): HookPoint {
    return this.points.get(name) as HookPoint;
  }

  private checkWidth(x: Tensor): void {
    const flat =
      this.cfg.reshapeActivations === "hook_z" ? (x.shape.at(-1) ?? 0) * (x.shape.at(-2) ?? 0) : x.shape.at(-1);
    if (flat !== this.cfg.dIn) {
      throw new SaeError(
        `SAE on "${this.cfg.hookName}": input has width ${String(flat)} (shape [${x.shape.join(", ")}]), but d_in is ${this.cfg.dIn}`,
      );
    }
  }

  /** x cast to the SAE's dtype, hook_z's heads flattened: [..., d_in]. */
  private flatIn(x: Tensor): Tensor {
    this.checkWidth(x);
    const cast = x.to(this.cfg.dtype);
    return this.cfg.reshapeActivations === "hook_z" ? cast.flatten(-2) : cast;
  }

  /** Normalised, then − b_dec when applyBDecToInput. */
  private centre(saeIn: Tensor): { saeIn: Tensor; norm: Normalizer } {
    const norm = normalizer(this.cfg.normalizeActivations, saeIn);
    return { saeIn: this.cfg.applyBDecToInput ? norm.x.sub(this.b_dec) : norm.x, norm };
  }

  /** x → hook_sae_input → centre; remembers the normaliser for a separate decode. */
  private async processIn(x: Tensor, ctx: RunContext): Promise<SaeIn> {
    const hooked = await this.point("hook_sae_input").run(this.flatIn(x), ctx);
    const dHead = this.cfg.reshapeActivations === "hook_z" ? (x.shape.at(-1) as number) : null;
    const { saeIn, norm } = this.centre(hooked);
    this.lastNorm = norm;
    this.lastDHead = dHead;
    return { saeIn, norm, dHead };
  }

  private async encodeFrom(input: SaeIn, ctx: RunContext): Promise<Tensor> {
    const pre = await this.point("hook_sae_acts_pre").run(this.preActs(input.saeIn), ctx);
    return this.point("hook_sae_acts_post").run(this.activate(pre, input.saeIn), ctx);
  }

  /** `[..., d_sae]`: sae_in @ W_enc + b_enc; gated: the magnitude path sae_in @ (W_enc ⊙ exp(r_mag)) + b_mag. */
  private preActs(saeIn: Tensor): Tensor {
    if (this.cfg.architecture === "gated")
      return saeIn.matmul(this.W_enc.mul((this.r_mag as Tensor).exp())).add(this.b_mag as Tensor);
    return saeIn.matmul(this.W_enc).add(this.b_enc as Tensor);
  }

  /** The architecture's activation function on the pre-activations [..., d_sae]. */
  private activate(pre: Tensor, saeIn: Tensor): Tensor {
    switch (this.cfg.architecture) {
      case "standard":
        return pre.relu();
      case "jumprelu":
        return pre.relu().mul(pre.gt(this.threshold as Tensor).to(pre.dtype));
      case "gated": {
        const gate = saeIn
          .matmul(this.W_enc)
          .add(this.b_gate as Tensor)
          .gt(0)
          .to(pre.dtype);
        return gate.mul(pre.relu());
      }
      case "topk": {
        const scored = this.cfg.rescaleActsByDecoderNorm ? pre.mul(this.W_dec.norm(-1)) : pre;
        const { values, indices } = scored.topk(this.cfg.k as number, -1);
        return zerosLike(scored).scatter(-1, indices, values.relu());
      }
    }
  }

  /** acts @ W_dec + b_dec [..., d_in] (TopK with decoder-norm rescaling divides the acts by ‖W_dec[j]‖ first). */
  private reconsPre(acts: Tensor): Tensor {
    const a =
      this.cfg.architecture === "topk" && this.cfg.rescaleActsByDecoderNorm ? acts.div(this.W_dec.norm(-1)) : acts;
    return a.matmul(this.W_dec).add(this.b_dec);
  }

  /** De-normalises and, for hook_z, splits the heads back out: [..., n_heads, d_head]. */
  private outFrom(recons: Tensor, norm: Normalizer | null, dHead: number | null): Tensor {
    const out = norm ? norm.out(recons) : recons;
    return dHead === null ? out : out.reshape(...out.shape.slice(0, -1), this.cfg.dIn / dHead, dHead);
  }

  /** decode(encode(x)) with no hook firing (the error term's reconstruction). */
  private cleanForward(x: Tensor): Tensor {
    const { saeIn, norm } = this.centre(this.flatIn(x));
    const dHead = this.cfg.reshapeActivations === "hook_z" ? (x.shape.at(-1) as number) : null;
    return this.outFrom(this.reconsPre(this.activate(this.preActs(saeIn), saeIn)), norm, dHead);
  }
}
