// Copy scores of attention heads' OV circuits (Wang et al. 2022 §3.3 / Appendix: name movers copy the names they
// attend to; negative name movers write the opposite): seed 002's `get_copying_scores` (ARENA 1.4) and
// `check_copy_circuit`.
import { AnalysisError } from "../errors.js";
import { arange, Tensor } from "../tensor/index.js";
import { logitsFromResidual, mlpOutput } from "../model/run/index.js";
import type { HookedTransformer } from "../model/hooked-transformer.js";
import type { ActivationCache } from "../model/activation-cache.js";
import type { IOIDataset } from "../datasets/ioi.js";
import { NAMES } from "../datasets/ioi-constants.js";

function int32(values: readonly number[], shape: number[] = [values.length]): Tensor {
  return Tensor.fromTypedArray(Int32Array.from(values), shape);
}

/** For each row of logits [n, vocab], is `targets[i]` among the k largest? (Fewer than k logits strictly larger:
 *  ties count in the target's favour, where torch.topk's choice among equal values is unspecified.) */
function inTopK(logits: Tensor, targets: readonly number[], k: number): boolean[] {
  const [n, vocab] = logits.shape as [number, number];
  const data = logits.contiguous().dataSync() as Float32Array;
  return Array.from({ length: n }, (_, i) => {
    const row = i * vocab;
    const t = data[row + targets[i]!]!;
    let above = 0;
    for (let j = 0; j < vocab && above < k; j++) if (data[row + j]! > t) above++;
    return above < k;
  });
}

/** The k largest entries' indices of row `i` of logits [n, vocab], largest first (a scan, no sort). */
function topKIndices(logits: Tensor, i: number, k: number): number[] {
  const vocab = logits.shape[1]!;
  const row = (logits.contiguous().dataSync() as Float32Array).subarray(i * vocab, (i + 1) * vocab);
  const best: number[] = [];
  for (let j = 0; j < vocab; j++) {
    if (best.length === k && row[j]! <= row[best[k - 1]!]!) continue;
    let at = best.length;
    while (at > 0 && row[best[at - 1]!]! < row[j]!) at--;
    best.splice(at, 0, j);
    if (best.length > k) best.pop();
  }
  return best;
}

export interface CopyingScoreOptions {
  /** Top-k (default 5). */
  k?: number;
  /** Names to copy (default the IOI generator's NAMES). */
  names?: readonly string[];
  /** Tokenise " " + name, the form names take inside IOI prompts (default true). ARENA tokenises the bare name, which
   *  for GPT-2 is usually a different token; toy-ioi never trained the bare forms. Names that are not one token are
   *  skipped. */
  prefixSpace?: boolean;
}

export interface CopyingScores {
  /** Fraction of names in the top k of unembed(ln_final(resid · W_OV)): [layer, head]. */
  positive: Tensor;
  /** The same with −W_OV (negative copying): [layer, head]. */
  negative: Tensor;
  /** The names scored and their tokens. */
  names: string[];
  tokens: number[];
}

/**
 * Positive and negative copying scores of every head (seed 002 / ARENA `get_copying_scores`): each name's embedding
 * plus MLP0's output on it (the residual stream "after the first MLP layer"), through the head's OV circuit
 * (W_V·W_O, ±), the final norm and the unembedding; the score is the fraction of names in their own top k.
 * ARENA reports layers 1.. only (`[2, layer − 1, head]`); here every layer is scored, so `positive.get("1:")` is
 * ARENA's first slice.
 */
export async function getCopyingScores(
  model: HookedTransformer,
  opts: CopyingScoreOptions = {},
): Promise<CopyingScores> {
  const k = opts.k ?? 5;
  if (!model.tokenizer) throw new AnalysisError("getCopyingScores: the model has no tokenizer");
  const names: string[] = [];
  const tokens: number[] = [];
  for (const name of opts.names ?? NAMES) {
    const ids = model.tokenizer.encode((opts.prefixSpace ?? true) ? ` ${name}` : name);
    if (ids.length === 1) {
      names.push(name);
      tokens.push(ids[0]!);
    }
  }
  if (!tokens.length) throw new AnalysisError("getCopyingScores: no name is a single token");
  const n = tokens.length;
  const emb = model.W_E.get(int32(tokens)).unsqueeze(0); // [1, n, d_model]
  // the embeddings through block 0's MLP (ARENA's "effective embedding"); attention-only models have none
  const resid = (model.cfg.attnOnly ? emb : emb.add(await mlpOutput(model, 0, emb))).squeeze(0); // [n, d_model]
  const L = model.cfg.nLayers;
  const H = model.cfg.nHeads;
  const pos = new Float32Array(L * H);
  const neg = new Float32Array(L * H);
  const WV = model.W_V; // [L, H, d_model, d_head]
  const WO = model.W_O; // [L, H, d_head, d_model]
  for (let l = 0; l < L; l++) {
    for (let h = 0; h < H; h++) {
      const out = resid.matmul(WV.get(l, h)).matmul(WO.get(l, h)); // [n, d_model]
      for (const sign of [1, -1]) {
        const logits = (await logitsFromResidual(model, (sign === 1 ? out : out.neg()).unsqueeze(0))).squeeze(0); // [n, vocab]
        const hits = inTopK(logits, tokens, k).filter(Boolean).length / n;
        (sign === 1 ? pos : neg)[l * H + h] = hits;
      }
    }
  }
  return { positive: Tensor.fromTypedArray(pos, [L, H]), negative: Tensor.fromTypedArray(neg, [L, H]), names, tokens };
}

export interface CheckCopyCircuitOptions {
  /** Top-k (default 5). */
  k?: number;
  /** Negative copying: −W_OV (seed 002's `neg=True`, for negative name movers). */
  neg?: boolean;
  /** Print the failures (seed 002's `verbose`) and the score line. */
  verbose?: boolean;
  /** A cache of the run on dataset.toks holding blocks.0.hook_resid_post (computed when absent). */
  cache?: ActivationCache;
}

export interface CheckCopyCircuitResult {
  /** Percentage of (prompt, word) pairs whose name is in the top k, over the words IO, S1 and S2. */
  percent: number;
  nRight: number;
  total: number;
  /** Per word: the percentage for IO, S1 and S2 separately. */
  byWord: Record<"IO" | "S1" | "S2", number>;
  failures: { prompt: number; word: "IO" | "S1" | "S2"; target: number; topK: number[] }[];
}

/**
 * Seed 002's `check_copy_circuit(model, layer, head, ioi_dataset, neg)`: the residual stream after layer 0
 * (blocks.0.hook_resid_post, no norm — as the seed) at the IO, S1 and S2 positions, through the head's values
 * (W_V, b_V) and ±W_O, the final norm and the unembedding; the score is how often that position's own name (IO for
 * IO, S for S1 and S2) is in the top k.
 */
export async function checkCopyCircuit(
  model: HookedTransformer,
  layer: number,
  head: number,
  dataset: IOIDataset,
  opts: CheckCopyCircuitOptions = {},
): Promise<CheckCopyCircuitResult> {
  const k = opts.k ?? 5;
  if (!(layer >= 0 && layer < model.cfg.nLayers && head >= 0 && head < model.cfg.nHeads))
    throw new AnalysisError(`checkCopyCircuit: head [${layer}, ${head}] does not exist`);
  const name = "blocks.0.hook_resid_post";
  const cache = opts.cache?.has(name)
    ? opts.cache
    : (await model.runWithCache(dataset.toks, { namesFilter: [name], stopAtLayer: 1 }))[1];
  const resid = cache.get(name); // [batch, pos, d_model]
  const N = dataset.N;
  const words = ["IO", "S1", "S2"] as const;
  const attn = model.blocks[layer]!.attn;
  const rows = arange(0, N, 1, "int32");
  const sign = opts.neg ? -1 : 1;
  const byWord = { IO: 0, S1: 0, S2: 0 };
  const failures: CheckCopyCircuitResult["failures"] = [];
  let nRight = 0;
  for (const word of words) {
    const x = resid.get(rows, int32(dataset.wordIdx[word]!.slice(0, N))); // [batch, d_model]
    const kvHead = Math.floor(head / attn.repeatKvHeads);
    const v = x.matmul(attn._W_V.get(kvHead)).add(attn._b_V.get(kvHead));
    const o = v.matmul(attn.W_O.get(head)).mul(sign).unsqueeze(0);
    const logits = (await logitsFromResidual(model, o)).squeeze(0); // [batch, vocab]
    const targets = word === "IO" ? dataset.ioTokenIDs : dataset.sTokenIDs;
    const hits = inTopK(logits, targets.slice(0, N), k);
    hits.forEach((hit, i) => {
      if (hit) {
        nRight++;
        byWord[word]++;
        return;
      }
      if (failures.length < 1000)
        failures.push({ prompt: i, word, target: targets[i]!, topK: topKIndices(logits, i, k) });
    });
  }
  const total = N * words.length;
  const percent = (nRight / total) * 100;
  for (const w of words) byWord[w] = (byWord[w] / N) * 100;
  if (opts.verbose) {
    for (const f of failures) {
      console.log(
        `-------\nSeq: ${dataset.sentences[f.prompt]}\nTarget: ${f.word === "IO" ? dataset.ioiPrompts[f.prompt]!.IO : dataset.ioiPrompts[f.prompt]!.S}`,
      );
      console.log(f.topK.map((t, i) => `(${i + 1}):${model.tokenizer?.decode([t]) ?? t}`).join(" "));
    }
    console.log(`Copy circuit for head ${layer}.${head} (sign=${sign}) : Top ${k} accuracy: ${percent}%`);
  }
  return { percent, nRight, total, byWord, failures };
}
