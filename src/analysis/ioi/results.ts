// What runIoiPipeline returns (plain data and Tensors, no figures) and its JSON form (`tlens ioi`'s results.json).
import type { Tensor } from "../../tensor/index.js";
import type { Head } from "../path-patching.js";
import type { Circuit, MinimalityScore, SeqPosToKeep } from "../mean-ablation.js";
import type { AttentionToWords, AttentionVsProjection } from "../ioi-circuit.js";

export interface IoiResults {
  model: { name: string; nLayers: number; nHeads: number; dModel: number; dVocab: number; nCtx: number };
  dataset: {
    N: number;
    seed: number;
    promptType: string;
    prependBos: boolean;
    flip: string;
    maxLen: number;
    sentences: string[];
    flippedSentences: string[];
  };
  /** logit[IO] − logit[S] at each prompt's `end` (ioiMetric), clean and flipped; accuracy = the fraction > 0. */
  logitDiff: {
    clean: number;
    flipped: number;
    cleanPerPrompt: number[];
    flippedPerPrompt: number[];
    cleanAccuracy: number;
    flippedAccuracy: number;
  };
  /** Mean over prompts at `end`, per residual stream (logitLens) / per component (dlaByLayer). */
  logitLens: { labels: string[]; logitDiff: number[] };
  dlaLayers: { labels: string[]; values: number[] };
  /** ioiHeadDla: perHead [layer, head]; rest and unembedBias as there (Σ perHead + rest + unembedBias = logitDiff). */
  dlaHeads: { perHead: Tensor; rest: number; unembedBias: number; logitDiff: number };
  /** Fraction of the logit difference restored (denoising). residPre / attnOut / mlpOut: [layer, word of `positions`];
   *  heads: [5 = out, q, k, v, pattern, layer, head]. */
  patching: { positions: string[]; residPre: Tensor; attnOut: Tensor; mlpOut: Tensor; heads: Tensor };
  /** Noising: (LD − clean) / (clean − flipped). toLogits [layer, head]; to the receivers: [layer, head]. */
  pathPatching?: {
    baseline: number;
    toLogits: Tensor;
    nameMovers: Head[];
    toNameMoverQueries: Tensor | null;
    sInhibition: Head[];
    toSInhibitionValues: Tensor | null;
  };
  topHeads: { byPatching: Head[]; byDla: Head[] };
  /** From `end` to each word (the top heads by output patching); Figure 3(c) data for `projectionHead`. */
  attention: { words: string[]; toWords: AttentionToWords[]; projectionHead: Head; projection: AttentionVsProjection };
  /** detectHead scores [layer, head] on the first `prompts` prompts. */
  headDetectors: { previousToken: Tensor; duplicateToken: Tensor; induction: Tensor; prompts: number };
  /** [layer, head] each; positive/negative: getCopyingScores over `names` names, top `k`. */
  copyScores: {
    ovCopying: Tensor;
    fullOvCopying: Tensor;
    positive: Tensor;
    negative: Tensor;
    k: number;
    names: number;
  };
  circuit: {
    heads: Circuit;
    seqPosToKeep: SeqPosToKeep;
    threshold: number | null;
    /** Mean logit difference with everything outside the circuit mean-ablated (by template, over the flipped prompts). */
    circuitScore: number;
    fullModelScore: number;
    noHeadsScore: number;
    faithfulness: number;
    /** getAllMinimalityScores per head, with the head's class. */
    minimality: (MinimalityScore & { class: string })[];
  };
  /** The first prompt's attention: tokens (up to `end`), patterns [layer, head, pos, pos], and the value-weighted
   *  patterns α·‖v‖ of the top heads by output patching [k, pos, pos]. */
  viewers: { sentence: string; tokens: string[]; patterns: Tensor; valueWeighted: Tensor };
  /** Seconds per stage. */
  timings: Record<string, number>;
}

type Nested = number | Nested[];

function nested(t: Tensor): Nested {
  return (t.dtype === "float32" || t.dtype === "float64" ? t : t.to("float32")).toArray() as Nested;
}

/** A head as TL writes it: [9, 6] → "L9H6". */
export const headName = ([l, h]: Head): string => `L${l}H${h}`;

/** results.json: the numbers of IoiResults as nested arrays (snake_case keys; heads as "L{l}H{h}"). */
export function ioiResultsJson(r: IoiResults): Record<string, unknown> {
  const p = r.patching;
  const [headOut, headQ, headK, headV, headPattern] = p.heads.unbind(0).map(nested);
  const pp = r.pathPatching;
  const ld = r.logitDiff;
  return {
    model: r.model,
    dataset: r.dataset,
    logit_diff: {
      clean: ld.clean,
      flipped: ld.flipped,
      clean_per_prompt: ld.cleanPerPrompt,
      flipped_per_prompt: ld.flippedPerPrompt,
      clean_accuracy: ld.cleanAccuracy,
      flipped_accuracy: ld.flippedAccuracy,
    },
    logit_lens: { labels: r.logitLens.labels, logit_diff: r.logitLens.logitDiff },
    dla_layers: r.dlaLayers,
    dla_heads: nested(r.dlaHeads.perHead),
    patching: {
      metric: "(LD − LD_flipped) / (LD_clean − LD_flipped): 1 = clean restored, 0 = as corrupted",
      positions: p.positions,
      resid_pre: nested(p.residPre),
      attn_out: nested(p.attnOut),
      mlp_out: nested(p.mlpOut),
      head_out: headOut,
      head_q: headQ,
      head_k: headK,
      head_v: headV,
      head_pattern: headPattern,
    },
    ...(pp
      ? {
          path_patching: {
            metric: "(LD − LD_clean) / (LD_clean − LD_flipped): 0 = unchanged, −1 = as corrupted",
            baseline: pp.baseline,
            to_logits: nested(pp.toLogits),
            name_movers: pp.nameMovers.map(headName),
            to_name_mover_queries: pp.toNameMoverQueries ? nested(pp.toNameMoverQueries) : [],
            s_inhibition: pp.sInhibition.map(headName),
            to_s_inhibition_values: pp.toSInhibitionValues ? nested(pp.toSInhibitionValues) : null,
          },
        }
      : {}),
    head_detectors: {
      previous_token: nested(r.headDetectors.previousToken),
      duplicate_token: nested(r.headDetectors.duplicateToken),
      induction: nested(r.headDetectors.induction),
      prompts: r.headDetectors.prompts,
    },
    copy_scores: {
      ov_copying: nested(r.copyScores.ovCopying),
      full_ov_copying: nested(r.copyScores.fullOvCopying),
      positive: nested(r.copyScores.positive),
      negative: nested(r.copyScores.negative),
      k: r.copyScores.k,
    },
    circuit: {
      heads: Object.fromEntries(Object.entries(r.circuit.heads).map(([c, hs]) => [c, hs.map(headName)])),
      positions: r.circuit.seqPosToKeep,
      threshold: r.circuit.threshold,
      circuit_score: r.circuit.circuitScore,
      full_model_score: r.circuit.fullModelScore,
      no_heads_score: r.circuit.noHeadsScore,
      faithfulness: r.circuit.faithfulness,
      minimality: r.circuit.minimality.map((m) => ({ head: headName(m.head), class: m.class, score: m.score })),
    },
    top_heads: { by_patching: r.topHeads.byPatching.map(headName), by_dla: r.topHeads.byDla.map(headName) },
    attention_to_words: r.attention.toWords.map((w) => ({ head: headName(w.head), mean: w.mean, std: w.std })),
    timings_s: r.timings,
  };
}
