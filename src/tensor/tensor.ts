// The Tensor: a dtype, a shape and strides over a shared TensorStorage. Ops are synchronous and run on the
// selected backend; views (slices, permutes, expands) share storage, so in-place edits through them reach
// the original tensor, as in torch.
import { getBackend } from "../backend/index.js";
import { contiguousStrides, numel } from "../backend/strided.js";
import type { BinaryOp, ReduceOp, UnaryOp, View } from "../backend/types.js";
import { IndexError, ShapeError } from "../errors.js";
import { allocate, dtypeOfArray, isFloat, promote, promoteWithScalar, type DType, type TypedArray } from "./dtype.js";
import { broadcastShapes, broadcastStrides, fmtShape, normDim, normDims } from "./shape.js";
import { formatTensor } from "./format.js";
import { indexGet, indexSet, type Index } from "./indexing.js";
import { gatherAlong, scatterAlong, sortAlong, topkAlong } from "./sorting.js";
import { matmul, type MatmulOptions } from "./matmul.js";
import { flattenNested, type TensorLike } from "./convert.js";
import { backward, type BackwardOptions } from "./autograd/engine.js";
import { inPlaceBinary, retainGrad, setRequiresGrad, trackedSet } from "./autograd/api.js";
import { needsGrad } from "./autograd/mode.js";
import { bindTensorModule } from "./tensor-ref.js";
import { registerHook, type GradHook, type GradNode, type HookHandle } from "./autograd/tape.js";
import { trackBinary, trackUnary, trackWhere } from "./autograd/vjp-elementwise.js";
import { trackCumsum, trackReduce, trackSoftmax, trackTake } from "./autograd/vjp-reduce.js";
import {
  trackCopy,
  trackDiagonal,
  trackExpand,
  trackIndex,
  trackNarrow,
  trackPermute,
  trackReshape,
} from "./autograd/vjp-views.js";
import { trackGather, trackScatter } from "./autograd/vjp-index.js";

export type { DType, TypedArray, Index, TensorLike };

/** The buffer behind one or more tensors. `version` counts in-place writes (caches of packed weights key on it). */
export class TensorStorage {
  version = 0;
  /** Set on weights that are multiplied many times, so backends may cache a packed copy. */
  reusable = false;
  constructor(readonly data: TypedArray) {}
}

const FLOAT_RESULT: ReadonlySet<UnaryOp> = new Set<UnaryOp>([
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "tanh",
  "sigmoid",
  "silu",
  "gelu_new",
  "gelu",
  "sin",
  "cos",
  "reciprocal",
  "log1p",
  "expm1",
]);
const BOOL_RESULT_UNARY: ReadonlySet<UnaryOp> = new Set<UnaryOp>(["not", "isnan", "isinf"]);
const COMPARISON: ReadonlySet<BinaryOp> = new Set<BinaryOp>(["eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor"]);

/** An n-dimensional array of float32, float64, int32 or bool, with torch's methods (shapes, broadcasting, views that
 *  share storage, in-place `_` variants) and autograd (`requiresGrad`, `backward`). Kernels run on the current backend
 *  (native, wasm or js). Bad shapes or indices throw ShapeError / IndexError. */
export class Tensor {
  readonly storage: TensorStorage;
  readonly dtype: DType;
  readonly shape: number[];
  readonly strides: number[];
  readonly offset: number;
  /** Whether ops on this tensor are recorded for backward() (docs/gradients.md). */
  requiresGrad = false;
  /** The gradient backward() accumulated: leaves, and non-leaves after retainGrad(). */
  grad: Tensor | null = null;
  /** The recorded op that made this tensor; null for leaves. */
  gradFn: GradNode | null = null;

  /** Low level: a view of `storage`. Use `tensor()`, `zeros()`, ... to make tensors. */
  constructor(storage: TensorStorage, dtype: DType, shape: readonly number[], strides?: readonly number[], offset = 0) {
    this.storage = storage;
    this.dtype = dtype;
    this.shape = [...shape];
    this.strides = strides ? [...strides] : contiguousStrides(shape);
    this.offset = offset;
  }

  /** A contiguous tensor owning `data` (not copied). */
  static fromTypedArray(data: TypedArray, shape: readonly number[]): Tensor {
    if (numel(shape) !== data.length) {
      throw new ShapeError(
        `tensor: ${data.length} values do not fill shape ${fmtShape(shape)} (${numel(shape)} elements)`,
      );
    }
    return new Tensor(new TensorStorage(data), dtypeOfArray(data), shape);
  }

  /** An uninitialised (zero-filled) tensor of this shape and dtype. */
  static empty(shape: readonly number[], dtype: DType = "float32"): Tensor {
    return Tensor.fromTypedArray(allocate(dtype, numel(shape)), shape);
  }

  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return numel(this.shape);
  }
  /** The kernels' view of this tensor. */
  get view(): View {
    return { data: this.storage.data, offset: this.offset, shape: this.shape, strides: this.strides };
  }

  /** Whether the elements are laid out row-major with no gaps (views may not be). */
  isContiguous(): boolean {
    let expected = 1;
    for (let d = this.ndim - 1; d >= 0; d--) {
      if (this.shape[d] !== 1 && this.strides[d] !== expected) return false;
      expected *= this.shape[d]!;
    }
    return true;
  }

  /** A view with new shape/strides/offset over the same storage. */
  private as(shape: readonly number[], strides: readonly number[], offset = this.offset): Tensor {
    return new Tensor(this.storage, this.dtype, shape, strides, offset);
  }

  // ---------- autograd (src/tensor/autograd) ----------

  /** Accumulates d this / d leaf into every leaf's `.grad`; grad is required unless this has one element. */
  backward(grad?: Tensor, opts?: BackwardOptions): Promise<void> {
    return backward(this, grad, opts);
  }
  /** fn sees this tensor's gradient during backward; a tensor it returns replaces the gradient (torch's register_hook). */
  registerHook(fn: GradHook): HookHandle {
    return registerHook(this, fn);
  }
  /** Turns gradient tracking on (default) or off for this leaf tensor, in place; returns it. */
  requiresGrad_(flag = true): this {
    setRequiresGrad(this, flag);
    return this;
  }
  /** Keeps this non-leaf's gradient in `.grad` during backward. */
  retainGrad(): this {
    retainGrad(this);
    return this;
  }
  /** The same elements, outside any graph (shares storage). */
  detach(): Tensor {
    return new Tensor(this.storage, this.dtype, this.shape, this.strides, this.offset);
  }

  // ---------- reading ----------

  /** A contiguous typed array holding exactly this tensor's elements (the storage itself when possible). */
  dataSync(): TypedArray {
    const t = this.contiguous();
    const data = t.storage.data;
    if (t.offset === 0 && data.length === t.numel) return data;
    return data.subarray(t.offset, t.offset + t.numel);
  }

  /** torch.equal: same shape and the same elements (NaN never equals; dtypes may differ). */
  equal(o: Tensor): boolean {
    if (this.ndim !== o.ndim || this.shape.some((d, i) => d !== o.shape[i])) return false;
    const a = this.dataSync();
    const b = o.dataSync();
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** Always a copy: safe to keep and mutate. */
  async data(): Promise<TypedArray> {
    return this.dataSync().slice();
  }

  /** The value of a one-element tensor as a number; throws ShapeError for more elements. */
  item(): number {
    if (this.numel !== 1)
      throw new ShapeError(
        `item: a tensor with ${this.numel} elements (shape ${fmtShape(this.shape)}) cannot be converted to a number`,
      );
    return this.storage.data[this.offset]!;
  }

  /** Nested arrays (booleans for bool tensors). */
  toArray(): unknown {
    const flat = this.dataSync();
    const isBool = this.dtype === "bool";
    const build = (dim: number, base: number): unknown => {
      if (dim === this.ndim) return isBool ? flat[base] !== 0 : flat[base];
      const inner = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, base + i * inner));
    };
    return build(0, 0);
  }

  /** A readable summary: shape, dtype and (for small tensors) the values. */
  toString(): string {
    return formatTensor(this);
  }

  // ---------- copies and casts ----------

  /** A copy with its own contiguous storage (differentiable). */
  clone(): Tensor {
    const out = Tensor.empty(this.shape, this.dtype);
    getBackend().copy(this.view, out.view);
    return needsGrad(this) ? trackCopy("clone", this, out) : out;
  }

  /** This tensor if contiguous, else a contiguous copy. */
  contiguous(): Tensor {
    return this.isContiguous() ? this : this.clone();
  }

  /** This tensor in another dtype (a copy unless it already has it). */
  to(dtype: DType): Tensor {
    if (dtype === this.dtype) return this;
    const out = Tensor.empty(this.shape, dtype);
    getBackend().copy(this.view, out.view);
    return needsGrad(this) ? trackCopy("to", this, out) : out;
  }

  /** `to("float32")`. */
  float(): Tensor {
    return this.to("float32");
  }
  /** `to("float64")`. */
  double(): Tensor {
    return this.to("float64");
  }
  /** `to("int32")` (truncates toward zero). */
  int(): Tensor {
    return this.to("int32");
  }
  /** `to("bool")` (nonzero is true). */
  bool(): Tensor {
    return this.to("bool");
  }

  // ---------- views ----------

  /** The same elements in a new shape (one dimension may be -1); a view when the strides allow it. ShapeError when the sizes do not match. */
  reshape(...shape: number[] | [number[]]): Tensor {
    const target = this.inferShape(flatArgs(shape), "reshape");
    const strides = viewStrides(this.shape, this.strides, target);
    const out = strides ? this.as(target, strides) : this.clone().as(target, contiguousStrides(target), 0);
    return needsGrad(this) ? trackReshape("reshape", this, out) : out;
  }

  /** Like reshape, but never copies: throws if the strides do not allow a view (as torch.view). */
  viewAs(...shape: number[] | [number[]]): Tensor {
    const target = this.inferShape(flatArgs(shape), "view");
    const strides = viewStrides(this.shape, this.strides, target);
    if (!strides)
      throw new ShapeError(
        `view: shape ${fmtShape(target)} is not compatible with the strides of this ${fmtShape(this.shape)} tensor; use reshape`,
      );
    const out = this.as(target, strides);
    return needsGrad(this) ? trackReshape("view", this, out) : out;
  }

  private inferShape(shape: number[], op: string): number[] {
    const unknown = shape.filter((s) => s === -1).length;
    if (unknown > 1) throw new ShapeError(`${op}: only one dim can be -1, got ${fmtShape(shape)}`);
    for (const s of shape)
      if (!Number.isInteger(s) || s < -1) throw new ShapeError(`${op}: invalid size ${s} in ${fmtShape(shape)}`);
    const known = numel(shape.filter((s) => s !== -1));
    const out = shape.map((s) => (s === -1 ? (known === 0 ? 0 : this.numel / known) : s));
    if (numel(out) !== this.numel || !out.every(Number.isInteger)) {
      throw new ShapeError(
        `${op}: shape ${fmtShape(shape)} is invalid for a tensor of shape ${fmtShape(this.shape)} (${this.numel} elements)`,
      );
    }
    return out;
  }

  /** Dimensions start..end (default all) merged into one, as torch.flatten. */
  flatten(start = 0, end = -1): Tensor {
    if (this.ndim === 0) return this.reshape(1);
    const s = normDim(start, this.ndim, "flatten");
    const e = normDim(end, this.ndim, "flatten");
    if (e < s) throw new IndexError(`flatten: end dim ${end} comes before start dim ${start}`);
    return this.reshape(...this.shape.slice(0, s), numel(this.shape.slice(s, e + 1)), ...this.shape.slice(e + 1));
  }

  /** A view with the dimensions in the given order. */
  permute(...dims: number[] | [number[]]): Tensor {
    const order = flatArgs(dims).map((d) => normDim(d, this.ndim, "permute"));
    if (order.length !== this.ndim || new Set(order).size !== order.length) {
      throw new ShapeError(
        `permute: dims (${flatArgs(dims).join(", ")}) are not a permutation of the ${this.ndim} dims of shape ${fmtShape(this.shape)}`,
      );
    }
    const out = this.as(
      order.map((d) => this.shape[d]!),
      order.map((d) => this.strides[d]!),
    );
    return needsGrad(this) ? trackPermute(this, out, order) : out;
  }

  /** A view with two dimensions swapped. */
  transpose(a: number, b: number): Tensor {
    const order = [...this.shape.keys()];
    const da = normDim(a, this.ndim, "transpose");
    const db = normDim(b, this.ndim, "transpose");
    [order[da], order[db]] = [order[db]!, order[da]!];
    return this.permute(order);
  }

  /** Transpose of the last two dims. */
  get mT(): Tensor {
    return this.transpose(-2, -1);
  }

  /** A view with a size-1 dimension inserted at dim. */
  unsqueeze(dim: number): Tensor {
    const d = normDim(dim, this.ndim + 1, "unsqueeze");
    const shape = [...this.shape];
    const strides = [...this.strides];
    shape.splice(d, 0, 1);
    strides.splice(d, 0, d < this.ndim ? this.strides[d]! * this.shape[d]! : 1);
    const out = this.as(shape, strides);
    return needsGrad(this) ? trackReshape("unsqueeze", this, out) : out;
  }

  /** A view without size-1 dimensions (only `dim` when given). */
  squeeze(dim?: number | number[]): Tensor {
    const drop =
      dim === undefined
        ? this.shape.map((s, i) => (s === 1 ? i : -1)).filter((i) => i >= 0)
        : normDims(dim, this.ndim, "squeeze").filter((d) => this.shape[d] === 1);
    const out = this.as(
      this.shape.filter((_, i) => !drop.includes(i)),
      this.strides.filter((_, i) => !drop.includes(i)),
    );
    return needsGrad(this) ? trackReshape("squeeze", this, out) : out;
  }

  /** Broadcast view to a larger shape; -1 keeps a dim. */
  expand(...shape: number[] | [number[]]): Tensor {
    const target = flatArgs(shape);
    const lead = target.length - this.ndim;
    const resolved = target.map((s, i) => (s === -1 && i >= lead ? this.shape[i - lead]! : s));
    const out = this.as(resolved, broadcastStrides(this.shape, this.strides, resolved, "expand"));
    return needsGrad(this) ? trackExpand(this, out) : out;
  }

  /** A view broadcast to shape (stride 0 on the expanded dimensions); ShapeError when it cannot be. */
  broadcastTo(shape: readonly number[]): Tensor {
    return this.expand([...shape]);
  }

  /** The elements start..start+length-1 of one dim, as a view. */
  narrow(dim: number, start: number, length: number): Tensor {
    const d = normDim(dim, this.ndim, "narrow");
    const size = this.shape[d]!;
    const s = start < 0 ? start + size : start;
    if (s < 0 || length < 0 || s + length > size)
      throw new IndexError(`narrow: [${start}, ${start}+${length}) is out of range for dim ${dim} with size ${size}`);
    const shape = [...this.shape];
    shape[d] = length;
    const out = this.as(shape, this.strides, this.offset + s * this.strides[d]!);
    return needsGrad(this) ? trackNarrow(this, out, d, s, length) : out;
  }

  /** diagonal(offset, dim1, dim2): a view with the two dims replaced by a last dim holding the diagonal. */
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor {
    const d1 = normDim(dim1, this.ndim, "diagonal");
    const d2 = normDim(dim2, this.ndim, "diagonal");
    if (d1 === d2) throw new IndexError(`diagonal: dim1 and dim2 are the same dim (${dim1})`);
    const n1 = this.shape[d1]!;
    const n2 = this.shape[d2]!;
    const len = Math.max(0, offset >= 0 ? Math.min(n1, n2 - offset) : Math.min(n1 + offset, n2));
    const start =
      len === 0 ? this.offset : this.offset + (offset >= 0 ? offset * this.strides[d2]! : -offset * this.strides[d1]!);
    const keep = [...this.shape.keys()].filter((d) => d !== d1 && d !== d2);
    const out = this.as(
      [...keep.map((d) => this.shape[d]!), len],
      [...keep.map((d) => this.strides[d]!), this.strides[d1]! + this.strides[d2]!],
      start,
    );
    return needsGrad(this) ? trackDiagonal(this, out, offset, d1, d2) : out;
  }

  // ---------- indexing ----------

  /** torch-style indexing: `t.get(":", 0, "1:3", null, idxTensor)`; basic indices give views. */
  get(...idx: Index[]): Tensor {
    const out = indexGet(this, idx);
    return needsGrad(this) ? trackIndex(this, out, idx) : out;
  }

  /** In-place assignment with broadcasting: `t.set([":", 2], 0)` is `t[:, 2] = 0`. */
  set(idx: Index[], value: TensorLike): this {
    if (needsGrad(this, value)) trackedSet(this, idx, value);
    else indexSet(this, idx, value);
    return this;
  }

  /** Copies `src` (broadcast) into this tensor in place. */
  copy_(src: TensorLike): this {
    return this.set([], src);
  }

  /** Marks an in-place write, for caches keyed on the storage. */
  touch(): void {
    this.storage.version++;
  }

  /** torch.gather: values along dim at the positions of an int32 index tensor (its shape is the result's). */
  gather(dim: number, index: Tensor): Tensor {
    const out = gatherAlong(this, dim, index);
    return needsGrad(this) ? trackGather(this, out, normDim(dim, this.ndim, "gather"), index) : out;
  }
  /** Out of place: a copy of this tensor with src's values written at `index` along dim (torch.scatter). */
  scatter(dim: number, index: Tensor, src: TensorLike, reduce?: "add"): Tensor {
    const out = scatterAlong(this, dim, index, src, reduce);
    if (!needsGrad(this, src)) return out;
    return trackScatter(
      this,
      asTensor(src, this.dtype),
      out,
      normDim(dim, this.ndim, "scatter"),
      index,
      reduce === "add",
    );
  }

  /** A copy with `value` where the boolean mask (broadcast) is true. */
  maskedFill(mask: Tensor, value: number): Tensor {
    return where(mask, value, this);
  }

  // ---------- elementwise ----------

  private unary(op: UnaryOp): Tensor {
    let x: Tensor = this;
    let outType: DType = this.dtype;
    if (BOOL_RESULT_UNARY.has(op)) outType = "bool";
    else if (FLOAT_RESULT.has(op) && !isFloat(this.dtype)) {
      x = this.to("float32");
      outType = "float32";
    } else if (this.dtype === "bool") {
      x = this.to("int32");
      outType = "int32";
    }
    const out = Tensor.empty(this.shape, outType);
    getBackend().unary(op, x.view, out.storage.data);
    return needsGrad(this) ? trackUnary(op, this, out) : out;
  }

  /** Elementwise −x. */
  neg(): Tensor {
    return this.unary("neg");
  }
  /** Elementwise eˣ. */
  exp(): Tensor {
    return this.unary("exp");
  }
  /** Elementwise natural logarithm. */
  log(): Tensor {
    return this.unary("log");
  }
  /** Elementwise log(1 + x), accurate near 0. */
  log1p(): Tensor {
    return this.unary("log1p");
  }
  /** Elementwise eˣ − 1, accurate near 0. */
  expm1(): Tensor {
    return this.unary("expm1");
  }
  /** Elementwise square root. */
  sqrt(): Tensor {
    return this.unary("sqrt");
  }
  /** Elementwise 1 / √x. */
  rsqrt(): Tensor {
    return this.unary("rsqrt");
  }
  /** Elementwise tanh. */
  tanh(): Tensor {
    return this.unary("tanh");
  }
  /** Elementwise |x|. */
  abs(): Tensor {
    return this.unary("abs");
  }
  /** Elementwise sign: −1, 0 or 1. */
  sign(): Tensor {
    return this.unary("sign");
  }
  /** Elementwise max(x, 0). */
  relu(): Tensor {
    return this.unary("relu");
  }
  /** Elementwise 1 / (1 + e⁻ˣ). */
  sigmoid(): Tensor {
    return this.unary("sigmoid");
  }
  /** Elementwise x · sigmoid(x). */
  silu(): Tensor {
    return this.unary("silu");
  }
  /** GPT-2's tanh-approximated GELU. */
  geluNew(): Tensor {
    return this.unary("gelu_new");
  }
  /** Elementwise GELU (erf form, torch's default). */
  gelu(): Tensor {
    return this.unary("gelu");
  }
  /** Elementwise sine. */
  sin(): Tensor {
    return this.unary("sin");
  }
  /** Elementwise cosine. */
  cos(): Tensor {
    return this.unary("cos");
  }
  /** Elementwise floor. */
  floor(): Tensor {
    return this.unary("floor");
  }
  /** Elementwise ceiling. */
  ceil(): Tensor {
    return this.unary("ceil");
  }
  /** Elementwise rounding to the nearest integer, halves to even (torch.round). */
  round(): Tensor {
    return this.unary("round");
  }
  /** Elementwise x². */
  square(): Tensor {
    return this.unary("square");
  }
  /** Elementwise 1 / x. */
  reciprocal(): Tensor {
    return this.unary("reciprocal");
  }
  /** Elementwise logical not, as bool. */
  logicalNot(): Tensor {
    return this.unary("not");
  }
  /** Elementwise: is the value NaN (bool). */
  isnan(): Tensor {
    return this.unary("isnan");
  }
  /** Elementwise: is the value ±∞ (bool). */
  isinf(): Tensor {
    return this.unary("isinf");
  }

  /** Elementwise binary op with broadcasting; numbers are scalars. */
  binary(op: BinaryOp, other: TensorLike): Tensor {
    const o = asTensor(other, this.dtype);
    const outShape = broadcastShapes(op, this.shape, o.shape);
    let compute = typeof other === "number" ? promoteWithScalar(this.dtype, other) : promote(this.dtype, o.dtype);
    if ((op === "div" || op === "atan2") && !isFloat(compute)) compute = "float32";
    if (compute === "bool" && !COMPARISON.has(op)) compute = "int32";
    const a = this.to(compute);
    const b = o.to(compute);
    const out = Tensor.empty(outShape, COMPARISON.has(op) ? "bool" : compute);
    const av: View = {
      data: a.storage.data,
      offset: a.offset,
      shape: outShape,
      strides: broadcastStrides(a.shape, a.strides, outShape, op),
    };
    const bv: View = {
      data: b.storage.data,
      offset: b.offset,
      shape: outShape,
      strides: broadcastStrides(b.shape, b.strides, outShape, op),
    };
    getBackend().binary(op, av, bv, out.storage.data);
    return needsGrad(this, o) ? trackBinary(op, this, o, out) : out;
  }

  /** In place (torch's add_ etc.): `other` broadcasts to this tensor's shape; the result keeps this dtype. */
  private binaryInPlace(op: BinaryOp, other: TensorLike): this {
    const o = asTensor(other, this.dtype);
    const shape = broadcastShapes(op, this.shape, o.shape);
    if (needsGrad(this, o)) {
      inPlaceBinary(this, op, o);
      return this;
    }
    if (shape.length !== this.ndim || shape.some((s, i) => s !== this.shape[i])) {
      throw new ShapeError(
        `${op}_: shape ${fmtShape(o.shape)} cannot be broadcast to the in-place target ${fmtShape(this.shape)}`,
      );
    }
    if (this.isContiguous() && (op === "add" || op === "sub" || op === "mul" || op === "div") && isFloat(this.dtype)) {
      const b = o.to(this.dtype);
      const bv: View = {
        data: b.storage.data,
        offset: b.offset,
        shape,
        strides: broadcastStrides(b.shape, b.strides, shape, op),
      };
      // each output element depends only on the inputs at its own index, so writing over `this` is safe
      getBackend().binary(op, this.view, bv, this.storage.data.subarray(this.offset, this.offset + this.numel));
    } else {
      this.set([], this.binary(op, o));
    }
    this.touch();
    return this;
  }

  /** In place: this += other (broadcast into this tensor's shape); returns this. */
  add_(o: TensorLike): this {
    return this.binaryInPlace("add", o);
  }
  /** In place: this −= other (broadcast into this tensor's shape); returns this. */
  sub_(o: TensorLike): this {
    return this.binaryInPlace("sub", o);
  }
  /** In place: this *= other (broadcast into this tensor's shape); returns this. */
  mul_(o: TensorLike): this {
    return this.binaryInPlace("mul", o);
  }
  /** In place: this /= other (broadcast into this tensor's shape); returns this. */
  div_(o: TensorLike): this {
    return this.binaryInPlace("div", o);
  }

  /** this + other, broadcast (torch's type promotion); ShapeError when the shapes do not broadcast. */
  add(o: TensorLike): Tensor {
    return this.binary("add", o);
  }
  /** this − other, broadcast. */
  sub(o: TensorLike): Tensor {
    return this.binary("sub", o);
  }
  /** this · other elementwise, broadcast. */
  mul(o: TensorLike): Tensor {
    return this.binary("mul", o);
  }
  /** this / other elementwise (true division), broadcast. */
  div(o: TensorLike): Tensor {
    return this.binary("div", o);
  }
  /** this ** other elementwise, broadcast. */
  pow(o: TensorLike): Tensor {
    return this.binary("pow", o);
  }
  /** Elementwise maximum of this and other, broadcast. */
  maximum(o: TensorLike): Tensor {
    return this.binary("maximum", o);
  }
  /** Elementwise minimum of this and other, broadcast. */
  minimum(o: TensorLike): Tensor {
    return this.binary("minimum", o);
  }
  /** Elementwise remainder with the divisor's sign (torch.remainder, Python's %). */
  remainder(o: TensorLike): Tensor {
    return this.binary("remainder", o);
  }
  /** Elementwise floor(this / other). */
  floorDivide(o: TensorLike): Tensor {
    return this.binary("floordiv", o);
  }
  /** Elementwise this == other, as bool. */
  eq(o: TensorLike): Tensor {
    return this.binary("eq", o);
  }
  /** Elementwise this != other, as bool. */
  ne(o: TensorLike): Tensor {
    return this.binary("ne", o);
  }
  /** Elementwise this < other, as bool. */
  lt(o: TensorLike): Tensor {
    return this.binary("lt", o);
  }
  /** Elementwise this <= other, as bool. */
  le(o: TensorLike): Tensor {
    return this.binary("le", o);
  }
  /** Elementwise this > other, as bool. */
  gt(o: TensorLike): Tensor {
    return this.binary("gt", o);
  }
  /** Elementwise this >= other, as bool. */
  ge(o: TensorLike): Tensor {
    return this.binary("ge", o);
  }
  /** Elementwise logical and, as bool. */
  logicalAnd(o: TensorLike): Tensor {
    return this.binary("and", o);
  }
  /** Elementwise logical or, as bool. */
  logicalOr(o: TensorLike): Tensor {
    return this.binary("or", o);
  }
  /** Elementwise logical xor, as bool. */
  logicalXor(o: TensorLike): Tensor {
    return this.binary("xor", o);
  }

  /** Elementwise clamp into [min, max] (either may be omitted). */
  clamp(min?: number | null, max?: number | null): Tensor {
    let out: Tensor = this;
    if (min !== undefined && min !== null) out = out.maximum(min);
    if (max !== undefined && max !== null) out = out.minimum(max);
    return out === this ? this.clone() : out;
  }

  // ---------- reductions ----------

  /** Moves the reduced dims last (a view) and reduces them with a kernel. */
  private reduceOp(op: ReduceOp, dims: number | number[] | undefined, keepdim: boolean, outType: DType): Tensor {
    if (this.ndim === 0) {
      // a scalar: dim 0 / -1 name the scalar itself (torch); reduce it as a 1-element vector
      normDims(dims, 0, op);
      return this.reshape(1).reduceOp(op, 0, false, outType);
    }
    const red = normDims(dims, this.ndim, op);
    const keep = [...this.shape.keys()].filter((d) => !red.includes(d));
    const reducedCount = numel(red.map((d) => this.shape[d]!));
    if (reducedCount === 0 && op !== "sum" && op !== "prod" && op !== "any" && op !== "all") {
      throw new ShapeError(
        `${op}: cannot reduce over an empty dim (shape ${fmtShape(this.shape)}, dims ${red.join(", ")})`,
      );
    }
    const order = [...keep, ...red];
    const v: View = {
      data: this.storage.data,
      offset: this.offset,
      shape: order.map((d) => this.shape[d]!),
      strides: order.map((d) => this.strides[d]!),
    };
    const outShape = keepdim ? this.shape.map((s, d) => (red.includes(d) ? 1 : s)) : keep.map((d) => this.shape[d]!);
    const out = Tensor.empty(outShape, outType);
    getBackend().reduce(op, v, red.length, out.storage.data);
    return needsGrad(this) ? trackReduce(op, this, out, red, keepdim) : out;
  }

  private accType(): DType {
    return isFloat(this.dtype) ? this.dtype : "int32";
  }
  private floatType(): DType {
    return isFloat(this.dtype) ? this.dtype : "float32";
  }
  private reducedCount(dims: number | number[] | undefined): number {
    if (this.ndim === 0) return 1;
    return numel(normDims(dims, this.ndim, "mean").map((d) => this.shape[d]!));
  }

  /** Sum over dims (default all), keepdim as torch. */
  sum(dim?: number | number[], keepdim = false): Tensor {
    return this.reduceOp("sum", dim, keepdim, this.accType());
  }
  /** Product over dims (default all). */
  prod(dim?: number | number[], keepdim = false): Tensor {
    return this.reduceOp("prod", dim, keepdim, this.accType());
  }
  /** Mean over dims (default all); float result. */
  mean(dim?: number | number[], keepdim = false): Tensor {
    return this.to(this.floatType()).sum(dim, keepdim).div(this.reducedCount(dim));
  }
  /** Values of the max over `dim` (all dims when omitted); argmax gives the indices. */
  max(dim?: number, keepdim = false): Tensor {
    return this.reduceOp("max", dim, keepdim, this.dtype);
  }
  /** Minimum over all elements, or `{ values, indices }` along one dim (torch.min). */
  min(dim?: number, keepdim = false): Tensor {
    return this.reduceOp("min", dim, keepdim, this.dtype);
  }
  /** Index of the max along dim; without dim, the index into the flattened tensor. */
  argmax(dim?: number, keepdim = false): Tensor {
    return dim === undefined
      ? this.reshape(-1).reduceOp("argmax", 0, false, "int32")
      : this.reduceOp("argmax", dim, keepdim, "int32");
  }
  /** Index of the minimum (flat, or along dim). */
  argmin(dim?: number, keepdim = false): Tensor {
    return dim === undefined
      ? this.reshape(-1).reduceOp("argmin", 0, false, "int32")
      : this.reduceOp("argmin", dim, keepdim, "int32");
  }
  /** Whether any element is true / nonzero (over dims, default all). */
  any(dim?: number | number[], keepdim = false): Tensor {
    return this.reduceOp("any", dim, keepdim, "bool");
  }
  /** Whether every element is true / nonzero (over dims, default all). */
  all(dim?: number | number[], keepdim = false): Tensor {
    return this.reduceOp("all", dim, keepdim, "bool");
  }

  /** Variance with Bessel's correction by default (torch: correction = 1). */
  var(dim?: number | number[], keepdim = false, correction = 1): Tensor {
    const x = this.to(this.floatType());
    const centered = x.sub(x.mean(dim, true));
    const n = this.reducedCount(dim);
    return centered
      .mul(centered)
      .sum(dim, keepdim)
      .div(Math.max(0, n - correction));
  }
  /** Standard deviation over dims (default all), with Bessel's correction unless correction 0. */
  std(dim?: number | number[], keepdim = false, correction = 1): Tensor {
    return this.var(dim, keepdim, correction).sqrt();
  }

  /** p-norm over dims (default: 2-norm of everything). */
  norm(dim?: number | number[], keepdim = false, p = 2): Tensor {
    const a = this.to(this.floatType()).abs();
    if (p === Infinity) return a.amax(dim, keepdim);
    if (p === 1) return a.sum(dim, keepdim);
    if (p === 2) return a.mul(a).sum(dim, keepdim).sqrt();
    return a
      .pow(p)
      .sum(dim, keepdim)
      .pow(1 / p);
  }

  /** max over several dims at once. */
  amax(dim?: number | number[], keepdim = false): Tensor {
    return this.reduceOp("max", dim, keepdim, this.dtype);
  }
  /** Minimum over dims (values only, torch.amin). */
  amin(dim?: number | number[], keepdim = false): Tensor {
    return this.reduceOp("min", dim, keepdim, this.dtype);
  }

  /** log Σ exp over dims, computed stably. */
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    const x = this.to(this.floatType());
    if (this.reducedCount(dim) === 0) return x.sum(dim, keepdim).add(-Infinity); // log(0), as torch
    const m = x.amax(dim, true).detach(); // the shift cancels out: no gradient through it
    // an all -inf slice has max -inf: shift by 0 there so the result is -inf, not NaN
    const shift = where(m.isinf(), 0, m);
    const out = x.sub(shift).exp().sum(dim, true).log().add(shift);
    return keepdim ? out : out.squeeze(normDims(dim, this.ndim, "logsumexp"));
  }

  /** Cumulative sum along dim. */
  cumsum(dim: number): Tensor {
    const d = normDim(dim, this.ndim, "cumsum");
    if (this.ndim === 0) return this.to(this.accType()).clone();
    // a fresh copy: accumulate in place without touching this tensor's storage
    const x = this.to(this.accType()).movedim(d, -1).clone();
    const data = x.storage.data;
    const n = this.shape[d]!;
    if (n > 0)
      for (let base = 0; base < data.length; base += n)
        for (let i = 1; i < n; i++) data[base + i]! += data[base + i - 1]!;
    const out = x.movedim(-1, d);
    return needsGrad(this) ? trackCumsum(this, out, d) : out;
  }

  /** A view with dimension `source` moved to position `destination`. */
  movedim(from: number, to: number): Tensor {
    const f = normDim(from, this.ndim, "movedim");
    const t = normDim(to, this.ndim, "movedim");
    const order = [...this.shape.keys()].filter((d) => d !== f);
    order.splice(t, 0, f);
    return this.permute(order);
  }

  // ---------- softmax ----------

  private softmaxImpl(dim: number, log: boolean): Tensor {
    const d = normDim(dim, this.ndim, log ? "logSoftmax" : "softmax");
    if (this.ndim === 0) return this.reshape(1).softmaxImpl(0, log).reshape([]);
    const x = this.to(this.floatType()).movedim(d, -1).contiguous();
    const cols = x.shape[x.ndim - 1]!;
    const rows = cols === 0 ? 0 : x.numel / cols;
    const out = Tensor.empty(x.shape, x.dtype);
    getBackend().softmax(x.dataSync() as Float32Array, rows, cols, out.storage.data as Float32Array, { log });
    const y = out.movedim(-1, d);
    return needsGrad(this) ? trackSoftmax(this, y, d, log) : y;
  }

  /** Softmax along dim (default the last). */
  softmax(dim: number): Tensor {
    return this.softmaxImpl(dim, false);
  }
  /** Log-softmax along dim (default the last), computed stably. */
  logSoftmax(dim: number): Tensor {
    return this.softmaxImpl(dim, true);
  }

  // ---------- linear algebra, sorting ----------

  /** Matrix product as torch.matmul (vectors, batched broadcast); `{ precision: "bf16" }` rounds the operands of a weight product to bfloat16 (docs/performance.md). ShapeError on mismatched inner sizes. */
  matmul(other: Tensor, opts?: MatmulOptions): Tensor {
    return matmul(this, other, opts);
  }
  /** Batched matmul of two 3-D tensors (no broadcasting, as torch.bmm). */
  bmm(other: Tensor): Tensor {
    if (this.ndim !== 3 || other.ndim !== 3 || this.shape[0] !== other.shape[0] || this.shape[2] !== other.shape[1]) {
      throw new ShapeError(
        `bmm: expected [b, n, k] and [b, k, m] with equal b and k, got ${fmtShape(this.shape)} and ${fmtShape(other.shape)}`,
      );
    }
    return matmul(this, other);
  }

  /** The k largest (or smallest) values along dim and their indices, sorted. */
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    const d = normDim(dim, this.ndim, "topk");
    const size = this.shape[d] ?? 1;
    if (!Number.isInteger(k) || k < 0 || k > size)
      throw new IndexError(`topk: k = ${k} is out of range for dim ${dim} with size ${size}`);
    let found = this.ndim > 0 && k * 8 < size ? topkAlong(this, d, k, largest) : null;
    if (!found) {
      const { values, indices } = sortAlong(this, d, largest);
      found = { values: values.narrow(d, 0, k).contiguous(), indices: indices.narrow(d, 0, k).contiguous() };
    }
    return needsGrad(this)
      ? { values: trackTake("topk", this, found.values, d, found.indices), indices: found.indices }
      : found;
  }
  /** Values sorted along dim and their original indices (stable). */
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const d = normDim(dim, this.ndim, "sort");
    const { values, indices } = sortAlong(this, d, descending);
    return { values: needsGrad(this) ? trackTake("sort", this, values, d, indices) : values, indices };
  }
  /** The indices that sort along dim (stable). */
  argsort(dim = -1, descending = false): Tensor {
    return this.sort(dim, descending).indices;
  }

  // ---------- joining ----------

  /** Views of consecutive pieces along dim: of size n each (the last may be smaller), or of the given sizes. */
  split(sizes: number | number[], dim = 0): Tensor[] {
    const d = normDim(dim, this.ndim, "split");
    const total = this.shape[d]!;
    const list = typeof sizes === "number" ? splitSizes(total, sizes) : sizes;
    if (list.reduce((a, b) => a + b, 0) !== total)
      throw new ShapeError(`split: sizes [${list.join(", ")}] do not add up to ${total}, the size of dim ${dim}`);
    let start = 0;
    return list.map((len) => {
      const t = this.narrow(d, start, len);
      start += len;
      return t;
    });
  }

  /** `n` views of (nearly) equal size along dim. */
  chunk(chunks: number, dim = 0): Tensor[] {
    const size = this.shape[normDim(dim, this.ndim, "chunk")]!;
    if (!Number.isInteger(chunks) || chunks < 1)
      throw new ShapeError(`chunk: chunks must be a positive integer, got ${chunks}`);
    return this.split(Math.max(1, Math.ceil(size / chunks)), dim);
  }

  /** The slices along dim, with that dimension removed. */
  unbind(dim = 0): Tensor[] {
    const d = normDim(dim, this.ndim, "unbind");
    return Array.from({ length: this.shape[d]! }, (_, i) => this.get(...Array<Index>(d).fill(":"), i));
  }
}

function splitSizes(total: number, size: number): number[] {
  if (!Number.isInteger(size) || size < 1)
    throw new ShapeError(`split: split size must be a positive integer, got ${size}`);
  const out: number[] = [];
  for (let s = 0; s < total; s += size) out.push(Math.min(size, total - s));
  return out.length ? out : [0];
}

function flatArgs(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? [...(args[0] as number[])] : (args as number[]);
}

/** Strides that show (shape, strides) as `target` without copying, or null (torch's view rule: each run of
 *  source dims that is contiguous among itself must map onto a run of target dims). */
function viewStrides(shape: readonly number[], strides: readonly number[], target: readonly number[]): number[] | null {
  if (numel(shape) === 0) return contiguousStrides(target);
  const oldShape = shape.length ? shape : [1];
  const oldStrides = shape.length ? strides : [1];
  const out = new Array<number>(target.length);
  let viewD = target.length - 1;
  let chunkBaseStride = oldStrides[oldStrides.length - 1]!;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d]!;
    const chunkEnds = d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBaseStride);
    if (!chunkEnds) continue;
    while (viewD >= 0 && (viewNumel < tensorNumel || target[viewD] === 1)) {
      out[viewD] = viewNumel * chunkBaseStride;
      viewNumel *= target[viewD]!;
      viewD--;
    }
    if (viewNumel !== tensorNumel) return null;
    if (d > 0) {
      chunkBaseStride = oldStrides[d - 1]!;
      tensorNumel = 1;
      viewNumel = 1;
    }
  }
  return viewD === -1 ? out : null;
}

/** A TensorLike as a tensor; numbers become 0-d tensors of `like` (or int32/float32 per promotion). */
export function asTensor(x: TensorLike, like: DType = "float32"): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === "number") {
    const dtype = promoteWithScalar(like, x);
    const data = allocate(dtype, 1);
    data[0] = x;
    return Tensor.fromTypedArray(data, []);
  }
  const { data, shape } = flattenNested(x);
  return Tensor.fromTypedArray(data, shape);
}

/** where(cond, a, b): a where cond is true, else b; broadcasting all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const ta = asTensor(a, b instanceof Tensor ? b.dtype : "float32");
  const tb = asTensor(b, ta.dtype);
  const dtype = promote(ta.dtype, tb.dtype);
  const shape = broadcastShapes("where", cond.shape, ta.shape, tb.shape);
  const out = tb.to(dtype).expand(shape).clone();
  const keep = (cond.dtype === "bool" ? cond : cond.ne(0)).expand(shape).dataSync();
  const from = ta.to(dtype).expand(shape).dataSync();
  const od = out.storage.data;
  for (let i = 0; i < od.length; i++) if (keep[i]) od[i] = from[i]!;
  return needsGrad(ta, tb) ? trackWhere(cond, ta, tb, out) : out;
}

/** What tensor-ref.ts late-binds for the modules this one imports (so they need not import it back). */
export interface TensorModule {
  Tensor: typeof Tensor;
  asTensor: typeof asTensor;
  where: typeof where;
}
bindTensorModule({ Tensor, asTensor, where });
