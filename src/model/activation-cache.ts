// ActivationCache: the activations of one run, keyed by TransformerLens hook names, and TL's analysis methods on
// them (accumulatedResid, decomposeResid, stackHeadResults, stackNeuronResults, getFullResidDecomposition,
// applyLnToStack, logitAttrs, computeHeadResults). Semantics follow TransformerLens's ActivationCache; the slices
// and model-side sums live in cache-analysis.ts.
//
// Shapes: a "stack" is [component, ...batchAndPos, d_model], where batchAndPos is [batch, pos] by default, [batch]
// after an integer posSlice, and without batch after removeBatchDim.
import { HookError, IndexError, ModelError, ShapeError } from "../errors.js";
import { cat, stack as stackTensors, Tensor, zeros } from "../tensor/index.js";
import { fmtShape } from "../tensor/shape.js";
import { getActName } from "./act-name.js";
import {
  accumulatedBias,
  applyFinalNorm,
  attributeAlong,
  residMidName,
  resolveLayer,
  Slice,
  type SliceInput,
} from "./cache-analysis.js";
import { nearestName } from "./hook-point.js";
import type {
  AccumulatedResidOptions,
  ApplyLnToStackOptions,
  DecomposeResidOptions,
  FullResidDecompositionOptions,
  LogitAttrsOptions,
  StackHeadResultsOptions,
  StackNeuronResultsOptions,
  TokensInput,
} from "./cache-options.js";
import type { HookedTransformer } from "./hooked-transformer.js";

export { attributeAlong, Slice, type SliceInput, type SliceRange } from "./cache-analysis.js";

export type {
  AccumulatedResidOptions,
  DecomposeResidOptions,
  StackHeadResultsOptions,
  StackNeuronResultsOptions,
  FullResidDecompositionOptions,
  ApplyLnToStackOptions,
  TokensInput,
  LogitAttrsOptions,
} from "./cache-options.js";

type Labeled = [Tensor, string[]];
type WithLabels<O> = O & { returnLabels: true };
type NoLabels<O> = O & { returnLabels?: false };

/** TransformerLens's ActivationCache: the activations of one run by hook name (and `<hook>_grad` gradients with
 *  `inclBwd`), with TL's analyses: accumulated and decomposed residual streams, stacked head and neuron results,
 *  layer-norm application and logit attributions. An unknown name throws HookError with the nearest names. */
export class ActivationCache {
  /** The cache's hook_embed / hook_pos_embed presence (TL's has_embed / has_pos_embed). */
  get hasEmbed(): boolean {
    return this.store.has("hook_embed");
  }
  get hasPosEmbed(): boolean {
    return this.store.has("hook_pos_embed");
  }

  /** store: hook name → activation. model: the model that made it (the analysis methods read its config and
   *  weights). hasBatchDim: false after removeBatchDim. */
  constructor(
    private readonly store: Map<string, Tensor>,
    readonly model: HookedTransformer | null = null,
    readonly hasBatchDim = true,
  ) {}

  /** cache.get("blocks.0.attn.hook_pattern") or TL's shorthand cache.get("pattern", 0); a negative layer counts
   *  from the end (with a model). */
  get(name: string, layer?: number, layerType?: string): Tensor {
    if (layer !== undefined && layer !== null && layer < 0 && this.model) layer += this.model.cfg.nLayers;
    const key =
      layer === undefined && layerType === undefined && this.store.has(name)
        ? name
        : getActName(name, layer, layerType);
    const t = this.store.get(key);
    if (!t) {
      const near = nearestName(key, this.store.keys());
      throw new HookError(
        `"${key}" is not in the cache${near ? `; did you mean "${near}"?` : ""} (the cache holds ${this.store.size} activations; check namesFilter)`,
      );
    }
    return t;
  }

  /** Whether the cache holds this hook name. */
  has(name: string): boolean {
    return this.store.has(name);
  }

  /** The hook names held, in run order. */
  keys(): string[] {
    return [...this.store.keys()];
  }

  /** [hook name, activation] pairs, in run order. */
  entries(): [string, Tensor][] {
    return [...this.store.entries()];
  }

  get size(): number {
    return this.store.size;
  }

  /** A summary: the hook names and their shapes. */
  toString(): string {
    return `ActivationCache with keys [${this.keys().join(", ")}]`;
  }

  /** A cache of batch-1 activations without the batch dim (TL's remove_batch_dim). */
  removeBatchDim(): ActivationCache {
    if (!this.hasBatchDim) return this;
    const out = new Map<string, Tensor>();
    for (const [k, v] of this.store) {
      if (v.shape[0] !== 1)
        throw new HookError(
          `removeBatchDim: "${k}" has batch size ${v.shape[0]}; only a batch of 1 can drop its batch dim`,
        );
      out.set(k, v.squeeze(0));
    }
    return new ActivationCache(out, this.model, false);
  }

  /** A cache of the selected batch rows (TL's apply_slice_to_batch_dim); an integer drops the batch dim. */
  applySliceToBatchDim(batchSlice: SliceInput): ActivationCache {
    const s = Slice.unwrap(batchSlice);
    if (!this.hasBatchDim && s.mode !== "empty")
      throw new ModelError("applySliceToBatchDim: this cache has no batch dim");
    const out = new Map<string, Tensor>();
    for (const [k, v] of this.store) out.set(k, v.ndim > 0 ? s.apply(v, 0) : v);
    return new ActivationCache(out, this.model, this.hasBatchDim && s.mode !== "int");
  }

  private requireModel(what: string): HookedTransformer {
    if (!this.model)
      throw new ModelError(
        `${what} needs the model: make the cache with model.runWithCache, or new ActivationCache(store, model)`,
      );
    return this.model;
  }

  // ---------- residual stream ----------

  /**
   * The residual stream at each layer up to `layer`: [component, ...batchAndPos, d_model], labels
   * `0_pre, 0_mid, 1_pre, ..., final_post` (TL's accumulated_resid). The logit lens starts here.
   */
  accumulatedResid(opts: WithLabels<AccumulatedResidOptions>): Labeled;
  accumulatedResid(opts?: NoLabels<AccumulatedResidOptions>): Tensor;
  accumulatedResid(opts?: AccumulatedResidOptions): Tensor | Labeled;
  accumulatedResid(opts: AccumulatedResidOptions = {}): Tensor | Labeled {
    const model = this.requireModel("accumulatedResid");
    const n = model.cfg.nLayers;
    const layer = resolveLayer(opts.layer, n, "accumulatedResid");
    const pos = Slice.unwrap(opts.posSlice);
    const labels: string[] = [];
    const parts: Tensor[] = [];
    for (let l = 0; l <= layer; l++) {
      if (l === n) {
        parts.push(this.get(`blocks.${n - 1}.hook_resid_post`));
        labels.push("final_post");
        continue;
      }
      parts.push(this.get(`blocks.${l}.hook_resid_pre`));
      labels.push(`${l}_pre`);
      if ((opts.inclMid && l < layer) || (opts.mlpInput && l === layer)) {
        parts.push(this.get(residMidName(model, l)));
        labels.push(`${l}_mid`);
      }
    }
    let out = stackTensors(
      parts.map((p) => pos.apply(p, -2)),
      0,
    );
    if (opts.applyLn) {
      out = this.applyLnToStack(out, {
        layer,
        posSlice: pos,
        mlpInput: opts.mlpInput,
        hasBatchDim: this.hasBatchDim,
        recomputeLn: layer === n,
      });
    }
    return opts.returnLabels ? [out, labels] : out;
  }

  /**
   * The residual stream into `layer` as the outputs that wrote it: [component, ...batchAndPos, d_model], labels
   * `embed, pos_embed, 0_attn_out, 0_mlp_out, ...` (TL's decompose_resid). The components sum to resid_pre of
   * `layer` (or the final resid_post).
   */
  decomposeResid(opts: WithLabels<DecomposeResidOptions>): Labeled;
  decomposeResid(opts?: NoLabels<DecomposeResidOptions>): Tensor;
  decomposeResid(opts?: DecomposeResidOptions): Tensor | Labeled;
  decomposeResid(opts: DecomposeResidOptions = {}): Tensor | Labeled {
    const model = this.requireModel("decomposeResid");
    const n = model.cfg.nLayers;
    const layer = resolveLayer(opts.layer, n, "decomposeResid");
    const mode = opts.mode ?? "all";
    if (mode !== "all" && mode !== "attn" && mode !== "mlp")
      throw new ModelError(`decomposeResid: mode must be "all", "attn" or "mlp", got "${String(mode)}"`);
    const pos = Slice.unwrap(opts.posSlice);
    const inclAttn = mode !== "mlp";
    const inclMlp = mode !== "attn" && !model.cfg.attnOnly;
    const parts: Tensor[] = [];
    const labels: string[] = [];
    if (opts.inclEmbeds ?? true) {
      if (this.hasEmbed) {
        parts.push(this.get("hook_embed"));
        labels.push("embed");
      }
      if (this.hasPosEmbed) {
        parts.push(this.get("hook_pos_embed"));
        labels.push("pos_embed");
      }
    }
    for (let l = 0; l < layer; l++) {
      if (inclAttn) {
        parts.push(this.get(`blocks.${l}.hook_attn_out`));
        labels.push(`${l}_attn_out`);
      }
      if (inclMlp) {
        parts.push(this.get(`blocks.${l}.hook_mlp_out`));
        labels.push(`${l}_mlp_out`);
      }
    }
    if (opts.mlpInput && inclAttn) {
      if (layer >= n) throw new IndexError("decomposeResid: mlpInput needs a layer below n_layers");
      parts.push(this.get(`blocks.${layer}.hook_attn_out`));
      labels.push(`${layer}_attn_out`);
    }
    let out = parts.length
      ? stackTensors(
          parts.map((p) => pos.apply(p, -2)),
          0,
        )
      : this.emptyStack(pos);
    if (opts.applyLn) out = this.applyLnToStack(out, { layer, posSlice: pos, mlpInput: opts.mlpInput });
    return opts.returnLabels ? [out, labels] : out;
  }

  /** `[0, ...batchAndPos, d_model]`: a stack with no components (shaped like hook_embed, as TL). */
  private emptyStack(pos: Slice): Tensor {
    const ref = this.store.get("hook_embed") ?? this.store.get("blocks.0.hook_resid_pre");
    if (!ref) throw new HookError("an empty stack takes its shape from hook_embed, which is not in the cache");
    return zeros([0, ...pos.apply(ref, -2).shape]);
  }

  // ---------- heads ----------

  /** blocks.{l}.attn.hook_result [...batchAndPos, head, d_model]: cached, or computed from hook_z and W_O (without
   *  b_O, as TL) and stored in the cache. */
  private headResult(l: number): Tensor {
    const key = `blocks.${l}.attn.hook_result`;
    const cached = this.store.get(key);
    if (cached) return cached;
    const model = this.requireModel("computeHeadResults");
    const z = this.get(`blocks.${l}.attn.hook_z`); // [..., head, d_head]
    const W_O = model.blocks[l]!.attn.W_O; // [head, d_head, d_model]
    const result = z.unsqueeze(-2).matmul(W_O).squeeze(-2); // [..., head, 1, d_head] @ [head, d_head, d_model]
    this.store.set(key, result);
    return result;
  }

  /** Adds blocks.{l}.attn.hook_result = z @ W_O (no b_O) [...batchAndPos, head, d_model] for every layer that does
   *  not have it (TL's compute_head_results; enable use_attn_result before the run to get them directly). */
  computeHeadResults(): void {
    const model = this.requireModel("computeHeadResults");
    for (let l = 0; l < model.cfg.nLayers; l++) this.headResult(l);
  }

  /**
   * Every head's output (without b_O) for the layers before `layer`: [layer * n_heads, ...batchAndPos, d_model],
   * labels `L{l}H{h}`, plus "remainder" with inclRemainder (TL's stack_head_results). Computes the head results
   * from hook_z when the run did not cache hook_result.
   */
  stackHeadResults(opts: WithLabels<StackHeadResultsOptions>): Labeled;
  stackHeadResults(opts?: NoLabels<StackHeadResultsOptions>): Tensor;
  stackHeadResults(opts?: StackHeadResultsOptions): Tensor | Labeled;
  stackHeadResults(opts: StackHeadResultsOptions = {}): Tensor | Labeled {
    const model = this.requireModel("stackHeadResults");
    const n = model.cfg.nLayers;
    const layer = resolveLayer(opts.layer, n, "stackHeadResults");
    const pos = Slice.unwrap(opts.posSlice);
    const labels: string[] = [];
    const parts: Tensor[] = [];
    for (let l = 0; l < layer; l++) {
      parts.push(pos.apply(this.headResult(l), -3)); // [..., head, d_model]
      for (let h = 0; h < model.cfg.nHeads; h++) labels.push(`L${l}H${h}`);
    }
    let out = parts.length ? cat(parts, -2).movedim(-2, 0) : this.emptyStack(pos);
    if (opts.inclRemainder) {
      const target = pos.apply(this.residInto(layer), -2);
      const remainder = parts.length ? target.sub(out.sum(0)) : target;
      out = cat([out, remainder.unsqueeze(0)], 0);
      labels.push("remainder");
    }
    if (opts.applyLn) out = this.applyLnToStack(out, { layer, posSlice: pos });
    return opts.returnLabels ? [out, labels] : out;
  }

  /** The residual stream entering `layer` (its attention): resid_post of layer - 1, or resid_pre of block 0
   *  (TL reads resid_post of layer - 1, which for layer 0 wraps to the last layer). */
  private residInto(layer: number): Tensor {
    return layer === 0 ? this.get("blocks.0.hook_resid_pre") : this.get(`blocks.${layer - 1}.hook_resid_post`);
  }

  // ---------- neurons ----------

  /** Each neuron's output post * W_out[n] at one layer: [...batchAndPos, neuron, d_model] (TL's get_neuron_results;
   *  not cached). */
  getNeuronResults(layer: number, opts: { neuronSlice?: SliceInput; posSlice?: SliceInput } = {}): Tensor {
    const model = this.requireModel("getNeuronResults");
    const mlp = model.blocks[layer]?.mlp;
    if (!mlp) throw new IndexError(`getNeuronResults: layer ${layer} has no MLP`);
    const neurons = Slice.unwrap(opts.neuronSlice);
    let acts = Slice.unwrap(opts.posSlice).apply(this.get(`blocks.${layer}.mlp.hook_post`), -2);
    acts = neurons.apply(acts, -1);
    const W_out = neurons.apply(mlp.W_out, 0);
    return acts.unsqueeze(-1).mul(W_out);
  }

  /**
   * Every neuron's output for the layers before `layer`: [layer * neurons, ...batchAndPos, d_model], labels
   * `L{l}N{n}`, plus "remainder" with inclRemainder (TL's stack_neuron_results). Large: layers × d_mlp vectors per
   * position — slice positions or neurons on big models.
   */
  stackNeuronResults(opts: WithLabels<StackNeuronResultsOptions>): Labeled;
  stackNeuronResults(opts?: NoLabels<StackNeuronResultsOptions>): Tensor;
  stackNeuronResults(opts?: StackNeuronResultsOptions): Tensor | Labeled;
  stackNeuronResults(opts: StackNeuronResultsOptions = {}): Tensor | Labeled {
    const model = this.requireModel("stackNeuronResults");
    const n = model.cfg.nLayers;
    const layer = resolveLayer(opts.layer, n, "stackNeuronResults");
    let neurons = Slice.unwrap(opts.neuronSlice);
    // layers are concatenated along the neuron axis, so a single neuron keeps its dim
    if (neurons.mode === "int") neurons = new Slice([neurons.slice as number]);
    const pos = Slice.unwrap(opts.posSlice);
    const ids = neurons.indices(model.cfg.dMlp);
    const labels: string[] = [];
    const parts: Tensor[] = [];
    for (let l = 0; l < layer; l++) {
      parts.push(this.getNeuronResults(l, { neuronSlice: neurons, posSlice: pos }));
      for (const i of ids) labels.push(`L${l}N${i}`);
    }
    let out = parts.length ? cat(parts, -2).movedim(-2, 0) : this.emptyStack(pos);
    if (opts.inclRemainder) {
      if (opts.mlpInput && layer >= n)
        throw new IndexError("stackNeuronResults: mlpInput needs a layer below n_layers");
      const target = pos.apply(opts.mlpInput ? this.get(residMidName(model, layer)) : this.residInto(layer), -2);
      const remainder = parts.length ? target.sub(out.sum(0)) : target;
      out = cat([out, remainder.unsqueeze(0)], 0);
      labels.push("remainder");
    }
    if (opts.applyLn) out = this.applyLnToStack(out, { layer, posSlice: pos, mlpInput: opts.mlpInput });
    return opts.returnLabels ? [out, labels] : out;
  }

  /** hook_{name} of the layers before `layer`, stacked: [layer, ...] (TL's stack_activation). */
  stackActivation(activationName: string, layer = -1, sublayerType?: string): Tensor {
    const model = this.requireModel("stackActivation");
    const top = resolveLayer(layer, model.cfg.nLayers, "stackActivation");
    const parts: Tensor[] = [];
    for (let l = 0; l < top; l++) parts.push(this.get(activationName, l, sublayerType));
    return stackTensors(parts, 0);
  }

  // ---------- full decomposition ----------

  /**
   * The input to `layer` as every head, every neuron (or MLP layer), embed, pos_embed and the summed biases:
   * [component, ...batchAndPos, d_model], labels `L{l}H{h}..., L{l}N{n}... (or {l}_mlp_out), embed, pos_embed, bias`
   * (TL's get_full_resid_decomposition). The components sum to the residual stream.
   */
  getFullResidDecomposition(opts: WithLabels<FullResidDecompositionOptions>): Labeled;
  getFullResidDecomposition(opts?: NoLabels<FullResidDecompositionOptions>): Tensor;
  getFullResidDecomposition(opts?: FullResidDecompositionOptions): Tensor | Labeled;
  getFullResidDecomposition(opts: FullResidDecompositionOptions = {}): Tensor | Labeled {
    const model = this.requireModel("getFullResidDecomposition");
    const n = model.cfg.nLayers;
    const layer = resolveLayer(opts.layer, n, "getFullResidDecomposition");
    const mlpInput = opts.mlpInput ?? false;
    if (mlpInput && layer >= n)
      throw new IndexError("getFullResidDecomposition: mlpInput needs a layer below n_layers");
    const expand = opts.expandNeurons ?? true;
    const pos = Slice.unwrap(opts.posSlice);
    const [heads, headLabels] = this.stackHeadResults({
      layer: layer + (mlpInput ? 1 : 0),
      posSlice: pos,
      returnLabels: true,
    });
    const labels = [...headLabels];
    const parts: Tensor[] = [heads];
    if (!model.cfg.attnOnly && layer > 0) {
      const [mlps, mlpLabels] = expand
        ? this.stackNeuronResults({ layer, posSlice: pos, returnLabels: true })
        : this.decomposeResid({ layer, mlpInput, posSlice: pos, inclEmbeds: false, mode: "mlp", returnLabels: true });
      parts.push(mlps);
      labels.push(...mlpLabels);
    }
    if (this.hasEmbed) {
      parts.push(pos.apply(this.get("hook_embed"), -2).unsqueeze(0));
      labels.push("embed");
    }
    if (this.hasPosEmbed) {
      parts.push(pos.apply(this.get("hook_pos_embed"), -2).unsqueeze(0));
      labels.push("pos_embed");
    }
    // without expanded neurons the MLP biases are already in the MLP outputs
    const bias = accumulatedBias(model, layer, mlpInput, expand);
    parts.push(bias.expand([1, ...heads.shape.slice(1)]));
    labels.push("bias");
    let out = cat(parts, 0);
    if (opts.applyLn) out = this.applyLnToStack(out, { layer, posSlice: pos, mlpInput });
    return opts.returnLabels ? [out, labels] : out;
  }

  // ---------- normalisation and attribution ----------

  /**
   * Treats each component of the stack as an input to `layer` and applies that norm's *cached* scaling: centre
   * (LN/LNPre) and divide by the cached hook_scale (TL's apply_ln_to_stack). The norm's weight and bias are never
   * applied, so attributions sum to the logits only for folded models. With recomputeLn at the unembed, each
   * component goes through ln_final with its own statistics instead. Models without norms get the stack back.
   */
  applyLnToStack(residualStack: Tensor, opts: ApplyLnToStackOptions = {}): Tensor {
    const model = this.requireModel("applyLnToStack");
    const norm = model.cfg.normalizationType;
    if (norm !== "LN" && norm !== "LNPre" && norm !== "RMS" && norm !== "RMSPre") return residualStack;
    const n = model.cfg.nLayers;
    const layer = resolveLayer(opts.layer, n, "applyLnToStack");
    const pos = Slice.unwrap(opts.posSlice);
    const batch = Slice.unwrap(opts.batchSlice);
    let stack = residualStack;
    if (opts.hasBatchDim ?? this.hasBatchDim) stack = batch.apply(stack, 1);
    if (opts.recomputeLn && layer === n) return applyFinalNorm(model, stack);
    if (norm === "LN" || norm === "LNPre") stack = stack.sub(stack.mean(-1, true));
    if (opts.mlpInput && layer >= n)
      throw new IndexError("applyLnToStack: mlpInput needs a layer below n_layers (the unembed reads ln_final)");
    const key = layer === n ? "ln_final.hook_scale" : `blocks.${layer}.ln${opts.mlpInput ? 2 : 1}.hook_scale`;
    if (!this.store.has(key))
      throw new HookError(
        `applyLnToStack needs the cached norm scale "${key}", which is not in the cache (check namesFilter)`,
      );
    let scale = pos.apply(this.get(key), -2); // [...batchAndPos, 1]
    if (this.hasBatchDim) scale = batch.apply(scale, 0);
    try {
      return stack.div(scale);
    } catch (e) {
      if (e instanceof ShapeError) {
        throw new ShapeError(
          `applyLnToStack: a stack of shape ${fmtShape(stack.shape)} does not fit the scale ${fmtShape(scale.shape)} of "${key}"; pass the posSlice/batchSlice the stack was made with`,
        );
      }
      throw e;
    }
  }

  /** The unembedding directions of tokens [..., d_model] (a single token gives [d_model], as TL). */
  private tokenDirections(tokens: TokensInput, what: string): { dirs: Tensor; shape: readonly number[] } {
    const model = this.requireModel("logitAttrs");
    let ids: number | Tensor;
    if (typeof tokens === "string") ids = model.toSingleToken(tokens);
    else if (typeof tokens === "number") ids = tokens;
    else if (tokens instanceof Tensor) ids = tokens;
    else if (Array.isArray(tokens)) {
      const arr = (tokens as readonly (number | string)[]).map((t) =>
        typeof t === "string" ? model.toSingleToken(t) : t,
      );
      ids = Tensor.fromTypedArray(Int32Array.from(arr), [arr.length]);
    } else throw new ModelError(`logitAttrs: ${what} must be token ids, a token string, or a tensor of ids`);
    const shape = typeof ids === "number" ? [] : ids.shape;
    if (ids instanceof Tensor && ids.numel === 1) ids = ids.item();
    return { dirs: model.tokensToResidualDirections(ids), shape };
  }

  /**
   * How much each component of the stack contributes to the logit of `tokens` (or to tokens − incorrectTokens):
   * the components, centred and scaled by the cached final norm scale, dotted with the unembedding directions
   * (TL's logit_attrs). stack [component, ...batchAndPos, d_model] → [component, ...batchAndPos]. tokens: one id,
   * one per batch row [batch] (used at every position), or [batch, pos] matching the stack's positions.
   */
  logitAttrs(residualStack: Tensor, opts: LogitAttrsOptions): Tensor {
    let { dirs, shape } = this.tokenDirections(opts.tokens, "tokens");
    if (opts.incorrectTokens !== undefined) {
      const wrong = this.tokenDirections(opts.incorrectTokens, "incorrectTokens");
      if (wrong.shape.length !== shape.length || wrong.shape.some((s, i) => s !== shape[i])) {
        throw new ShapeError(
          `logitAttrs: tokens and incorrectTokens must have the same shape (tokens ${fmtShape(shape)}, incorrectTokens ${fmtShape(wrong.shape)})`,
        );
      }
      dirs = dirs.sub(wrong.dirs);
    }
    const hasBatch = opts.hasBatchDim ?? this.hasBatchDim;
    const scaled = this.applyLnToStack(residualStack, {
      layer: -1,
      posSlice: opts.posSlice,
      batchSlice: opts.batchSlice,
      hasBatchDim: hasBatch,
    });
    return attributeAlong(scaled, dirs, hasBatch && Slice.unwrap(opts.batchSlice).mode !== "int");
  }
}
