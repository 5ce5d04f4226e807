// The HF state dict as the family conversions consume it: each tensor is taken once (checked for shape and a float
// dtype) and dropped from the map, so the HF copy of a weight can be freed as soon as its TL form exists and a
// load never holds two float32 copies of the model. Layout helpers turn nn.Linear weights into TL's shapes.
// Pure (no Node built-ins).
import { LoadError } from "../../errors.js";
import { Tensor } from "../../tensor/index.js";

const fmt = (s: readonly number[]): string => `[${s.join(", ")}]`;

/** Where a conversion takes HF tensors from: a Map, or a reader that decodes each one on demand. */
export interface TensorSource {
  has(name: string): boolean;
  get(name: string): Tensor | undefined;
  delete(name: string): boolean;
  keys(): IterableIterator<string>;
  readonly size: number;
}

export class HfStateDict {
  private readonly left: TensorSource;

  /** `tensors` is consumed: taken entries are deleted from it. */
  constructor(
    tensors: TensorSource,
    readonly source: string,
  ) {
    this.left = tensors;
  }

  has(name: string): boolean {
    return this.left.has(name);
  }

  /** Takes `name` (float32 data of the given shape); a LoadError naming the key when missing or mis-shaped. */
  take(name: string, shape: readonly number[]): Float32Array {
    const t = this.left.get(name);
    if (!t) throw new LoadError(`${this.source}: missing tensor "${name}", expected shape ${fmt(shape)}`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new LoadError(
        `${this.source}: tensor "${name}" has shape ${fmt(t.shape)}, expected ${fmt(shape)} from config.json`,
      );
    }
    if (t.dtype !== "float32" && t.dtype !== "float64") {
      throw new LoadError(`${this.source}: tensor "${name}" has dtype ${t.dtype}, expected floating point weights`);
    }
    this.left.delete(name);
    return t.dtype === "float32" ? (t.dataSync() as Float32Array) : (t.to("float32").dataSync() as Float32Array);
  }

  /** Takes `name` when present, else null. */
  takeOptional(name: string, shape: readonly number[]): Float32Array | null {
    return this.left.has(name) ? this.take(name, shape) : null;
  }

  /** Drops buffers that are not parameters (causal masks, rotary tables) whose names end with one of `suffixes`. */
  dropBuffers(suffixes: readonly string[]): void {
    for (const name of [...this.left.keys()]) if (suffixes.some((s) => name.endsWith(s))) this.left.delete(name);
  }

  /** A LoadError listing the tensors no conversion step took (the file probably is not the model config.json describes). */
  refuseLeftovers(what: string): void {
    const extra = [...this.left.keys()];
    if (extra.length === 0) return;
    const shown = extra
      .slice(0, 8)
      .map((k) => `"${k}"`)
      .join(", ");
    throw new LoadError(
      `${this.source}: ${extra.length} unexpected tensor(s) for ${what}: ${shown}${extra.length > 8 ? ", ..." : ""} ` +
        `(does config.json describe this file?)`,
    );
  }
}

/** [rows, cols] row-major → [cols, rows], in cache-friendly tiles. */
export function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = src[r * cols + c]!;
    }
  }
  return out;
}

/** A weight matrix tensor (marked reusable so weight processing may edit it in place). */
export function matrix(data: Float32Array, shape: readonly number[]): Tensor {
  const t = Tensor.fromTypedArray(data, shape);
  t.storage.reusable = true;
  return t;
}

export const vector = (data: Float32Array, shape: readonly number[]): Tensor => Tensor.fromTypedArray(data, shape);
export const zerosF32 = (shape: readonly number[]): Tensor =>
  Tensor.fromTypedArray(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);

/** nn.Linear weight [heads·d_head, d_model] → TL's W_Q/W_K/W_V [heads, d_model, d_head] ("(i h) m -> i m h"). */
export function headsIn(w: Float32Array, heads: number, dHead: number, dModel: number): Tensor {
  return matrix(splitInHeads(w, heads, dHead, dModel), [heads, dModel, dHead]);
}

function splitInHeads(w: Float32Array, heads: number, dHead: number, dModel: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < heads; i++) {
    for (let h = 0; h < dHead; h++) {
      const src = (i * dHead + h) * dModel;
      for (let m = 0; m < dModel; m++) out[(i * dModel + m) * dHead + h] = w[src + m]!;
    }
  }
  return out;
}

/** nn.Linear weight [d_model, heads·d_head] → TL's W_O [heads, d_head, d_model] ("m (i h) -> i h m"). */
export function headsOut(w: Float32Array, heads: number, dHead: number, dModel: number): Tensor {
  return matrix(transpose2d(w, dModel, heads * dHead), [heads, dHead, dModel]);
}

/** nn.Linear weight [out, in] → TL's [in, out] (W_in, W_gate, W_out, W_U). */
export function linearT(w: Float32Array, out: number, inp: number): Tensor {
  return matrix(transpose2d(w, out, inp), [inp, out]);
}
