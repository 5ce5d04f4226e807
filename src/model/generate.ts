// Text generation as TransformerLens's generate: sampling (temperature, top-k, top-p) or greedy, EOS handling,
// and a KV cache so each step runs only the new token. With the cache, hooks see only the new position
// (hook.positionOffset tells which); without it, each step reruns the whole sequence.
import { ModelError, TokenizerError } from "../errors.js";
import { writeStderr } from "../host.js";
import { defaultGenerator, Generator } from "../tensor/random.js";
import { cat, Tensor, type MatmulPrecision } from "../tensor/index.js";
import { toTokens, tokensToString } from "../tokenizer/index.js";
import type { ForwardOptions, HookedTransformer } from "./hooked-transformer.js";
import { KeyValueCache } from "./kv-cache.js";
import { validateTokens, type ModelInput } from "./model-input.js";
import type { HookFn, NameFilter } from "./hook-point.js";
import { RunContext } from "./run/context.js";
import { runForward } from "./run/forward.js";

export interface GenerateOptions {
  /** default 10 */
  maxNewTokens?: number;
  /** default true (TL); false = greedy (argmax) */
  doSample?: boolean;
  /** default 1 */
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Stop a sequence at EOS (later steps pad it with EOS); stop when all have. Default true. */
  stopAtEos?: boolean;
  eosTokenId?: number;
  /** default true */
  useKvCache?: boolean;
  /** Seed for sampling (default: the global generator, see manualSeed). */
  seed?: number;
  /** For string inputs (default: the model's default, true for GPT-2). */
  prependBos?: boolean;
  /** Print a progress line per step to stderr. */
  verbose?: boolean;
  /** Hooks for this generation only (every step's forward fires them; overlapping calls do not see them). */
  fwdHooks?: readonly (readonly [NameFilter, HookFn])[];
  /** Precision of every step's weight GEMMs (ForwardOptions.matmulPrecision; default "fp32"). */
  matmulPrecision?: MatmulPrecision;
}

/** Picks one token per row of logits [batch, vocab]. */
export function sampleLogits(logits: Tensor, opts: GenerateOptions, rng: Generator): Int32Array {
  const [batch, vocab] = logits.shape as [number, number];
  const data = logits.to("float64").contiguous().dataSync();
  const out = new Int32Array(batch);
  const temperature = opts.temperature ?? 1;
  if (opts.topK !== undefined && (!Number.isInteger(opts.topK) || opts.topK < 1))
    throw new ModelError(`topK must be a positive integer, got ${opts.topK}`);
  if (opts.topP !== undefined && !(opts.topP > 0 && opts.topP <= 1))
    throw new ModelError(`topP must be in (0, 1], got ${opts.topP}`);
  for (let b = 0; b < batch; b++) {
    const row = data.subarray(b * vocab, (b + 1) * vocab);
    if (opts.doSample === false || temperature === 0) {
      let best = 0;
      for (let i = 1; i < vocab; i++) if (row[i]! > row[best]!) best = i;
      out[b] = best;
      continue;
    }
    // candidates sorted by logit, descending
    const order = Array.from({ length: vocab }, (_, i) => i).sort((i, j) => row[j]! - row[i]! || i - j);
    let keep = opts.topK !== undefined ? Math.min(opts.topK, vocab) : vocab;
    const max = row[order[0]!]! / temperature;
    const weights = order.slice(0, keep).map((i) => Math.exp(row[i]! / temperature - max));
    let total = weights.reduce((a, w) => a + w, 0);
    if (opts.topP !== undefined) {
      // keep the smallest prefix whose probability reaches topP (always at least one token)
      let cum = 0;
      let n = 0;
      while (n < keep! && (n === 0 || cum < opts.topP * total)) cum += weights[n++]!;
      keep = n;
      total = cum;
    }
    let r = rng.uniform() * total;
    let pick = keep! - 1;
    for (let i = 0; i < keep!; i++) {
      r -= weights[i]!;
      if (r < 0) {
        pick = i;
        break;
      }
    }
    out[b] = order[pick]!;
  }
  return out;
}

export async function generate(
  model: HookedTransformer,
  input: ModelInput,
  opts: GenerateOptions = {},
): Promise<Tensor | string | string[]> {
  const cfg = model.cfg;
  const maxNew = opts.maxNewTokens ?? 10;
  if (!Number.isInteger(maxNew) || maxNew < 0)
    throw new ModelError(`maxNewTokens must be a non-negative integer, got ${maxNew}`);
  const textIn = typeof input === "string" || (Array.isArray(input) && typeof input[0] === "string");
  const prependBos = opts.prependBos ?? cfg.defaultPrependBos;
  let tokens: Tensor;
  let mask: Tensor | null = null;
  if (textIn) {
    if (!model.tokenizer) throw new TokenizerError("this model has no tokenizer; pass token ids");
    // several prompts of different lengths are left-padded so every row continues from its last real token
    const t = toTokens(model.tokenizer, input as string | string[], { prependBos, paddingSide: "left" });
    tokens = validateTokens(t.tokens, cfg.dVocab, cfg.nCtx);
    if (t.attentionMask.eq(0).any().item()) mask = t.attentionMask;
  } else {
    tokens = validateTokens(
      input instanceof Tensor
        ? input
        : Tensor.fromTypedArray(Float64Array.from((input as number[][]).flat()), [
            (input as number[][]).length,
            (input as number[][])[0]?.length ?? 0,
          ]),
      cfg.dVocab,
      cfg.nCtx,
    );
  }
  const [batch, promptLen] = tokens.shape as [number, number];
  if (promptLen + maxNew > cfg.nCtx) {
    throw new ModelError(
      `generate: ${promptLen} prompt tokens + ${maxNew} new tokens exceed the model's context n_ctx = ${cfg.nCtx}`,
    );
  }
  const eos = opts.eosTokenId ?? cfg.eosTokenId ?? model.tokenizer?.eosTokenId ?? null;
  const stopAtEos = (opts.stopAtEos ?? true) && eos !== null;
  const rng = opts.seed !== undefined ? new Generator(opts.seed) : defaultGenerator;
  const useCache = opts.useKvCache ?? true;
  const kv = useCache ? new KeyValueCache(cfg.nLayers) : null;
  const hooked = opts.fwdHooks?.length ? RunContext.withHooks(model.hookPoints, opts.fwdHooks) : RunContext.plain();
  const ctx = hooked.withPrecision(opts.matmulPrecision);
  const forward = async (x: Tensor, o: ForwardOptions): Promise<Tensor> =>
    (await runForward(model, x, o, ctx)) as Tensor;
  const finished = new Uint8Array(batch);
  let all = tokens;
  let fullMask = mask;
  for (let step = 0; step < maxNew; step++) {
    let logits: Tensor;
    if (kv) {
      const fresh = step === 0 ? all : all.narrow(1, all.shape[1]! - 1, 1);
      logits = await forward(fresh, { pastKvCache: kv, attentionMask: step === 0 ? (mask ?? undefined) : undefined });
    } else {
      logits = await forward(all, { attentionMask: fullMask ?? undefined });
    }
    const last = logits.get(":", -1); // [batch, vocab]
    const next = sampleLogits(last, opts, rng);
    if (stopAtEos) for (let b = 0; b < batch; b++) if (finished[b]) next[b] = eos!;
    all = cat([all, Tensor.fromTypedArray(next, [batch, 1])], 1);
    if (fullMask) fullMask = cat([fullMask, Tensor.fromTypedArray(new Int32Array(batch).fill(1), [batch, 1])], 1);
    if (opts.verbose) writeStderr(`generate: ${step + 1}/${maxNew}\r`);
    if (stopAtEos) {
      for (let b = 0; b < batch; b++) if (next[b] === eos) finished[b] = 1;
      if (finished.every((f) => f)) break;
    }
  }
  if (opts.verbose) writeStderr("\n");
  if (!textIn) return all;
  const texts = Array.from({ length: batch }, (_, b) => {
    const row = Array.from(all.get(b).dataSync());
    const real = mask ? row.filter((_, i) => i >= promptLen || mask!.get(b, i).item() === 1) : row;
    return tokensToString(model.tokenizer!, prependBos ? real.slice(1) : real);
  });
  return typeof input === "string" ? texts[0]! : texts;
}
