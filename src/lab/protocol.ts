// The lab's wire protocol: what the page asks for and what it gets back, as plain JSON. The server (server.ts), the
// compute functions (compute.ts), the lab worker (worker-host.ts) and the page (app/) share these types; the page
// reaches the model only through LabClient: over HTTP (app/http-client.ts) or in its own Web Worker
// (app/worker-client.ts).
import type { SweepGrid, SweepResult } from "../jobs/merge.js";
import type { TokenEffect } from "../sae/features/logit-effects.js";
import type { Figure, Viewer } from "../viz/types.js";

/** A token as the page shows it. */
export interface TokenInfo {
  id: number;
  text: string;
}

export interface LabInfo {
  model: string;
  nLayers: number;
  nHeads: number;
  nCtx: number;
  dVocab: number;
  prependBos: boolean;
  limits: LabLimits;
}

export interface LabLimits {
  /** Characters in one prompt. */
  maxPromptChars: number;
  /** Predictions returned by a run. */
  maxTopK: number;
  /** Prompts one IOI request may generate. */
  maxIoiPrompts: number;
}

// ------------------------------------------------------------------------------------------------------ requests
// Tokens of answers are single-token strings (" Mary") or token ids; positions are token indices (default: the last).

export interface RunRequest {
  prompt: string;
  topK?: number;
}
export interface AttentionRequest {
  prompt: string;
  layer: number;
  head?: number;
}
export interface LogitLensRequest {
  prompt: string;
  token: string | number;
  position?: number;
}
export interface DlaRequest {
  prompt: string;
  answer: string | number;
  other?: string | number;
  position?: number;
}

/** resid_pre, attn_out, mlp_out: [layer, pos]; head_out: [layer, head] (every position). */
export type PatchKind = "resid_pre" | "attn_out" | "mlp_out" | "head_out";
export const PATCH_KINDS: readonly PatchKind[] = ["resid_pre", "attn_out", "mlp_out", "head_out"];

/** Denoising: clean activations into the corrupted run; the metric is logit[answer] − logit[other] (or logit[answer])
 *  at the last position, normalised to the fraction restored: (m − m_corrupted) / (m_clean − m_corrupted). */
export interface PatchRequest {
  kind: PatchKind;
  clean: string;
  corrupted: string;
  answer: string | number;
  other?: string | number;
}
export interface IoiRequest {
  n?: number;
  seed?: number;
}

/** Edge attribution for the circuit: none, EAP (one gradient) or EAP-IG (5 integrated-gradient steps). */
export type CircuitMethod = "none" | "eap" | "eap-ig";
export const CIRCUIT_METHODS: readonly CircuitMethod[] = ["none", "eap", "eap-ig"];

/** Attribution patching (AtP, denoising) of the patching panel's prompt pair and metric: the estimate of every
 *  patch of resid_pre [layer, pos] and of each head's output [layer, head] from one clean forward and one corrupted
 *  forward + backward, normalised as the sweep is; with `circuit`, the edge graph and its `topN` strongest edges. */
export interface AttributionRequest {
  clean: string;
  corrupted: string;
  answer: string | number;
  other?: string | number;
  circuit?: CircuitMethod;
  topN?: number;
}

// ----------------------------------------------------------------------------------------------------- responses

export interface RunResponse {
  tokens: TokenInfo[];
  /** The most likely next tokens after the last position, most likely first. */
  predictions: (TokenInfo & { prob: number; logit: number })[];
}

export interface AttentionResponse {
  layer: number;
  head: number | null;
  /** viz.attentionHeads of the layer (every head), or viz.attentionPattern of one head. */
  viewer: Viewer;
}

export interface LogitLensResponse {
  token: TokenInfo;
  position: number;
  /** Residual streams (logitLens labels: 0_pre, 1_pre, ..., final_post). */
  labels: string[];
  probs: number[];
  /** 0 = the most likely token. */
  ranks: number[];
  /** viz.line of probs over labels. */
  figure: Figure;
}

export interface DlaResponse {
  answer: TokenInfo;
  other: TokenInfo | null;
  position: number;
  /** [layer][head] */
  values: number[][];
  /** viz.imshow of values. */
  figure: Figure;
}

export interface PatchResponse {
  kind: PatchKind;
  /** The metric (unnormalised) on the clean and on the corrupted prompt. */
  clean: number;
  corrupted: number;
  /** Fraction restored: [layer][pos] or [layer][head]. */
  values: number[][];
  /** viz.imshow of values. */
  figure: Figure;
}

export interface AttributionResponse {
  /** The metric (unnormalised) on the clean and on the corrupted prompt. */
  clean: number;
  corrupted: number;
  /** Estimated fraction restored: [layer][pos] and [layer][head]. */
  residPre: number[][];
  heads: number[][];
  /** viz.imshow of residPre and of heads. */
  residPreFigure: Figure;
  headsFigure: Figure;
  /** viz.circuitViewer of the scored graph with the topN strongest edges (pruned to input → logits paths) as the
   *  circuit; null without `circuit`. */
  circuit: Viewer | null;
  /** Edges scored, and those left in the circuit after pruning (0 without `circuit`). */
  edges: number;
  circuitEdges: number;
}

export interface IoiPair {
  clean: string;
  corrupted: string;
  answer: string;
  other: string;
}
export interface IoiResponse {
  flip: string;
  pairs: IoiPair[];
}

/** One line of the NDJSON stream of POST /api/patch. */
export type PatchEvent =
  | { type: "queued"; ahead: number }
  | { type: "progress"; done: number; total: number }
  | { type: "result"; result: PatchResponse }
  | { type: "error"; error: string };

// ------------------------------------------------------------------------------------------ queue sweeps (--queue)

/** POST /api/sweep (only with `tlens lab --queue`): an IOI sweep of the lab's model, sharded into BullMQ jobs that
 *  `tlens worker` processes run; the same job spec `tlens sweep` runs (docs/distributed.md). */
export interface SweepRequest {
  /** Patching grids (the job spec's `sweep`), e.g. ["resid_pre", "head_out"]. */
  kinds: string[];
  /** IOI prompt pairs (each against its ABC-flipped version). */
  pairs: number;
  /** The IOI generator's seed (default 1). */
  seed?: number;
  /** "mixed" (default), "ABBA", "BABA". */
  promptType?: string;
  /** Prompt pairs per shard (default 8). */
  pairsPerShard?: number;
}

/** The merged result (the job spec, the grids averaged over every pair) and one heatmap per grid. */
export interface SweepResponse {
  spec: SweepResult["spec"];
  nPairs: number;
  shards: number;
  grids: Partial<Record<string, SweepGrid>>;
  /** One viz.imshow per grid: the figures of `tlens sweep --html`. */
  figures: Figure[];
}

/** One line of the NDJSON stream of POST /api/sweep: submitted (its shards are on the queue), progress per shard
 *  finished, then result or error. Closing the stream cancels the sweep (its waiting shards leave the queue). */
export type SweepEvent =
  | { type: "submitted"; shards: number; queue: string }
  | { type: "progress"; done: number; total: number; elapsedMs: number; etaMs: number | null }
  | { type: "result"; result: SweepResponse }
  | { type: "error"; error: string };

/** GET /api/queue: whether the lab sends sweeps to a queue (`tlens lab --queue`), and which. */
export type QueueModeInfo = { available: true; queue: string } | { available: false; reason: string };

// -------------------------------------------------------------------------------------------- SAE panel (--sae)

/** GET /api/sae: whether the lab has an SAE (`tlens lab --sae DIR`), and which. */
export type SaeModeInfo =
  { available: true; hookName: string; dSae: number; architecture: string } | { available: false; reason: string };

/** POST /api/sae-features: the SAE's features on a prompt; `feature` defaults to the one that fires most on it,
 *  `topK` (default 10) is how many of the most active features are listed. */
export interface SaeFeaturesRequest {
  prompt: string;
  feature?: number;
  topK?: number;
}

export interface SaeFeaturesResponse {
  hookName: string;
  dSae: number;
  tokens: TokenInfo[];
  feature: number;
  /** the feature's activation at each token of the prompt */
  acts: number[];
  maxActivation: number;
  /** how many features fire (> 0) somewhere on the prompt */
  firing: number;
  /** the features with the largest activation on the prompt, largest first: that activation and its position */
  top: { feature: number; max: number; position: number }[];
  /** the feature's logit effects (W_dec[feature] · W_U, no ln_final): the tokens pushed up most and down most;
   *  null for an SAE that does not read the residual stream */
  logits: { top: TokenEffect[]; bottom: TokenEffect[] } | null;
}

/** Every error the API sends: a status and this body. */
export interface ErrorBody {
  error: string;
}

// ------------------------------------------------------------------------------------------------------- client

/** The page's only way to the model. */
export interface LabClient {
  info(): Promise<LabInfo>;
  run(req: RunRequest): Promise<RunResponse>;
  attention(req: AttentionRequest): Promise<AttentionResponse>;
  logitLens(req: LogitLensRequest): Promise<LogitLensResponse>;
  dla(req: DlaRequest): Promise<DlaResponse>;
  /** Resolves with the sweep; rejects with an AbortError when `signal` aborts (the job is dropped). */
  patch(
    req: PatchRequest,
    onProgress: (done: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<PatchResponse>;
  ioiPrompts(req: IoiRequest): Promise<IoiResponse>;
  attribution(req: AttributionRequest): Promise<AttributionResponse>;
}

/** GET /api/browser: whether the page can run the model itself (the lab's Web Worker and the model's files are
 *  served), and where they are. */
export type BrowserModeInfo = { available: true; worker: string; model: string } | { available: false; reason: string };
