// ARENA's "Finding induction heads" exercises (seed 004) on a small attention-only model with TransformerLens's
// custom-config options: `attnOnly`, `normalizationType: null`, `positionalEmbeddingType: "shortformer"` (positions
// enter the queries and keys only), `useAttnResult`. ARENA loads a trained 2-layer model (callummcdougall/
// attn_only_2L_half); offline, this example builds a 2-layer model whose weights are written by hand so that it
// has the circuit the exercises look for:
//   0.0 previous-token head (positional QK; OV copies the token into a "previous token" subspace)
//   0.1 current-token head, 1.1 first-token head (positional QK, no OV)
//   1.0 induction head (K-composition with 0.0: attends to the token after an earlier copy of the current token;
//       OV copies that token to the output)
// Then it runs the exercises: attention detectors, induction scores on repeated random tokens, and direct logit
// attribution per path (direct, each layer-0 head, each layer-1 head).
//
//   npx tsx examples/arena-induction.ts
//
// With ARENA's real weights converted to safetensors (TL names), the same code runs on
//   HookedTransformer.fromConfig({ dModel: 768, dHead: 64, nHeads: 12, nLayers: 2, nCtx: 2048, dVocab: 50278,
//     attnOnly: true, seed: 398, useAttnResult: true, normalizationType: null, positionalEmbeddingType: "shortformer" })
//   .loadStateDict((await readSafetensorsFile("attn_only_2L_half.safetensors")).tensors)
import { cat, detectors, einsum, HookedTransformer, Tensor, type ActivationCache } from "../src/index.js";

export interface InductionModelOptions {
  /** vocabulary size (default 64) */
  vocab?: number;
  /** context length (default 64) */
  nCtx?: number;
  /** sharpness of the hand-made attention (default 160: scores of ±20 after the 1/sqrt(d_head) scale) */
  sharpness?: number;
}

/** A 2-layer, 2-head attention-only shortformer model with a hand-written induction circuit (see the top). Residual
 *  dims: [0, V) the token, [V, 2V) the previous token (written by 0.0), [2V, 3V) the output (written by 1.0), then
 *  n_ctx positional dims, which only the queries and keys see (shortformer). */
export function buildInductionModel(opts: InductionModelOptions = {}): HookedTransformer {
  const V = opts.vocab ?? 64;
  const C = opts.nCtx ?? 64;
  const s = opts.sharpness ?? 160;
  const dHead = Math.max(V, C);
  const P = 3 * V; // first positional dim
  const model = HookedTransformer.fromConfig({
    modelName: "hand-made-induction-2L",
    dModel: 3 * V + C,
    dHead,
    nHeads: 2,
    nLayers: 2,
    nCtx: C,
    dVocab: V,
    attentionDir: "causal",
    attnOnly: true,
    seed: 398,
    useAttnResult: true,
    normalizationType: null,
    positionalEmbeddingType: "shortformer",
    defaultPrependBos: false,
  });
  // start from the seeded random init and overwrite every parameter (TL names, as loadStateDict takes them)
  const sd = new Map<string, Tensor>();
  for (const [k, t] of model.stateDict()) sd.set(k, Tensor.fromTypedArray(new Float32Array(t.numel), t.shape));
  const set = (key: string, idx: number[], v: number): void => {
    sd.get(key)!.set(idx, v);
  };
  for (let t = 0; t < V; t++) set("embed.W_E", [t, t], 1);
  for (let i = 0; i < C; i++) set("pos_embed.W_pos", [i, P + i], 1);
  const a0 = "blocks.0.attn";
  const a1 = "blocks.1.attn";
  for (let i = 0; i < C; i++) {
    set(`${a0}.W_Q`, [0, P + i, i], s); // 0.0: query at i looks for key code i ...
    if (i + 1 < dHead) set(`${a0}.W_K`, [0, P + i, i + 1], 1); // ... which the key at i - 1 carries
    set(`${a0}.W_Q`, [1, P + i, i], s); // 0.1: the key at i itself
    set(`${a0}.W_K`, [1, P + i, i], 1);
    set(`${a1}.W_Q`, [1, P + i, 0], s); // 1.1: every query looks for position 0
  }
  set(`${a1}.W_K`, [1, P, 0], 1);
  for (let t = 0; t < V; t++) {
    set(`${a0}.W_V`, [0, t, t], 1); // 0.0 OV: token → previous-token subspace
    set(`${a0}.W_O`, [0, t, V + t], 1);
    set(`${a1}.W_Q`, [0, t, t], s); // 1.0 QK: my token == the key's previous token
    set(`${a1}.W_K`, [0, V + t, t], 1);
    set(`${a1}.W_V`, [0, t, t], 1); // 1.0 OV: the key's token → output subspace
    set(`${a1}.W_O`, [0, t, 2 * V + t], 1);
    set("unembed.W_U", [2 * V + t, t], 4); // the copied token is predicted ...
    set("unembed.W_U", [t, (t + 1) % V], 1); // ... plus a weak bigram on the direct path
  }
  model.loadStateDict(sd);
  return model;
}

/** ARENA's logit_attribution: the direct logit contribution of the direct path and of every head of layers 0 and 1
 *  to the correct next token, [seq - 1, 1 + 2·n_heads]. embed [seq, d_model], results [seq, head, d_model]. */
export function logitAttribution(
  embed: Tensor,
  l1Results: Tensor,
  l2Results: Tensor,
  W_U: Tensor,
  tokens: Tensor,
): Tensor {
  const seq = tokens.shape[0]!;
  const correct = W_U.get(":", tokens.narrow(0, 1, seq - 1)); // [d_model, seq - 1]
  const direct = einsum("emb seq, seq emb -> seq", correct, embed.narrow(0, 0, seq - 1));
  const l1 = einsum("emb seq, seq nhead emb -> seq nhead", correct, l1Results.narrow(0, 0, seq - 1));
  const l2 = einsum("emb seq, seq nhead emb -> seq nhead", correct, l2Results.narrow(0, 0, seq - 1));
  return cat([direct.unsqueeze(-1), l1, l2], -1);
}

export interface ExerciseResults {
  current: string[];
  previous: string[];
  first: string[];
  /** [n_layers, n_heads] */
  inductionScores: Tensor;
  /** [seq - 1, 1 + 2·n_heads] on one repeated sequence */
  logitAttr: Tensor;
  /** the model's logits of the correct next tokens [seq - 1]: what logitAttr sums to */
  correctLogits: Tensor;
  tokens: Tensor;
  cache: ActivationCache;
}

export async function runExercises(model: HookedTransformer, seqLen = 20): Promise<ExerciseResults> {
  // repeated random tokens, as ARENA's run_and_cache_model_repeated_tokens (no BOS: this model has no tokenizer)
  const tokens = detectors.generateRepeatedTokens(model, seqLen, { batch: 1, seed: 0, prependBos: false }); // [1, 2·seqLen]
  const [logits, cache] = await model.runWithCache(tokens, { removeBatchDim: true });
  const current = detectors.currentAttnDetector(cache).heads;
  const previous = detectors.prevAttnDetector(cache).heads;
  const first = detectors.firstAttnDetector(cache).heads;
  const inductionScores = detectors.inductionScoreFromCache(cache, seqLen);
  const seq = tokens.get(0);
  const logitAttr = logitAttribution(
    cache.get("embed"),
    cache.get("result", 0),
    cache.get("result", 1),
    model.W_U,
    seq,
  );
  const n = seq.shape[0]!;
  const idx = Array.from({ length: n - 1 }, (_, i) => i);
  const next = Array.from(seq.narrow(0, 1, n - 1).dataSync(), Number);
  const correctLogits = Tensor.fromTypedArray(Float32Array.from(idx.map((i) => logits.get(0, i, next[i]!).item())), [
    n - 1,
  ]);
  return { current, previous, first, inductionScores, logitAttr, correctLogits, tokens, cache };
}

async function main(): Promise<void> {
  const model = buildInductionModel();
  console.log(model.toString());
  const r = await runExercises(model);
  console.log("Heads attending to current token  = ", r.current.join(", "));
  console.log("Heads attending to previous token = ", r.previous.join(", "));
  console.log("Heads attending to first token    = ", r.first.join(", "));
  console.log("Induction scores [layer, head]:", JSON.stringify(r.inductionScores.toArray()));
  const seqLen = r.tokens.shape[1]! / 2;
  const second = r.logitAttr.narrow(0, seqLen, seqLen - 1).mean(0); // second-half predictions
  console.log(
    "Mean logit attribution on the repeated half [direct, 0.0, 0.1, 1.0, 1.1]:",
    Array.from(second.dataSync(), (v) => Number(v.toFixed(3))).join(", "),
  );
  const err = r.logitAttr.sum(1).sub(r.correctLogits).abs().max().item();
  console.log(`sum of attributions − correct-token logits: max |diff| = ${err.toExponential(2)}`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main();
