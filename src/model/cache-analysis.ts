// Helpers behind ActivationCache's analysis methods: TransformerLens's Slice (how pos/batch/neuron slices are given)
// and the model-side sums the decompositions need (accumulated biases, the final norm recomputed per component).
import { IndexError, ModelError, ShapeError } from "../errors.js";
import { Tensor, zeros } from "../tensor/index.js";
import { fmtShape, resolveSlice } from "../tensor/shape.js";
import type { HookedTransformer } from "./hooked-transformer.js";

/** A range given as an object: TL's tuple form `(start, stop[, step])`; missing ends are open. */
export interface SliceRange {
  start?: number | null;
  stop?: number | null;
  step?: number | null;
}

/**
 * What a `posSlice`, `batchSlice` or `neuronSlice` may be (TL's `SliceInput`):
 * - `undefined`/`null`: everything (no slicing);
 * - a number: that one index; the dim disappears (`-1` = the last position);
 * - a slice string `"start:stop[:step]"` (`"-3:"`, `"::2"`) or a `{ start, stop, step }` object: a range (TL's tuple);
 * - an array of numbers or an int32 tensor: those indices, in that order (TL's list / tensor);
 * - a `Slice`.
 * Arrays are index lists, as TL's lists; write a range as a string or object.
 */
export type SliceInput = Slice | number | string | readonly number[] | Tensor | SliceRange | null | undefined;

const INT_STRING = /^\s*-?\d+\s*$/;
const SLICE_STRING = /^\s*-?\d*\s*:\s*-?\d*\s*(:\s*-?\d*\s*)?$/;

/** TransformerLens's utils.Slice: one way to index a single dim. */
export class Slice {
  /** "empty" (take everything), "int" (one index, dim dropped), "slice" (a range), "array" (index list). */
  readonly mode: "empty" | "int" | "slice" | "array";
  /** The index as tensor.get takes it: a number, a slice string, or an int32 index tensor; null when empty. */
  readonly slice: number | string | Tensor | null;

  constructor(input?: SliceInput) {
    if (input instanceof Slice) {
      this.mode = input.mode;
      this.slice = input.slice;
    } else if (input === undefined || input === null) {
      this.mode = "empty";
      this.slice = null;
    } else if (typeof input === "number") {
      if (!Number.isInteger(input)) throw new IndexError(`a slice index must be an integer, got ${input}`);
      this.mode = "int";
      this.slice = input;
    } else if (typeof input === "string") {
      if (INT_STRING.test(input)) {
        this.mode = "int";
        this.slice = Number(input);
      } else if (SLICE_STRING.test(input)) {
        this.mode = "slice";
        this.slice = input.replace(/\s+/g, "");
      } else {
        throw new IndexError(`bad slice "${input}": expected "start:stop[:step]" (ends optional) or an integer`);
      }
    } else if (input instanceof Tensor) {
      if (input.dtype !== "int32")
        throw new IndexError(`an index tensor for a slice must be int32, got ${input.dtype}`);
      this.mode = "array";
      this.slice = input;
    } else if (Array.isArray(input)) {
      const arr = input as readonly number[];
      for (const v of arr) if (!Number.isInteger(v)) throw new IndexError(`slice index lists hold integers, got ${v}`);
      this.mode = "array";
      this.slice = Tensor.fromTypedArray(Int32Array.from(arr), [arr.length]);
    } else if (typeof input === "object") {
      const r = input as SliceRange;
      const part = (v: number | null | undefined, what: string): string => {
        if (v === undefined || v === null) return "";
        if (!Number.isInteger(v)) throw new IndexError(`slice ${what} must be an integer, got ${v}`);
        return String(v);
      };
      this.mode = "slice";
      this.slice = `${part(r.start, "start")}:${part(r.stop, "stop")}${r.step === undefined || r.step === null ? "" : `:${part(r.step, "step")}`}`;
    } else {
      throw new IndexError(`cannot make a slice from ${String(input)}`);
    }
  }

  /** A Slice as is; anything else wrapped (TL's Slice.unwrap). */
  static unwrap(input: SliceInput): Slice {
    return input instanceof Slice ? input : new Slice(input);
  }

  /** tensor[..., slice, ...] at `dim` (negative from the end). An int slice drops the dim; empty returns t. */
  apply(t: Tensor, dim = 0): Tensor {
    if (this.mode === "empty") return t;
    const d = dim < 0 ? dim + t.ndim : dim;
    if (d < 0 || d >= t.ndim)
      throw new IndexError(`cannot slice dim ${dim} of a tensor with ${t.ndim} dims (shape [${t.shape.join(", ")}])`);
    const idx: (string | number | Tensor)[] = Array.from({ length: d }, () => ":");
    idx.push(this.slice as string | number | Tensor);
    return t.get(...idx);
  }

  /** The indices this slice selects from a dim of `maxCtx` (needed for ranges and negative indices). */
  indices(maxCtx?: number): number[] {
    if (this.mode === "int") {
      const i = this.slice as number;
      if (i < 0 && maxCtx === undefined) throw new ModelError("Slice.indices: a negative index needs maxCtx");
      return [i < 0 ? i + maxCtx! : i];
    }
    if (this.mode === "array") {
      const vals = Array.from((this.slice as Tensor).contiguous().dataSync() as Int32Array);
      if (vals.some((v) => v < 0) && maxCtx === undefined)
        throw new ModelError("Slice.indices: negative indices need maxCtx");
      return vals.map((v) => (v < 0 ? v + maxCtx! : v));
    }
    if (maxCtx === undefined) throw new ModelError(`Slice.indices: a ${this.mode} slice needs maxCtx`);
    const { start, step, count } = resolveSlice(this.mode === "empty" ? ":" : (this.slice as string), maxCtx, 0);
    return Array.from({ length: count }, (_, k) => start + k * step);
  }

  /** TL's repr of the slice (`Slice(start, stop, step)`). */
  toString(): string {
    if (this.mode === "empty") return "Slice(:)";
    if (this.mode === "array")
      return `Slice([${Array.from((this.slice as Tensor).contiguous().dataSync()).join(", ")}])`;
    return `Slice(${String(this.slice)})`;
  }
}

/** Normalises a layer option: undefined, null and -1 mean n_layers (the unembed); checks the range. */
export function resolveLayer(layer: number | null | undefined, nLayers: number, what: string): number {
  const l = layer === undefined || layer === null || layer === -1 ? nLayers : layer;
  if (!Number.isInteger(l) || l < 0 || l > nLayers) {
    throw new IndexError(
      `${what}: layer ${layer} is out of range; use 0..${nLayers} (${nLayers}, -1 or nothing = the unembed)`,
    );
  }
  return l;
}

/** TL's model.accumulated_bias: the sum of b_O (and b_out) of blocks before `layer`, plus b_O of `layer` itself
 *  for an MLP input. [d_model] */
export function accumulatedBias(
  model: HookedTransformer,
  layer: number,
  mlpInput = false,
  includeMlpBiases = true,
): Tensor {
  let acc = zeros([model.cfg.dModel]);
  for (let i = 0; i < layer; i++) {
    const block = model.blocks[i]!;
    acc = acc.add(block.attn.b_O);
    if (includeMlpBiases && block.mlp) acc = acc.add(block.mlp.b_out);
  }
  if (mlpInput) {
    if (layer >= model.cfg.nLayers)
      throw new IndexError(`accumulatedBias: no attention bias beyond the final layer (layer ${layer})`);
    acc = acc.add(model.blocks[layer]!.attn.b_O);
  }
  return acc;
}

/** The model's final norm applied to every vector of x [..., d_model] with statistics recomputed from that vector
 *  (and ln_final's weight and bias for an unfolded LN/RMS). No hooks fire. */
export function applyFinalNorm(model: HookedTransformer, x: Tensor): Tensor {
  const ln = model.lnFinal;
  if (!ln) return x;
  const rms = ln.type === "RMS" || ln.type === "RMSPre";
  const centred = rms ? x : x.sub(x.mean(-1, true));
  const scale = centred.mul(centred).mean(-1, true).add(ln.eps).sqrt();
  let y = centred.div(scale);
  if (ln.w) y = y.mul(ln.w);
  if (ln.b) y = y.add(ln.b);
  return y;
}

/** (stack * directions).sum(-1), where per-example directions [batch, d_model] apply at every position of a
 *  [component, batch, pos, d_model] stack. */
export function attributeAlong(scaledStack: Tensor, directions: Tensor, hasBatchDim = true): Tensor {
  let dirs = directions;
  if (hasBatchDim && scaledStack.ndim === 4 && dirs.ndim === 2 && dirs.shape[0] === scaledStack.shape[1])
    dirs = dirs.unsqueeze(-2);
  try {
    return scaledStack.mul(dirs).sum(-1);
  } catch (e) {
    if (e instanceof ShapeError) {
      throw new ShapeError(
        `logit attribution: directions of shape ${fmtShape(dirs.shape)} do not fit a stack of shape ${fmtShape(scaledStack.shape)}; give one token per batch row [batch], or [batch, pos]`,
      );
    }
    throw e;
  }
}

/** `blocks.{layer}.hook_resid_mid`, which a parallel attention + MLP block does not have (TL creates none): its MLP
 *  reads resid_pre, so "the MLP's input" and "add resid_mid" have no resid_mid to use there. */
export function residMidName(model: HookedTransformer, layer: number): string {
  if (model.blocks[layer]?.parallel) {
    throw new ModelError(
      `blocks.${layer} runs attention and MLP in parallel (parallel_attn_mlp): it has no hook_resid_mid; its MLP reads hook_resid_pre`,
    );
  }
  return `blocks.${layer}.hook_resid_mid`;
}
