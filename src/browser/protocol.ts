// The Web Worker's message API (worker.ts runs it, client.ts speaks it). Requests carry an id; the worker answers
// each with progress messages (load: bytes; analyses: steps) and then exactly one "result" or "error". Values cross
// as structured clones with every Tensor replaced by {$tensor: {dtype, shape, data}} whose buffer is transferred.
import { currentAttnDetector, firstAttnDetector, prevAttnDetector } from "../analysis/attn-detectors.js";
import { dlaByHead, dlaByLayer, dlaByNeuron, dlaFull, logitLens } from "../analysis/logit-lens.js";
import {
  AnalysisError,
  BackendError,
  ConfigError,
  GradError,
  HookError,
  HostNotFoundError,
  IndexError,
  LoadError,
  ModelError,
  NetworkError,
  ShapeError,
  TensorError,
  TlensError,
  TokenizerError,
  VizError,
  WorkerError,
} from "../errors.js";
import type { ActivationCache } from "../model/activation-cache.js";
import type { HookedTransformer } from "../model/hooked-transformer.js";
import type { ForwardOptions } from "../model/hooked-transformer.js";
import type { ProcessOptions } from "../model/weight-processing.js";
import { Tensor } from "../tensor/tensor.js";
import type { DType, TypedArray } from "../tensor/index.js";
import type { LoadProgress } from "./fetch-model.js";

/** A tensor on the wire: contiguous data of its dtype. */
export interface TensorData {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

/** Model input on the wire: text, a batch of texts, or token ids (a Tensor or nested arrays). */
export type WireInput = string | string[] | number[][] | Tensor;

/** Forward options that can cross to the worker (no KV cache: that stays with a model in one thread). */
export type WorkerForwardOptions = Omit<ForwardOptions, "pastKvCache">;

/** Analyses the worker runs on a fresh cache of `input` — (model, cache, options) → plain data + Tensors. */
export const CACHE_ANALYSES = {
  logitLens,
  dlaByLayer,
  dlaByHead,
  dlaByNeuron,
  dlaFull,
  currentAttnDetector: (_model: HookedTransformer, cache: ActivationCache, opts?: { threshold?: number }) =>
    currentAttnDetector(cache, opts),
  prevAttnDetector: (_model: HookedTransformer, cache: ActivationCache, opts?: { threshold?: number }) =>
    prevAttnDetector(cache, opts),
  firstAttnDetector: (_model: HookedTransformer, cache: ActivationCache, opts?: { threshold?: number }) =>
    firstAttnDetector(cache, opts),
};
export type AnalysisName = keyof typeof CACHE_ANALYSES;
export type AnalysisOptions<K extends AnalysisName> = Parameters<(typeof CACHE_ANALYSES)[K]>[2];
export type AnalysisResult<K extends AnalysisName> = ReturnType<(typeof CACHE_ANALYSES)[K]>;

export type WorkerRequest =
  | { id: number; type: "load"; url: string; backend?: "wasm" | "js"; options?: ProcessOptions }
  | { id: number; type: "forward"; input: WireInput; options?: WorkerForwardOptions }
  /** names: the hooks to send back (the cache holds only these) */
  | { id: number; type: "runWithCache"; input: WireInput; names: string[]; options?: WorkerForwardOptions }
  | { id: number; type: "analysis"; name: AnalysisName; input: WireInput; options?: unknown }
  /** Cancels request `target`: a queued one never starts; a running one stops at its next layer. */
  | { id: number; type: "cancel"; target: number };

/** What "load" answers: the model's config essentials and the backend in use. */
export interface LoadedInfo {
  backend: "wasm" | "js";
  /** Threads the wasm kernels run on (1: tlens.wasm, or the js backend). */
  threads: number;
  nLayers: number;
  nHeads: number;
  dModel: number;
  dVocab: number;
  hookNames: string[];
}

export type WorkerResponse =
  | { id: number; type: "progress"; progress: LoadProgress }
  | { id: number; type: "result"; value: unknown }
  | { id: number; type: "error"; name: string; message: string };

/** The classes a failure in the worker can be, by name: the page re-creates each as the same class. */
const WIRE_ERRORS: Record<string, new (message: string) => TlensError> = {
  TlensError,
  BackendError,
  TensorError,
  ShapeError,
  IndexError,
  GradError,
  TokenizerError,
  LoadError,
  ConfigError,
  NetworkError,
  HostNotFoundError,
  HookError,
  ModelError,
  AnalysisError,
  VizError,
  WorkerError,
};

/** A failure in the worker as it crosses to the page: its class name and message. */
export function encodeError(e: unknown): { name: string; message: string } {
  return e instanceof Error ? { name: e.name, message: e.message } : { name: "WorkerError", message: String(e) };
}

/** The page's copy of a worker's failure: the same class where it is one of WIRE_ERRORS, else a WorkerError whose
 *  message starts with the original name ("TypeError: ..."). */
export function decodeError(name: string, message: string): TlensError {
  const cls = Object.hasOwn(WIRE_ERRORS, name) ? WIRE_ERRORS[name] : undefined;
  return cls ? new cls(message) : new WorkerError(`${name}: ${message}`);
}

/** Tensors → {$tensor} (copied into fresh buffers, listed in `transfer`); plain objects, arrays and Maps recursed. */
export function encode(value: unknown, transfer: ArrayBuffer[]): unknown {
  if (value instanceof Tensor) {
    const data = value.dataSync().slice();
    transfer.push(data.buffer as ArrayBuffer);
    const wire: TensorData = { dtype: value.dtype, shape: [...value.shape], data };
    return { $tensor: wire };
  }
  if (Array.isArray(value)) return value.map((v) => encode(v, transfer));
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, encode(v, transfer)]));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v, transfer)]));
  return value;
}

/** The inverse of encode: {$tensor} → Tensor. */
export function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, decode(v)]));
  if (isPlainObject(value)) {
    const t = (value as { $tensor?: TensorData }).$tensor;
    if (t !== undefined) return Tensor.fromTypedArray(t.data, t.shape);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
