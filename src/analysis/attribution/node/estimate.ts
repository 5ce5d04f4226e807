// The attribution estimate for one activation kind: one forward of the "other" run (its activations only), one
// forward + backward of the base run, and Σ (other − base act) · ∂metric/∂act at the base run, reduced to the
// patching function's grid. "denoise": base = corrupted, other = clean; "noise": base = clean, other = corrupted.
// Options: AtP*'s query/key fix (qk-fix.ts) and GradDrop (one backward per layer with that layer's residual
// contributions' gradient dropped; the estimate is Σ_l |estimate_l| / (L − 1)).
import { noGrad, stack, type Tensor } from "../../../tensor/index.js";
import type { HookedTransformer } from "../../../model/hooked-transformer.js";
import type { ActivationCache } from "../../../model/activation-cache.js";
import { getActName } from "../../../model/act-name.js";
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
  /** The forward's logitPositions ("last" or indices): the metric gets logits [batch, n, d_vocab] at those
   *  positions only, which skips most of the unembedding (the metric must then read positions 0..n-1). */
  logitPositions?: "last" | number[];
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
    throw new AttributionError(
      `${what}: clean and corrupted must be token tensors [batch, pos] of one shape, got ` +
        `[${clean.shape.join(", ")}] and [${corrupted.shape.join(", ")}]`,
    );
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
  if (signal?.aborted)
    throw signal.reason instanceof Error ? signal.reason : new AttributionError("attribution: cancelled");
}

/** The residual contributions of layer l, whose gradient GradDrop's l-th pass sets to zero. */
function dropHooks(model: HookedTransformer, l: number): [string, (g: Tensor) => Tensor][] {
  const names = [`blocks.${l}.hook_attn_out`, ...(model.cfg.attnOnly ? [] : [`blocks.${l}.hook_mlp_out`])];
  return names.map((n) => [n, (g: Tensor) => g.mul(0)]);
}

/** The result [n_layers, ...grid] for one kind: stack over layers of reduce((other − base) · grad). */
function fromRun(
  model: HookedTransformer,
  spec: KindSpec,
  run: GradRun,
  other: ActivationCache,
  qkFix: boolean,
): Tensor {
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

/** The hooks a kind reads at every layer. */
function kindHooks(model: HookedTransformer, spec: KindSpec, qkFix: boolean): string[] {
  return [...Array(model.cfg.nLayers).keys()].flatMap((l) =>
    qkFix && spec.qk ? qkFixHooks(model, l) : [getActName(spec.act, l)],
  );
}

/** The other run's activations at these hooks: a forward without gradients that stops after the last block read. */
async function otherRun(model: HookedTransformer, tokens: Tensor, names: readonly string[]): Promise<ActivationCache> {
  const wanted = new Set(names);
  const last = Math.max(...names.map((n) => Number(/^blocks\.(\d+)\./.exec(n)![1])));
  const [, cache] = await noGrad(() =>
    model.runWithCache(tokens, { namesFilter: (n: string) => wanted.has(n), stopAtLayer: last + 1 }),
  );
  return cache;
}

/** Several kinds from the same passes: one forward of the other run, one forward + backward of the base run
 *  (L of them with GradDrop) with every kind's hooks; each kind's grid from those. */
export async function estimateKinds<K extends string>(
  model: HookedTransformer,
  specs: ReadonlyMap<K, KindSpec>,
  o: AttributionOptions,
): Promise<Record<K, Tensor>> {
  checkInputs(model, o);
  if (specs.size === 0) throw new AttributionError("attribution: no node kinds asked for");
  const denoise = (o.convention ?? "denoise") === "denoise";
  const [baseTokens, otherTokens] = denoise ? [o.corrupted, o.clean] : [o.clean, o.corrupted];
  const qkFix = Boolean(o.qkFix);
  const names = [...new Set([...specs.values()].flatMap((spec) => kindHooks(model, spec, qkFix)))];
  const passes = o.gradDrop ? model.cfg.nLayers : 1;
  const report = progressReporter(`attribution ${[...specs.values()].map((s) => s.act).join(", ")}`, passes + 1, o);
  checkSignal(o.signal);
  const other = await otherRun(model, otherTokens, names);
  report(1, passes + 1);
  const totals = new Map<K, Tensor>();
  for (let l = 0; l < passes; l++) {
    checkSignal(o.signal);
    const gradHooks = o.gradDrop ? dropHooks(model, l) : undefined;
    const run = await gradRun(model, baseTokens, o.metric, names, { gradHooks, logitPositions: o.logitPositions });
    for (const [kind, spec] of specs) {
      const part = fromRun(model, spec, run, other, qkFix);
      const prev = totals.get(kind);
      totals.set(kind, !o.gradDrop ? part : prev ? prev.add(part.abs()) : part.abs());
    }
    report(l + 2, passes + 1);
  }
  return Object.fromEntries([...totals].map(([k, t]) => [k, o.gradDrop ? t.div(model.cfg.nLayers - 1) : t])) as Record<
    K,
    Tensor
  >;
}
