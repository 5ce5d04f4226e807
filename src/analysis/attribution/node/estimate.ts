// The attribution estimate for one activation kind: one forward of the "other" run (its activations only), one
// forward + backward of the base run, and Σ (other − base act) · ∂metric/∂act at the base run, reduced to the
// patching function's grid. "denoise": base = corrupted, other = clean; "noise": base = clean, other = corrupted.
// Options: AtP*'s query/key fix (qk-fix.ts) and GradDrop (one backward per layer with that layer's residual
// contributions' gradient dropped; the estimate is Σ_l |estimate_l| / (L − 1)).
import { noGrad, stack, type Tensor } from "../../../tensor/index.js";
import type { HookedTransformer } from "../../../model/hooked-transformer.js";
import type { ActivationCache } from "../../../model/activation-cache.js";
import { getActName } from "../../../model/act-name.js";
import { TlensError } from "../../../errors.js";
import { progressReporter, type ProgressOptions } from "../../progress.js";
import { AttributionError } from "../errors.js";
import { gradRun, type AttributionMetric, type GradRun } from "./grad-run.js";
import { qkFixEstimate, qkFixHooks, type QkPatch } from "./qk-fix.js";

export type Convention = "denoise" | "noise";

export interface AttributionOptions extends ProgressOptions {
  clean: Tensor;
  corrupted: Tensor;
  metric: AttributionMetric;
  /** "denoise" (default): estimates metric(corrupted run, clean act patched in) − metric(corrupted); "noise":
   *  metric(clean run, corrupted act patched in) − metric(clean). */
  convention?: Convention;
  /** AtP*: query and key contributions from the exact softmax of the patched attention scores (q/k kinds only). */
  qkFix?: boolean;
  /** AtP*'s GradDrop: Σ_l |estimate with layer l's residual gradient dropped| / (L − 1); L backwards. */
  gradDrop?: boolean;
  /** Cancel: checked between passes; an aborted signal rejects with its reason. */
  signal?: AbortSignal;
}

/** One activation kind: its short hook name, and how a layer's product (other − base) · grad is summed to the grid. */
export interface KindSpec {
  act: string;
  /** product (the hook's shape) → this layer's row of the result */
  reduce: (prod: Tensor) => Tensor;
  /** the patches the query/key fix computes for this kind */
  qk?: QkPatch;
}

/** Clean and corrupted token tensors [batch, pos] of one shape, and a known convention (shared with EAP). */
export function checkPairAndConvention(what: string, clean: Tensor, corrupted: Tensor, convention: unknown): void {
  if (clean.ndim !== 2 || corrupted.ndim !== 2 || clean.shape.some((d, i) => d !== corrupted.shape[i])) {
    throw new AttributionError(`${what}: clean and corrupted must be token tensors [batch, pos] of one shape, got ` +
      `[${clean.shape.join(", ")}] and [${corrupted.shape.join(", ")}]`);
  }
  if (convention !== undefined && convention !== "denoise" && convention !== "noise") {
    throw new AttributionError(`${what}: convention must be "denoise" or "noise", got "${String(convention)}"`);
  }
}

function checkInputs(model: HookedTransformer, o: AttributionOptions): void {
  checkPairAndConvention("attribution", o.clean, o.corrupted, o.convention);
  if (o.gradDrop && model.cfg.nLayers < 2) throw new AttributionError("attribution: gradDrop needs at least 2 layers");
}

export function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new TlensError("attribution: cancelled");
}

/** The residual contributions of layer l, whose gradient GradDrop's l-th pass sets to zero. */
function dropHooks(model: HookedTransformer, l: number): [string, (g: Tensor) => Tensor][] {
  const names = [`blocks.${l}.hook_attn_out`, ...(model.cfg.attnOnly ? [] : [`blocks.${l}.hook_mlp_out`])];
  return names.map((n) => [n, (g: Tensor) => g.mul(0)]);
}

/** The result [n_layers, ...grid] for one kind: stack over layers of reduce((other − base) · grad). */
function fromRun(model: HookedTransformer, spec: KindSpec, run: GradRun, other: ActivationCache, qkFix: boolean): Tensor {
  const rows: Tensor[] = [];
  for (let l = 0; l < model.cfg.nLayers; l++) {
    if (qkFix && spec.qk) {
      rows.push(spec.reduce(qkFixEstimate(model, l, spec.qk, run, other)));
      continue;
    }
    const name = getActName(spec.act, l);
    const base = run.acts.get(name)!;
    rows.push(spec.reduce(other.get(name).sub(base).mul(run.grads.get(name)!)));
  }
  return stack(rows);
}

export async function estimate(model: HookedTransformer, spec: KindSpec, o: AttributionOptions): Promise<Tensor> {
  checkInputs(model, o);
  const denoise = (o.convention ?? "denoise") === "denoise";
  const [baseTokens, otherTokens] = denoise ? [o.corrupted, o.clean] : [o.clean, o.corrupted];
  const qkFix = Boolean(o.qkFix && spec.qk);
  const names = [...Array(model.cfg.nLayers).keys()].flatMap((l) => (qkFix ? qkFixHooks(model, l) : [getActName(spec.act, l)]));
  const wanted = new Set(names);
  const passes = o.gradDrop ? model.cfg.nLayers : 1;
  const report = progressReporter(`attribution ${spec.act}`, passes + 1, o);
  checkSignal(o.signal);
  const [, other] = await noGrad(() => model.runWithCache(otherTokens, { namesFilter: (n: string) => wanted.has(n) }));
  report(1, passes + 1);
  if (!o.gradDrop) {
    checkSignal(o.signal);
    const run = await gradRun(model, baseTokens, o.metric, names);
    report(2, 2);
    return fromRun(model, spec, run, other, qkFix);
  }
  let total: Tensor | null = null;
  for (let l = 0; l < passes; l++) {
    checkSignal(o.signal);
    const run = await gradRun(model, baseTokens, o.metric, names, { gradHooks: dropHooks(model, l) });
    const part = fromRun(model, spec, run, other, qkFix).abs();
    total = total ? total.add(part) : part;
    report(l + 2, passes + 1);
  }
  return total!.div(model.cfg.nLayers - 1);
}
