// Seeded random numbers: xoshiro128** seeded through splitmix32; normals by Box–Muller.
// Same seed → same stream on every platform and backend.
import { Tensor } from "./tensor.js";
import { allocate, type DType } from "./dtype.js";
import { numel } from "../backend/strided.js";
import { ShapeError } from "../errors.js";

/** A seeded random generator (torch.Generator): uniform, normal and integer draws reproducible from its seed;
 *  `manualSeed` reseeds the default one that randn / rand / randint use. */
export class Generator {
  private s = new Uint32Array(4);
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Restarts the generator's stream from `seed` (an integer). */
  seed(seed: number): void {
    let x = (Math.floor(seed) ^ Math.floor(seed / 2 ** 32)) >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    this.spareNormal = null;
  }

  /** Next 32 random bits. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    return ((this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6)) / 9007199254740992;
  }

  /** One draw from N(0, 1). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Integer in [low, high). */
  int(low: number, high: number): number {
    return low + Math.floor(this.uniform() * (high - low));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export const defaultGenerator = new Generator(0);

/** Seeds the default generator (torch.manual_seed). */
export function manualSeed(seed: number): void {
  defaultGenerator.seed(seed);
}

function fill(shape: readonly number[], dtype: DType, next: () => number): Tensor {
  const data = allocate(dtype, numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = next();
  return Tensor.fromTypedArray(data, shape);
}

/** Standard normal samples. */
export function randn(shape: readonly number[], opts: { dtype?: DType; generator?: Generator } = {}): Tensor {
  const g = opts.generator ?? defaultGenerator;
  return fill(shape, opts.dtype ?? "float32", () => g.normal());
}

/** Uniform samples in [0, 1). */
export function rand(shape: readonly number[], opts: { dtype?: DType; generator?: Generator } = {}): Tensor {
  const g = opts.generator ?? defaultGenerator;
  return fill(shape, opts.dtype ?? "float32", () => g.uniform());
}

/** Integers in [low, high), int32. */
export function randint(
  low: number,
  high: number,
  shape: readonly number[],
  opts: { generator?: Generator } = {},
): Tensor {
  if (!(high > low)) throw new ShapeError(`randint: high (${high}) must be greater than low (${low})`);
  const g = opts.generator ?? defaultGenerator;
  return fill(shape, "int32", () => g.int(low, high));
}
