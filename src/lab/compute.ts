// What the lab computes: validated requests (validate.ts) → JSON responses (protocol.ts) with the library's figure
// and viewer objects. No HTTP here, so the same code can run in a Web Worker. One LabModel serves one model and keeps
// the cache of the last prompt run (one entry: memory stays bounded), since a researcher usually asks several
// questions of the same prompt.
import type { HookedTransformer } from "../model/hooked-transformer.js";
import type { ActivationCache } from "../model/activation-cache.js";
import { Tensor } from "../tensor/index.js";
import { dlaByHead, logitLens } from "../analysis/logit-lens.js";
import * as patching from "../analysis/patching/index.js";
import { ABC_FLIP, generateIOIData } from "../datasets/ioi-data.js";
import { ioiPromptPairs } from "../analysis/ioi/data.js";
import { logitDiffAt } from "../analysis/ioi/metric.js";
import * as viz from "../viz/index.js";
import type { SAE } from "../sae/sae.js";
import { attributionOf } from "./attribution.js";
import { saeFeaturesOf, type ValidSaeFeatures } from "./sae.js";
import type {
  AttentionResponse,
  AttributionResponse,
  DlaResponse,
  IoiResponse,
  LabInfo,
  LogitLensResponse,
  PatchKind,
  PatchResponse,
  RunResponse,
  SaeFeaturesResponse,
  TokenInfo,
} from "./protocol.js";
import {
  LabError,
  LIMITS,
  type Prompt,
  type ValidAttention,
  type ValidAttribution,
  type ValidDla,
  type ValidIoi,
  type ValidLogitLens,
  type ValidPatch,
  type ValidRun,
} from "./validate.js";

export interface PatchRunOptions {
  onProgress?: (done: number, total: number) => void;
  /** Aborting stops the sweep at its next patched run (it rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** The patching function of each kind and what its second axis is. */
const SWEEPS: Record<PatchKind, { fn: typeof patching.getActPatchResidPre; axis: "pos" | "head"; title: string }> = {
  resid_pre: { fn: patching.getActPatchResidPre, axis: "pos", title: "Residual stream (resid_pre) by position" },
  attn_out: { fn: patching.getActPatchAttnOut, axis: "pos", title: "Attention output by position" },
  mlp_out: { fn: patching.getActPatchMlpOut, axis: "pos", title: "MLP output by position" },
  head_out: { fn: patching.getActPatchAttnHeadOutAllPos, axis: "head", title: "Head outputs (every position)" },
};

/** Gives the event loop a turn when `everyMs` have passed since the last one (so that a server stays responsive and
 *  sees cancellations during a long sweep). */
function yielder(everyMs: number): () => Promise<void> {
  let last = Date.now();
  return async () => {
    if (Date.now() - last < everyMs) return;
    await new Promise<void>((r) => setTimeout(r, 0));
    last = Date.now();
  };
}

type Nested = number[][];

export class LabModel {
  private last: { text: string; logits: Tensor; cache: ActivationCache } | null = null;

  /** `sae`: the SAE panel's (`tlens lab --sae`), checked by the caller to read one of the model's hook points. */
  constructor(
    readonly model: HookedTransformer,
    readonly name: string,
    readonly sae: SAE | null = null,
  ) {
    if (!model.tokenizer) throw new LabError(500, `the lab needs a model with a tokenizer; ${name} has none`);
  }

  info(): LabInfo {
    const c = this.model.cfg;
    return {
      model: this.name,
      nLayers: c.nLayers,
      nHeads: c.nHeads,
      nCtx: c.nCtx,
      dVocab: c.dVocabOut,
      prependBos: c.defaultPrependBos,
      limits: LIMITS,
    };
  }

  private tokens(ids: readonly number[]): Tensor {
    return Tensor.fromTypedArray(Int32Array.from(ids), [1, ids.length]);
  }

  private tokenInfos(ids: readonly number[]): TokenInfo[] {
    return ids.map((id) => ({ id, text: this.model.tokenizer!.idToString(id) }));
  }

  /** The prompt's logits [1, pos, d_vocab] and cache, from the last run when it was the same prompt. */
  private async runCached(prompt: Prompt): Promise<{ logits: Tensor; cache: ActivationCache }> {
    if (this.last?.text !== prompt.text) {
      this.last = null; // drop the old cache before making the new one
      const [logits, cache] = await this.model.runWithCache(this.tokens(prompt.ids));
      this.last = { text: prompt.text, logits, cache };
    }
    return this.last!;
  }

  /** Tokens and the top-k next-token predictions after the last position. */
  async run(req: ValidRun): Promise<RunResponse> {
    const { logits } = await this.runCached(req.prompt);
    const last = logits.get(0, -1); // [d_vocab]
    const probs = last.softmax(-1);
    const { values, indices } = probs.topk(req.topK, -1);
    const ids = Array.from(indices.dataSync(), Number);
    const p = values.dataSync();
    const l = last.dataSync();
    return {
      tokens: this.tokenInfos(req.prompt.ids),
      predictions: this.tokenInfos(ids).map((t, i) => ({ ...t, prob: p[i]!, logit: l[t.id]! })),
    };
  }

  /** The attention viewer of a layer (every head) or of one head. */
  async attention(req: ValidAttention): Promise<AttentionResponse> {
    const { cache } = await this.runCached(req.prompt);
    const pattern = cache.get(`blocks.${req.layer}.attn.hook_pattern`).get(0); // [head, q, k]
    const tokens = this.tokenInfos(req.prompt.ids).map((t) => t.text);
    const viewer =
      req.head === null
        ? viz.attentionHeads({
            tokens,
            attention: pattern,
            headNames: Array.from({ length: pattern.shape[0]! }, (_, h) => `L${req.layer}H${h}`),
            title: `Layer ${req.layer}`,
          })
        : viz.attentionPattern({
            tokens,
            attention: pattern.get(req.head),
            headName: `L${req.layer}H${req.head}`,
            title: `Head L${req.layer}H${req.head}`,
          });
    return { layer: req.layer, head: req.head, viewer };
  }

  /** The chosen token's probability at one position, read from each residual stream through the final norm and the
   *  unembedding (logitLens). */
  async logitLens(req: ValidLogitLens): Promise<LogitLensResponse> {
    const { cache } = await this.runCached(req.prompt);
    const lens = logitLens(this.model, cache, { posSlice: req.position, tokens: req.token.id });
    const probs = Array.from(lens.tokenLogProbs!.exp().dataSync(), Number); // [component] (batch 1)
    const ranks = Array.from(lens.tokenRanks!.dataSync(), Number);
    const at = this.model.tokenizer!.idToString(req.prompt.ids[req.position]!);
    const figure = viz.line(probs, {
      x: lens.labels,
      hoverName: ranks.map((r) => `rank ${r}`),
      markers: true,
      rangeY: [0, 1],
      labels: { x: "Residual stream", y: `P(${JSON.stringify(req.token.text)})` },
      title: `Logit lens: P(${JSON.stringify(req.token.text)}) after position ${req.position} (${JSON.stringify(at)})`,
    });
    return { token: req.token, position: req.position, labels: lens.labels, probs, ranks, figure };
  }

  /** Direct logit attribution of each head to logit[answer] (− logit[other]) at one position (dlaByHead). */
  async dla(req: ValidDla): Promise<DlaResponse> {
    const { cache } = await this.runCached(req.prompt);
    const target = req.other ? { tokens: req.answer.id, incorrectTokens: req.other.id } : { tokens: req.answer.id };
    const perHead = dlaByHead(this.model, cache, { target, posSlice: req.position }).perHead; // [layer, head, batch=1]
    const values = perHead.squeeze(-1).toArray() as Nested;
    const what = req.other
      ? `logit[${JSON.stringify(req.answer.text)}] − logit[${JSON.stringify(req.other.text)}]`
      : `logit[${JSON.stringify(req.answer.text)}]`;
    const figure = viz.imshow(values, {
      labels: { x: "Head", y: "Layer", color: "DLA" },
      title: `Direct logit attribution per head to ${what}`,
      textAuto: ".2f",
    });
    return { answer: req.answer, other: req.other, position: req.position, values, figure };
  }

  /** An activation-patching sweep (denoising: clean activations into the corrupted run), normalised to the fraction
   *  of the metric restored. Progress is reported once per batch of patched runs. */
  async patch(req: ValidPatch, opts: PatchRunOptions = {}): Promise<PatchResponse> {
    const { signal, onProgress } = opts;
    const { fn, axis, title } = SWEEPS[req.kind];
    const answer = req.answer.id;
    const other = req.other?.id ?? null;
    // logits [batch=1, n, d_vocab] (n = 1 with metricPositions "last") → the metric at the last position
    const id = (t: number): Tensor => Tensor.fromTypedArray(Int32Array.of(t), [1]);
    const metric = (logits: Tensor): number =>
      logitDiffAt(logits, id(logits.shape[1]! - 1), id(answer), other === null ? null : id(other)).item();
    this.last = null; // the sweep needs the clean cache of every activation; keep one cache at a time
    const [cleanLogits, cleanCache] = await this.model.runWithCache(this.tokens(req.clean.ids));
    const corruptedTokens = this.tokens(req.corrupted.ids);
    const corruptedLogits = (await this.model.forward(corruptedTokens)) as Tensor;
    const clean = metric(cleanLogits);
    const corrupted = metric(corruptedLogits);
    if (!(Math.abs(clean - corrupted) > 1e-6)) {
      throw new LabError(
        400,
        `the metric is the same on the clean and the corrupted prompt (${clean.toFixed(4)}): there is nothing to restore`,
      );
    }
    const pause = yielder(20);
    const nPos = req.clean.ids.length;
    const result = await fn(
      this.model,
      corruptedTokens,
      cleanCache,
      async (logits) => {
        await pause();
        signal?.throwIfAborted();
        return (metric(logits) - corrupted) / (clean - corrupted);
      },
      {
        metricPositions: "last",
        progressBar: false,
        // about one layer's patches per batch: progress in steps a researcher can see
        maxRows: nPos * Math.max(this.model.cfg.nHeads, 1),
        onProgress: (done, total) => {
          signal?.throwIfAborted();
          onProgress?.(done, total);
        },
      },
    );
    const values = result.toArray() as Nested;
    const x = axis === "pos" ? this.tokenInfos(req.clean.ids).map((t, i) => `${i}: ${t.text}`) : undefined;
    const figure = viz.imshow(values, {
      x,
      labels: { x: axis === "pos" ? "Position" : "Head", y: "Layer", color: "restored" },
      aspect: "auto",
      title: `Activation patching: ${title} — fraction of ${other === null ? "the logit" : "the logit difference"} restored`,
    });
    return { kind: req.kind, clean, corrupted, values, figure };
  }

  /** The SAE panel: the SAE's features on the prompt (sae.ts), from the prompt's cached run. */
  async saeFeatures(req: ValidSaeFeatures): Promise<SaeFeaturesResponse> {
    if (!this.sae) throw new LabError(404, "the lab was started without an SAE");
    const { cache } = await this.runCached(req.prompt);
    return saeFeaturesOf(this.model, this.sae, cache, req, this.tokenInfos(req.prompt.ids));
  }

  /** Attribution patching of a prompt pair (resid_pre by position, heads), normalised as the sweep; optionally
   *  the EAP / EAP-IG circuit (attribution.ts). */
  attribution(req: ValidAttribution): Promise<AttributionResponse> {
    return attributionOf(this.model, req, this.tokenInfos(req.clean.ids));
  }

  /** Clean/corrupted pairs from the IOI pipeline's data (generateIOIData + ioiPromptPairs, the dataset and XYZ flip
   *  of `tlens ioi` with the same n and seed); the answer is the IO name, the other the S name. The dataset's
   *  sentences end with the answer; the prompts stop before it (at the dataset's `end` token). */
  ioiPrompts(req: ValidIoi): IoiResponse {
    const { ioiDataset, abcDataset } = generateIOIData({ N: req.n, seed: req.seed });
    return { flip: ABC_FLIP, pairs: ioiPromptPairs(ioiDataset, abcDataset) };
  }
}
