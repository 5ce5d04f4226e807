// Typed errors: every failure a researcher can cause gets one of these, with a message that says what to fix.
// Each layer throws its own class (docs/architecture.md, "Errors"); all of them are TlensErrors. Each class names
// itself (`name`) as a string, so the name survives a minifier and can cross a worker's message channel.

/** The root of every error tlens throws; catch it to catch them all. `options.cause`: the error it wraps. */
export class TlensError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
/** A kernel that cannot run as asked (backend/): an unknown or unavailable backend, an op the kernels do not have,
 *  a view outside its buffer or a buffer of the wrong type (the native and wasm kernels check both), the wasm
 *  memory running out. */
export class BackendError extends TlensError {
  override name = "BackendError";
}
/** A tensor op used out of its contract (other than shapes and indices, which have their own errors). */
export class TensorError extends TlensError {
  override name = "TensorError";
}
/** Shapes that do not fit an op (the message names the op and the shapes). */
export class ShapeError extends TlensError {
  override name = "ShapeError";
}
/** An index outside a dimension (the message names the dim and its size). */
export class IndexError extends TlensError {
  override name = "IndexError";
}
/** Gradients that cannot be computed as asked: backward() on a non-scalar without a gradient, through a freed
 *  graph, a gradient of the wrong shape, a NaN gradient, an in-place write over a tensor backward needs. */
export class GradError extends TlensError {
  override name = "GradError";
}
/** Text or token ids the tokenizer cannot take (tokenizer/): no tokenizer, ids outside the vocabulary, bad files. */
export class TokenizerError extends TlensError {
  override name = "TokenizerError";
}
/** Bad weight files, configs and downloads (loading/): a truncated or lying file, a missing tensor, a hub answer
 *  that is an error (HTTP 404, 401, ...). */
export class LoadError extends TlensError {
  override name = "LoadError";
}
/** A HookedTransformerConfig that asks for something tlens does not do (a LoadError, so loaders' callers catch it). */
export class ConfigError extends LoadError {
  override name = "ConfigError";
}
/** A download whose transport failed (connection refused or reset, a timeout, a body cut short, HTTP 502/503/504
 *  after the retries); a LoadError, so loaders' callers catch it. */
export class NetworkError extends LoadError {
  override name = "NetworkError";
}
/** The host of a download does not resolve (DNS, ENOTFOUND; or no network at all): never retried. */
export class HostNotFoundError extends NetworkError {
  override name = "HostNotFoundError";
}
/** Unknown hook names and hooks that return the wrong shape. */
export class HookError extends TlensError {
  override name = "HookError";
}
/** A model asked for what it does not have or cannot do (model/): a parameter or component it lacks, an option
 *  out of range (generate's topK, runBlocks' layers), tokens that are not integers, a cache used without its model. */
export class ModelError extends TlensError {
  override name = "ModelError";
}
/** An analysis (analysis/) asked for something that does not fit the model or its inputs: an unknown head or
 *  position, prompts of different lengths, a metric of the wrong shape, an option out of range. */
export class AnalysisError extends TlensError {
  override name = "AnalysisError";
}
/** Figure and viewer input that cannot be drawn (viz/, and the viewers' page script): ragged arrays, non-numbers,
 *  labels that do not match the data, an unknown viewer. */
export class VizError extends TlensError {
  override name = "VizError";
}
/** An output path that cannot be written (the message says which and how to fix it). */
export class OutputError extends TlensError {
  override name = "OutputError";
}
/** The browser's model worker (browser/): it did not start or was terminated, no model is loaded yet, an unknown
 *  request; also a failure inside the worker that has no class of its own (its name leads the message). */
export class WorkerError extends TlensError {
  override name = "WorkerError";
}
/** A `tlens` command that cannot run as its flags ask (cli/, and lab/command.ts): a --text file it cannot read, a
 *  --hook the model does not have, an --sae that does not fit the model. */
export class CliError extends TlensError {
  override name = "CliError";
}
