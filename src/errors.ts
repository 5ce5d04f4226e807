// Typed errors: every failure a researcher can cause gets one of these, with a message that says what to fix.

export class TlensError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
/** A kernel that cannot run as asked: a backend that is not available, a buffer of the wrong type or size. */
export class BackendError extends TlensError {}
/** A tensor op used out of its contract (other than shapes and indices, which have their own errors). */
export class TensorError extends TlensError {}
/** Shapes that do not fit an op (the message names the op and the shapes). */
export class ShapeError extends TlensError {}
/** An index outside a dimension (the message names the dim and its size). */
export class IndexError extends TlensError {}
/** Bad weight files, configs and downloads. */
export class LoadError extends TlensError {}
/** A HookedTransformerConfig that asks for something tlens does not do (a LoadError, so loaders' callers catch it). */
export class ConfigError extends LoadError {}
/** Unknown hook names and hooks that return the wrong shape. */
export class HookError extends TlensError {}
export class TokenizerError extends TlensError {}
/** Gradients that cannot be computed as asked: backward() on a non-scalar without a gradient, through a freed
 *  graph, a gradient of the wrong shape, a NaN gradient, an in-place write over a tensor backward needs. */
export class GradError extends TlensError {}
/** An output path that cannot be written (the message says which and how to fix it). */
export class OutputError extends TlensError {}
