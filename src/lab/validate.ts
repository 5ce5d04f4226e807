// Request validation: JSON bodies (unknown) → typed, checked requests with their prompts tokenized and their answer
// tokens resolved. Every failure is a LabError(400) whose message the page shows as it is.
import { TlensError } from "../errors.js";
import type { HookedTransformer } from "../model/hooked-transformer.js";
import { encodeText } from "../tokenizer/tokens.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { edgeCount } from "../analysis/attribution/graph.js";
import {
  CIRCUIT_METHODS,
  PATCH_KINDS,
  type CircuitMethod,
  type LabLimits,
  type PatchKind,
  type TokenInfo,
} from "./protocol.js";

/** An error with the HTTP status it is answered with; `message` is for the researcher. */
export class LabError extends TlensError {
  override name = "LabError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const LIMITS: LabLimits = { maxPromptChars: 2000, maxTopK: 50, maxIoiPrompts: 50 };
const DEFAULT_TOP_K = 10;

/** A prompt and its ids (BOS first when the model prepends one), at most n_ctx of them. */
export interface Prompt {
  text: string;
  ids: number[];
}

export interface ValidRun {
  prompt: Prompt;
  topK: number;
}
export interface ValidAttention {
  prompt: Prompt;
  layer: number;
  head: number | null;
}
export interface ValidLogitLens {
  prompt: Prompt;
  token: TokenInfo;
  position: number;
}
export interface ValidDla {
  prompt: Prompt;
  answer: TokenInfo;
  other: TokenInfo | null;
  position: number;
}
export interface ValidPatch extends ValidPair {
  kind: PatchKind;
}
export interface ValidIoi {
  n: number;
  seed: number;
}
/** A clean/corrupted prompt pair of one length and the metric's tokens. */
export interface ValidPair {
  clean: Prompt;
  corrupted: Prompt;
  answer: TokenInfo;
  other: TokenInfo | null;
}
export interface ValidAttribution extends ValidPair {
  circuit: CircuitMethod;
  topN: number;
}
const DEFAULT_TOP_N = 50;

export type Body = Record<string, unknown>;

function bad(message: string): LabError {
  return new LabError(400, message);
}

export function asObject(body: unknown, known: readonly string[]): Body {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw bad("the request body must be a JSON object");
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length)
    throw bad(
      `unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")} (known: ${known.join(", ")})`,
    );
  return body as Body;
}

function tokenizerOf(model: HookedTransformer): Tokenizer {
  if (!model.tokenizer) throw new LabError(500, "this model has no tokenizer; the lab needs one to read prompts");
  return model.tokenizer;
}

/** An integer in [min, max] (inclusive), or `fallback` when absent. */
export function integer(body: Body, field: string, min: number, max: number, fallback?: number): number {
  const v = body[field];
  if (v === undefined || v === null) {
    if (fallback === undefined) throw bad(`${field} is required (an integer from ${min} to ${max})`);
    return fallback;
  }
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw bad(`${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function validatePrompt(model: HookedTransformer, value: unknown, field = "prompt"): Prompt {
  if (typeof value !== "string") throw bad(`${field} must be a string`);
  if (value.trim() === "") throw bad(`${field} is empty: type some text`);
  if (value.length > LIMITS.maxPromptChars)
    throw bad(`${field} has ${value.length} characters; the lab takes at most ${LIMITS.maxPromptChars}`);
  const ids = encodeText(tokenizerOf(model), value, { prependBos: model.cfg.defaultPrependBos });
  if (ids.length > model.cfg.nCtx) {
    throw bad(
      `${field} is ${ids.length} tokens${model.cfg.defaultPrependBos ? " (with BOS)" : ""}; the model's context is ${model.cfg.nCtx} tokens`,
    );
  }
  return { text: value, ids };
}

/** A single-token string (" Mary") or a token id. */
export function validateToken(model: HookedTransformer, value: unknown, field: string): TokenInfo {
  const tok = tokenizerOf(model);
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0 || value >= model.cfg.dVocabOut)
      throw bad(`${field}: token id ${value} is outside 0..${model.cfg.dVocabOut - 1}`);
    return { id: value, text: tok.idToString(value) };
  }
  if (typeof value !== "string" || value === "")
    throw bad(`${field} must be a single token (a string such as " Mary") or a token id`);
  const ids = tok.encode(value);
  if (ids.length !== 1) {
    throw bad(
      `${field} ${JSON.stringify(value)} is not a single token: it is ${ids.length} tokens [${ids.map((id) => JSON.stringify(tok.idToString(id))).join(", ")}]` +
        (value.startsWith(" ") ? "" : ' (words after a space usually start with one: " Mary")'),
    );
  }
  return { id: ids[0]!, text: tok.idToString(ids[0]!) };
}

/** body.answer (required) and body.other (optional; the metric is then logit[answer] − logit[other]). */
function answerPair(model: HookedTransformer, body: Body): { answer: TokenInfo; other: TokenInfo | null } {
  const answer = validateToken(model, body.answer, "answer");
  const v = body.other;
  const other = v === undefined || v === null || v === "" ? null : validateToken(model, v, "other");
  if (other && other.id === answer.id)
    throw bad("answer and other are the same token; their logit difference is 0 everywhere");
  return { answer, other };
}

export function validateRun(model: HookedTransformer, body: unknown): ValidRun {
  const b = asObject(body, ["prompt", "topK"]);
  return { prompt: validatePrompt(model, b.prompt), topK: integer(b, "topK", 1, LIMITS.maxTopK, DEFAULT_TOP_K) };
}

export function validateAttention(model: HookedTransformer, body: unknown): ValidAttention {
  const b = asObject(body, ["prompt", "layer", "head"]);
  const layer = integer(b, "layer", 0, model.cfg.nLayers - 1);
  const head = b.head === undefined || b.head === null ? null : integer(b, "head", 0, model.cfg.nHeads - 1);
  return { prompt: validatePrompt(model, b.prompt), layer, head };
}

export function validateLogitLens(model: HookedTransformer, body: unknown): ValidLogitLens {
  const b = asObject(body, ["prompt", "token", "position"]);
  const prompt = validatePrompt(model, b.prompt);
  const position = integer(b, "position", 0, prompt.ids.length - 1, prompt.ids.length - 1);
  return { prompt, token: validateToken(model, b.token, "token"), position };
}

export function validateDla(model: HookedTransformer, body: unknown): ValidDla {
  const b = asObject(body, ["prompt", "answer", "other", "position"]);
  const prompt = validatePrompt(model, b.prompt);
  const position = integer(b, "position", 0, prompt.ids.length - 1, prompt.ids.length - 1);
  return { prompt, position, ...answerPair(model, b) };
}

/** body.clean and body.corrupted (the same number of tokens) and the metric's tokens. */
function promptPair(model: HookedTransformer, b: Body): ValidPair {
  const clean = validatePrompt(model, b.clean, "clean");
  const corrupted = validatePrompt(model, b.corrupted, "corrupted");
  if (clean.ids.length !== corrupted.ids.length) {
    throw bad(
      `clean and corrupted must have the same number of tokens (clean ${clean.ids.length}, corrupted ${corrupted.ids.length}): patching swaps activations position by position`,
    );
  }
  return { clean, corrupted, ...answerPair(model, b) };
}

export function validatePatch(model: HookedTransformer, body: unknown): ValidPatch {
  const b = asObject(body, ["kind", "clean", "corrupted", "answer", "other"]);
  if (!PATCH_KINDS.includes(b.kind as PatchKind))
    throw bad(`kind must be one of ${PATCH_KINDS.join(", ")}, got ${JSON.stringify(b.kind)}`);
  return { kind: b.kind as PatchKind, ...promptPair(model, b) };
}

export function validateAttribution(model: HookedTransformer, body: unknown): ValidAttribution {
  const b = asObject(body, ["clean", "corrupted", "answer", "other", "circuit", "topN"]);
  const circuit = b.circuit ?? "none";
  if (!CIRCUIT_METHODS.includes(circuit as CircuitMethod))
    throw bad(`circuit must be one of ${CIRCUIT_METHODS.join(", ")}, got ${JSON.stringify(b.circuit)}`);
  const edges = edgeCount(model.cfg);
  return {
    ...promptPair(model, b),
    circuit: circuit as CircuitMethod,
    topN: integer(b, "topN", 1, edges, Math.min(DEFAULT_TOP_N, edges)),
  };
}

export function validateIoi(body: unknown): ValidIoi {
  const b = asObject(body, ["n", "seed"]);
  return { n: integer(b, "n", 1, LIMITS.maxIoiPrompts, 8), seed: integer(b, "seed", 0, 0xffffffff, 1) };
}
