// HookedTransformer: TransformerLens's model class — every activation behind a named hook, runWithCache,
// runWithHooks, weight processing, and the tokenizer helpers.
import { setBackend, type BackendName } from "../backend/index.js";
import { ConfigError, LoadError, ModelError, TokenizerError } from "../errors.js";
import { makeConfig, type HookedTransformerConfig } from "../loading/config.js";
import { Generator, stack, Tensor, type MatmulPrecision } from "../tensor/index.js";
import { defaultGenerator } from "../tensor/random.js";
import { fmtShape } from "../tensor/shape.js";
import { FactoredMatrix } from "../tensor/factored-matrix.js";
import {
  getTokenPosition,
  gpt2Tokenizer,
  toSingleToken,
  toStrTokens,
  toTokens,
  tokensToString,
  type GetTokenPositionOptions,
  type Tokenizer,
} from "../tokenizer/index.js";
import { ActivationCache } from "./activation-cache.js";
import { TransformerBlock } from "./components/block.js";
import { Embed, PosEmbed, Unembed } from "./components/embed.js";
import { finalNormType, Norm } from "./components/layer-norm.js";
import {
  addSharedHooks,
  HookPoint,
  selectHooks,
  type AddHookOptions,
  type HookFn,
  type NameFilter,
} from "./hook-point.js";
import { runWithCache, type RunWithCacheOptions } from "./caching-hooks.js";
import { loadPretrainedWeights } from "./pretrained.js";
import type { KeyValueCache } from "./kv-cache.js";
import { generate, type GenerateOptions } from "./generate.js";
import type { ModelInput } from "./model-input.js";
import { RunContext } from "./run/context.js";
import { runForward, type ForwardResult } from "./run/forward.js";
import { pretrainedProcessing, processStateDict, type ProcessOptions, type StateDict } from "./weight-processing.js";

export type ForwardReturnType = "logits" | "loss" | "both" | null;

export interface FromPretrainedOptions extends ProcessOptions {
  /** Select the kernel backend for the whole process (default: native when built). */
  backend?: BackendName;
}

export interface ForwardOptions {
  returnType?: ForwardReturnType;
  /** With returnType "loss"/"both": the loss at every position [batch, pos - 1] instead of the mean. */
  lossPerToken?: boolean;
  prependBos?: boolean;
  paddingSide?: "left" | "right";
  /** int32 [batch, pos], 1 = real token: masks padded keys and offsets position ids (left padding), as TL. */
  attentionMask?: Tensor;
  /** Run blocks [0, stopAtLayer) and return the residual stream [batch, pos, d_model]. */
  stopAtLayer?: number;
  /** The input is the residual stream [batch, pos, d_model] before block startAtLayer. */
  startAtLayer?: number;
  /** With startAtLayer: the tokens of the run (needed for the loss). */
  tokens?: Tensor;
  /** Compute logits only at these positions ("last", or indices into pos): logits [batch, n, d_vocab]. The
   *  unembedding is most of a small model's work, so metrics that read a few positions should say so. */
  logitPositions?: "last" | number[];
  /** Keys and values of earlier positions: the input holds only the new tokens, which attend to everything
   *  cached, and are appended to the cache (TL's past_kv_cache). */
  pastKvCache?: KeyValueCache;
  /** "bf16": the weight GEMMs round both operands to bfloat16, accumulating in fp32 (fast with AVX512-BF16; see
   *  docs/performance.md "bf16 fast path"). Default "fp32"; not for parity checks. */
  matmulPrecision?: MatmulPrecision;
}

export type { RunWithCacheOptions };
/** Forward and backward hooks (TL's fwd_hooks / bwd_hooks). */
export interface HookLists {
  fwdHooks?: [NameFilter, HookFn][];
  bwdHooks?: [NameFilter, HookFn][];
}
export type RunWithHooksOptions = ForwardOptions & HookLists & { resetHooksEnd?: boolean };

/** TransformerLens's HookedTransformer: a transformer with a named HookPoint on every activation (TL's hook names),
 *  loaded with TL's weight processing (`fromPretrained`, `fromConfig`), run with `forward`, `runWithCache`,
 *  `runWithHooks` and `generate`. Tokens out of range, sequences longer than n_ctx, unknown hook names and hooks that
 *  return the wrong shape throw named errors. */
export class HookedTransformer {
  readonly cfg: HookedTransformerConfig;
  tokenizer: Tokenizer | null;
  embed!: Embed;
  /** null for rotary models (TL has no pos_embed module there) */
  posEmbed!: PosEmbed | null;
  blocks!: TransformerBlock[];
  lnFinal!: Norm | null;
  unembed!: Unembed;
  /** use_hook_tokens: hook_tokens sees the token ids [batch, pos] before the embedding; null otherwise. */
  hookTokens!: HookPoint | null;
  /** Hook points by name, in TL's module order (hook_dict). */
  private hookDict = new Map<string, HookPoint>();
  /** Every hook point in the order the forward reaches them. */
  private forwardOrder: readonly HookPoint[] = [];

  constructor(cfg: Partial<HookedTransformerConfig>, tokenizer: Tokenizer | null = null) {
    this.cfg = makeConfig(cfg);
    this.tokenizer = tokenizer;
    this.build();
  }

  /** A model from a config, initialised as TL's HookedTransformer(cfg) does (`initWeights`, default true): every
   *  `W_*` parameter ~ N(0, initializerRange²) (TL's "gpt2" init; initializerRange defaults to 0.8 / sqrt(d_model)),
   *  biases zero, norm weights one. `cfg.seed` seeds the draw (tlens's own generator, so the numbers are not
   *  torch's); without a seed the global generator (`manualSeed`) is used. `initWeights: false` gives zero weights.
   *  Load trained weights with loadStateDict. */
  static fromConfig(cfg: Partial<HookedTransformerConfig>, tokenizer: Tokenizer | null = null): HookedTransformer {
    // tokenizerName "gpt2" gets the offline GPT-2 tokenizer; other names cannot be fetched here (pass a tokenizer)
    const tok = tokenizer ?? (cfg.tokenizerName === "gpt2" ? gpt2Tokenizer() : null);
    const model = new HookedTransformer(cfg, tok);
    if (tok && !tokenizer) {
      model.cfg.bosTokenId ??= tok.bosTokenId;
      model.cfg.eosTokenId ??= tok.eosTokenId;
    }
    if (model.cfg.initWeights) model.initWeights();
    return model;
  }

  /** TL's init_weights ("gpt2" mode): W_* ~ N(0, initializerRange²) in state-dict order, seeded by cfg.seed.
   *  tieWordEmbeddings: W_U starts as W_E transposed (a copy: the two stay separate parameters, as in TL). */
  initWeights(seed: number | null = this.cfg.seed): void {
    const rng = seed === null ? defaultGenerator : new Generator(seed);
    const std = this.cfg.initializerRange;
    const init = new Map<string, Tensor>();
    for (const [name, t] of this.stateDict()) {
      const leaf = name.slice(name.lastIndexOf(".") + 1);
      if (!leaf.includes("W_")) continue;
      const data = new Float32Array(t.numel);
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
      init.set(name, Tensor.fromTypedArray(data, t.shape));
    }
    if (this.cfg.tieWordEmbeddings) init.set("unembed.W_U", init.get("embed.W_E")!.transpose(0, 1).contiguous());
    this.loadStateDict(init, { strict: false });
  }

  /** Loads a pretrained model with TL's default weight processing (foldLn, centerWritingWeights, centerUnembed,
   *  foldValueBiases on; refactorFactoredAttnMatrices off). nameOrPath: an embedded model ("toy-ioi") or a path
   *  (a Hugging Face folder: config.json + model.safetensors). */
  static async fromPretrained(nameOrPath: string, opts: FromPretrainedOptions = {}): Promise<HookedTransformer> {
    const { cfg, weights, tokenizer } = await loadPretrainedWeights(nameOrPath);
    const o = pretrainedProcessing(cfg, opts);
    if (opts.backend) setBackend(opts.backend);
    const processed = processStateDict(weights, cfg, o);
    // as TL: a folded model is built with LNPre (no LN parameters), so fold before building
    if (o.foldLn) foldNormalizationType(cfg);
    const model = new HookedTransformer(cfg, tokenizer);
    model.loadStateDict(processed);
    return model;
  }

  /** The weights exactly as trained: no folding or centring (TL's from_pretrained_no_processing). */
  static fromPretrainedNoProcessing(nameOrPath: string, opts: FromPretrainedOptions = {}): Promise<HookedTransformer> {
    return HookedTransformer.fromPretrained(nameOrPath, {
      foldLn: false,
      centerWritingWeights: false,
      centerUnembed: false,
      foldValueBiases: false,
      refactorFactoredAttnMatrices: false,
      ...opts,
    });
  }

  /** (Re)creates the components from cfg. Hook functions attached to the old hook points are dropped. */
  private build(): void {
    const cfg = this.cfg;
    if (!["standard", "shortformer", "rotary"].includes(cfg.positionalEmbeddingType)) {
      throw new ConfigError(
        `unsupported positional_embedding_type "${cfg.positionalEmbeddingType}" (supported: standard, shortformer, rotary)`,
      );
    }
    this.embed = new Embed(cfg.dVocab, cfg.dModel, cfg.postEmbeddingLn ? { eps: cfg.eps } : null);
    this.posEmbed = cfg.positionalEmbeddingType === "rotary" ? null : new PosEmbed(cfg.nCtx, cfg.dModel);
    this.hookTokens = cfg.useHookTokens ? new HookPoint("hook_tokens") : null;
    const shortformerPos = cfg.positionalEmbeddingType === "shortformer" ? this.posEmbed : null;
    this.blocks = Array.from({ length: cfg.nLayers }, (_, l) => new TransformerBlock(l, cfg, shortformerPos));
    const finalNorm = finalNormType(cfg);
    this.lnFinal = finalNorm ? new Norm("ln_final", finalNorm, cfg.dModel, cfg.eps) : null;
    this.unembed = new Unembed(cfg.dModel, cfg.dVocabOut, cfg.outputLogitsSoftCap);
    // the blocks' hook tables give both orders; the embeddings come first and ln_final last in both
    // (hook_tokens fires first and is registered after the embeddings, as TL)
    const embeds = [
      ...(this.embed.ln?.hookPoints ?? []),
      this.embed.hook,
      ...(this.posEmbed ? [this.posEmbed.hook] : []),
    ];
    const tokens = this.hookTokens ? [this.hookTokens] : [];
    const last = this.lnFinal?.hookPoints ?? [];
    this.forwardOrder = [...tokens, ...embeds, ...this.blocks.flatMap((b) => b.forwardOrder), ...last];
    this.hookDict = new Map(
      [...embeds, ...tokens, ...this.blocks.flatMap((b) => b.moduleOrder), ...last].map((p) => [p.name, p]),
    );
  }

  // ---------- parameters ----------

  /** [prefix, module] pairs whose params() make up the state dict, in TL's order. */
  private modules(): [string, { params(): [string, Tensor][] }][] {
    const out: [string, { params(): [string, Tensor][] }][] = [["embed", this.embed]];
    if (this.embed.ln) out.push(["embed.ln", this.embed.ln]);
    if (this.posEmbed) out.push(["pos_embed", this.posEmbed]);
    this.blocks.forEach((b, l) => {
      if (b.ln1) out.push([`blocks.${l}.ln1`, b.ln1]);
      if (b.ln1Post) out.push([`blocks.${l}.ln1_post`, b.ln1Post]);
      if (b.ln2) out.push([`blocks.${l}.ln2`, b.ln2]);
      if (b.ln2Post) out.push([`blocks.${l}.ln2_post`, b.ln2Post]);
      out.push([`blocks.${l}.attn`, b.attn]);
      if (b.mlp) out.push([`blocks.${l}.mlp`, b.mlp]);
    });
    if (this.lnFinal) out.push(["ln_final", this.lnFinal]);
    out.push(["unembed", this.unembed]);
    return out;
  }

  /** TL-named parameters (`blocks.0.attn.W_Q`, ...). The tensors are the model's own: edit with care. */
  stateDict(): StateDict {
    const sd: StateDict = new Map();
    for (const [prefix, mod] of this.modules()) for (const [name, t] of mod.params()) sd.set(`${prefix}.${name}`, t);
    return sd;
  }

  /** Loads TL-named parameters; shapes must match. strict (default): every parameter must be given, none extra.
   *  TL's attention buffers (`blocks.{l}.attn.mask`, `IGNORE`, `rotary_sin`, `rotary_cos`), which a state dict saved
   *  from TransformerLens carries, are ignored. */
  loadStateDict(sd: StateDict | Record<string, Tensor>, opts: { strict?: boolean } = {}): void {
    const given = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const strict = opts.strict ?? true;
    const known = new Set<string>();
    for (const [prefix, mod] of this.modules()) {
      for (const [name, current] of mod.params()) {
        const key = `${prefix}.${name}`;
        known.add(key);
        const t = given.get(key);
        if (!t) {
          if (strict)
            throw new LoadError(`loadStateDict: missing parameter "${key}" (shape ${fmtShape(current.shape)})`);
          continue;
        }
        if (t.shape.length !== current.shape.length || t.shape.some((s, i) => s !== current.shape[i])) {
          throw new LoadError(
            `loadStateDict: "${key}" has shape ${fmtShape(t.shape)}, the model expects ${fmtShape(current.shape)}`,
          );
        }
        const value = t.to("float32").contiguous();
        // weights are multiplied again and again: let backends cache packed copies
        value.storage.reusable = true;
        (mod as unknown as Record<string, Tensor>)[name] = value;
      }
    }
    if (strict) {
      const extra = [...given.keys()].filter((k) => !known.has(k) && !TL_BUFFER.test(k));
      if (extra.length)
        throw new LoadError(
          `loadStateDict: unexpected parameters ${extra
            .slice(0, 5)
            .map((k) => `"${k}"`)
            .join(", ")}${extra.length > 5 ? ", ..." : ""}`,
        );
    }
  }

  /** TL's process_weights_: fold LN into the following weights (LN → LNPre), centre writing weights and the
   *  unembedding, fold value biases; optionally refactor the QK/OV factors. */
  processWeights(opts: ProcessOptions = {}): void {
    const o = pretrainedProcessing(this.cfg, opts);
    const processed = processStateDict(this.stateDict(), this.cfg, o);
    if (o.foldLn) foldNormalizationType(this.cfg);
    this.build();
    this.loadStateDict(processed);
  }

  private stacked(get: (b: TransformerBlock) => Tensor | undefined, what: string): Tensor {
    const ts = this.blocks.map((b) => {
      const t = get(b);
      if (!t) throw new ModelError(`${what}: this model has no such parameter (attention-only?)`);
      return t;
    });
    return stack(ts);
  }

  get W_E(): Tensor {
    return this.embed.W_E;
  }
  get W_pos(): Tensor {
    if (!this.posEmbed) throw new ModelError("W_pos: a rotary model has no positional embedding matrix");
    return this.posEmbed.W_pos;
  }
  get W_U(): Tensor {
    return this.unembed.W_U;
  }
  get b_U(): Tensor {
    return this.unembed.b_U;
  }
  /** [n_layers, n_heads, d_model, d_head] */
  get W_Q(): Tensor {
    return this.stacked((b) => b.attn.W_Q, "W_Q");
  }
  get W_K(): Tensor {
    return this.stacked((b) => b.attn.W_K, "W_K");
  }
  get W_V(): Tensor {
    return this.stacked((b) => b.attn.W_V, "W_V");
  }
  /** [n_layers, n_heads, d_head, d_model] */
  get W_O(): Tensor {
    return this.stacked((b) => b.attn.W_O, "W_O");
  }
  /** [n_layers, n_heads, d_head] */
  get b_Q(): Tensor {
    return this.stacked((b) => b.attn.b_Q, "b_Q");
  }
  get b_K(): Tensor {
    return this.stacked((b) => b.attn.b_K, "b_K");
  }
  get b_V(): Tensor {
    return this.stacked((b) => b.attn.b_V, "b_V");
  }
  /** [n_layers, d_model] */
  get b_O(): Tensor {
    return this.stacked((b) => b.attn.b_O, "b_O");
  }
  /** [n_layers, d_model, d_mlp] */
  get W_in(): Tensor {
    return this.stacked((b) => b.mlp?.W_in, "W_in");
  }
  /** Gated MLPs: [n_layers, d_model, d_mlp] */
  get W_gate(): Tensor {
    return this.stacked((b) => (b.mlp && "W_gate" in b.mlp ? b.mlp.W_gate : undefined), "W_gate");
  }
  get b_in(): Tensor {
    return this.stacked((b) => b.mlp?.b_in, "b_in");
  }
  /** [n_layers, d_mlp, d_model] */
  get W_out(): Tensor {
    return this.stacked((b) => b.mlp?.W_out, "W_out");
  }
  get b_out(): Tensor {
    return this.stacked((b) => b.mlp?.b_out, "b_out");
  }
  /** OV circuits W_V @ W_O, factored: A = W_V [layer, head, d_model, d_head], B = W_O [layer, head, d_head, d_model]. */
  get OV(): FactoredMatrix {
    return new FactoredMatrix(this.W_V, this.W_O);
  }
  /** QK circuits W_Q @ W_Kᵀ, factored: A = W_Q [layer, head, d_model, d_head], B = W_Kᵀ [layer, head, d_head, d_model]. */
  get QK(): FactoredMatrix {
    return new FactoredMatrix(this.W_Q, this.W_K.mT);
  }

  // ---------- cfg flags for optional hooks ----------

  /** TL's use_attn_result: adds `attn.hook_result` [batch, pos, head, d_model], each head's output before the sum. */
  setUseAttnResult(on: boolean): void {
    this.cfg.useAttnResult = on;
  }
  /** TL's use_split_qkv_input: each head's q/k/v input its own copy of the residual stream (`hook_q_input` ... [batch, pos, head, d_model]). */
  setUseSplitQkvInput(on: boolean): void {
    this.cfg.useSplitQkvInput = on;
  }
  /** TL's use_hook_mlp_in: adds `hook_mlp_in` [batch, pos, d_model], the MLP's input. */
  setUseHookMlpIn(on: boolean): void {
    if (on && this.cfg.attnOnly) throw new ModelError("setUseHookMlpIn: an attention-only model has no MLP");
    this.cfg.useHookMlpIn = on;
  }
  /** TL's use_attn_in: adds `hook_attn_in` [batch, pos, head, d_model], one residual copy per head for q, k and v together. */
  setUseAttnIn(on: boolean): void {
    this.cfg.useAttnIn = on;
  }

  // ---------- hooks ----------

  /** Every hook point name, in the order the forward pass reaches them. */
  hookNames(): string[] {
    return this.forwardOrder.map((p) => p.name);
  }

  /** TL's hook_dict: every hook point by name (module order). */
  get hookPoints(): ReadonlyMap<string, HookPoint> {
    return this.hookDict;
  }

  /** A shared hook: every run fires it. `dir: "bwd"` makes it a backward hook, which sees the gradient with
   *  respect to the hook's output (and may return a replacement) when backward() runs. */
  addHook(name: NameFilter, fn: HookFn, opts: AddHookOptions = {}): void {
    for (const p of selectHooks(this.hookDict, name)) p.add(fn, opts);
  }

  /** Parameters require grad (flag true) or not: all, or those `names` selects (state-dict names). Weights are
   *  frozen by default; after requiresGrad_(), backward() fills each parameter's `.grad`. */
  requiresGrad_(flag = true, names: (name: string) => boolean = () => true): this {
    for (const [name, p] of this.stateDict()) if (names(name)) p.requiresGrad_(flag);
    return this;
  }

  /** Removes hooks (permanent ones too unless includingPermanent is false; TL's default is false). */
  resetHooks(opts: { includingPermanent?: boolean } = {}): void {
    for (const p of this.hookDict.values()) p.clear(opts.includingPermanent ?? false);
  }

  /** Runs body with the hooks attached to the shared hook points (TL's `hooks()` context manager): like addHook,
   *  they fire in every run made while body runs, overlapping calls included; removed afterwards, also when body
   *  throws. For hooks that apply to one call only, use runWithHooks. */
  withHooks<T>(hooks: [NameFilter, HookFn][], body: () => Promise<T>): Promise<T> {
    return this.hooks({ fwdHooks: hooks }, body);
  }

  /** TL's `with model.hooks(fwd_hooks, bwd_hooks)`: the hooks are shared (as withHooks) while body runs, so a
   *  `metric.backward()` awaited inside body fires the backward ones; all are removed afterwards, also when body,
   *  the metric or a hook throws. */
  async hooks<T>(lists: HookLists, body: () => Promise<T>): Promise<T> {
    const remove = addSharedHooks(this.hookDict, lists.fwdHooks ?? [], lists.bwdHooks ?? []);
    try {
      return await body();
    } finally {
      remove();
    }
  }

  // ---------- running ----------

  /** Runs the model on text, tokens [batch, pos] or token lists: logits [batch, pos, d_vocab] by default; `returnType` "loss" (mean next-token loss, or per token with `lossPerToken`), "both" or null; `logitPositions` limits the unembedding. Tokens out of range throw IndexError, sequences longer than n_ctx ShapeError. */
  forward(input: ModelInput | Tensor, opts?: ForwardOptions & { returnType?: "logits" }): Promise<Tensor>;
  /** Runs the model on text, tokens [batch, pos] or token lists: logits [batch, pos, d_vocab] by default; `returnType` "loss" (mean next-token loss, or per token with `lossPerToken`), "both" or null; `logitPositions` limits the unembedding. Tokens out of range throw IndexError, sequences longer than n_ctx ShapeError. */
  forward(input: ModelInput | Tensor, opts: ForwardOptions & { returnType: "loss" }): Promise<Tensor>;
  /** Runs the model on text, tokens [batch, pos] or token lists: logits [batch, pos, d_vocab] by default; `returnType` "loss" (mean next-token loss, or per token with `lossPerToken`), "both" or null; `logitPositions` limits the unembedding. Tokens out of range throw IndexError, sequences longer than n_ctx ShapeError. */
  forward(
    input: ModelInput | Tensor,
    opts: ForwardOptions & { returnType: "both" },
  ): Promise<{ logits: Tensor; loss: Tensor }>;
  /** Runs the model on text, tokens [batch, pos] or token lists: logits [batch, pos, d_vocab] by default; `returnType` "loss" (mean next-token loss, or per token with `lossPerToken`), "both" or null; `logitPositions` limits the unembedding. Tokens out of range throw IndexError, sequences longer than n_ctx ShapeError. */
  forward(input: ModelInput | Tensor, opts: ForwardOptions & { returnType: null }): Promise<null>;
  /** Runs the model on text, tokens [batch, pos] or token lists: logits [batch, pos, d_vocab] by default; `returnType` "loss" (mean next-token loss, or per token with `lossPerToken`), "both" or null; `logitPositions` limits the unembedding. Tokens out of range throw IndexError, sequences longer than n_ctx ShapeError. */
  forward(input: ModelInput | Tensor, opts?: ForwardOptions): Promise<Tensor | { logits: Tensor; loss: Tensor } | null>;
  /** Runs the model on text, tokens [batch, pos] or token lists: logits [batch, pos, d_vocab] by default; `returnType` "loss" (mean next-token loss, or per token with `lossPerToken`), "both" or null; `logitPositions` limits the unembedding. Tokens out of range throw IndexError, sequences longer than n_ctx ShapeError. */
  forward(input: ModelInput | Tensor, opts: ForwardOptions = {}): Promise<ForwardResult> {
    return runForward(this, input, opts, RunContext.plain());
  }

  /** Runs the model caching activations (all hook points that fire, or those namesFilter selects). */
  runWithCache(input: ModelInput | Tensor, opts: RunWithCacheOptions = {}): Promise<[Tensor, ActivationCache]> {
    return runWithCache(this, input, opts);
  }

  /** Runs with hooks for this call only (overlapping calls do not see them). resetHooksEnd false: as TL, the hooks
   *  are added to the shared hook points and stay (every later run fires them). */
  async runWithHooks(input: ModelInput | Tensor, opts: RunWithHooksOptions): Promise<Tensor> {
    const fwd = opts.fwdHooks ?? [];
    const bwd = opts.bwdHooks ?? [];
    if (opts.resetHooksEnd === false) {
      for (const [filter, fn] of fwd) this.addHook(filter, fn);
      for (const [filter, fn] of bwd) this.addHook(filter, fn, { dir: "bwd" });
      return (await this.forward(input, opts)) as Tensor;
    }
    return (await runForward(this, input, opts, RunContext.withHooks(this.hookDict, fwd, 0, bwd))) as Tensor;
  }

  /** Generates maxNewTokens tokens (TL defaults: doSample true, temperature 1, stopAtEos true, KV cache on).
   *  Tokens in → tokens out [batch, pos + new]; a string in → the text out (without BOS); strings → texts. */
  generate(input: ModelInput, opts: GenerateOptions = {}): Promise<Tensor | string | string[]> {
    return generate(this, input, opts);
  }

  // ---------- tokenizer helpers ----------

  private tok(): Tokenizer {
    if (!this.tokenizer) throw new TokenizerError("this model has no tokenizer");
    return this.tokenizer;
  }

  /** int32 [batch, pos]; prependBos defaults to the model's default (true for GPT-2), paddingSide to "right". */
  toTokens(input: string | string[], opts: { prependBos?: boolean; paddingSide?: "left" | "right" } = {}): Tensor {
    return toTokens(this.tok(), input, {
      prependBos: opts.prependBos ?? this.cfg.defaultPrependBos,
      paddingSide: opts.paddingSide,
      maxLength: this.cfg.nCtx,
    }).tokens;
  }

  /** The tokens of a string, tensor or id list as strings (TL's to_str_tokens); BOS first for strings unless `prependBos: false`. */
  toStrTokens(input: string | Tensor | number[], opts: { prependBos?: boolean } = {}): string[] {
    return toStrTokens(this.tok(), input as string, { prependBos: opts.prependBos ?? this.cfg.defaultPrependBos });
  }

  /** The text of token ids (TL's to_string). */
  toString(tokens?: Tensor | number[]): string {
    if (tokens === undefined)
      return `HookedTransformer(${this.cfg.modelName}: ${this.cfg.nLayers} layers, d_model ${this.cfg.dModel}, ${this.cfg.nHeads} heads)`;
    return tokensToString(this.tok(), tokens as number[]);
  }

  /** The id of a string that is exactly one token; TokenizerError otherwise. */
  toSingleToken(s: string): number {
    return toSingleToken(this.tok(), s);
  }

  /** The position of a token in the input (TL's get_token_position): the first occurrence, or the last with `mode: "last"`; TokenizerError when it does not occur. */
  getTokenPosition(singleToken: string | number, input: string | Tensor, opts: GetTokenPositionOptions = {}): number {
    return getTokenPosition(this.tok(), singleToken, input, { prependBos: this.cfg.defaultPrependBos, ...opts });
  }

  /** The unembedding columns of tokens: [d_model] for one token, [..., d_model] for a tensor/list of them. */
  tokensToResidualDirections(tokens: Tensor | number[] | number | string): Tensor {
    let ids: Tensor;
    if (typeof tokens === "string") ids = Tensor.fromTypedArray(new Int32Array([this.toSingleToken(tokens)]), []);
    else if (typeof tokens === "number") ids = Tensor.fromTypedArray(new Int32Array([tokens]), []);
    else
      ids =
        tokens instanceof Tensor ? tokens.to("int32") : Tensor.fromTypedArray(Int32Array.from(tokens), [tokens.length]);
    return this.W_U.transpose(0, 1).get(ids); // [..., d_model]
  }
}

/** Buffers in TransformerLens's state_dict that are not parameters. */
const TL_BUFFER = /^blocks\.\d+\.attn\.(mask|IGNORE|rotary_sin|rotary_cos)$/;

/** LN → LNPre and RMS → RMSPre once the norm's weights have been folded away. */
export function foldNormalizationType(cfg: HookedTransformerConfig): void {
  if (cfg.normalizationType === "LN") cfg.normalizationType = "LNPre";
  else if (cfg.normalizationType === "RMS") cfg.normalizationType = "RMSPre";
}
