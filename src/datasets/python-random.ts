// Ports of the two random streams the Python IOI generator uses, bit-exact:
//  - CPython's `random.Random` (MT19937 seeded with init_by_array, `getrandbits`, `_randbelow` by rejection on
//    getrandbits, `random`, `choice`, `shuffle`, `sample`, `randrange`, `randint`), as in CPython 3.11;
//  - numpy's legacy `RandomState` (MT19937 seeded with init_genrand, masked-rejection `randint`, `choice`,
//    `random_sample`), whose stream numpy keeps frozen.
// See ../shared/ioi/SPEC.md §1. All arithmetic is on uint32 words (Math.imul, >>> 0).
import { DatasetError } from "./errors.js";

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** The MT19937 generator (Matsumoto & Nishimura's mt19937ar.c), shared by CPython and numpy. */
export class MT19937 {
  /** The 624-word state. */
  readonly mt = new Uint32Array(N);
  /** Index of the next word to temper (624: regenerate first). */
  mti = N + 1;

  /** mt19937ar.c `init_genrand`: numpy's legacy `seed(s)`. */
  initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.mti = N;
  }

  /** mt19937ar.c `init_by_array`: CPython's `seed(n)`, with key = the 32-bit words of |n|, least significant first. */
  initByArray(key: ArrayLike<number>): void {
    const mt = this.mt;
    const len = key.length;
    if (len === 0) throw new DatasetError("MT19937.initByArray: the key must have at least one word");
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, len); k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1664525)) + (key[j]! >>> 0) + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
      if (j >= len) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    this.mti = N;
  }

  /** The next tempered 32-bit word (`genrand_uint32`, = Python's `getrandbits(32)`). */
  nextUint32(): number {
    const mt = this.mt;
    if (this.mti >= N) {
      if (this.mti === N + 1) this.initGenrand(5489); // never seeded: mt19937ar.c's default
      let kk = 0;
      let y: number;
      for (; kk < N - M; kk++) {
        y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
        mt[kk] = mt[kk + M]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      for (; kk < N - 1; kk++) {
        y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
        mt[kk] = mt[kk + (M - N)]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      y = (mt[N - 1]! & UPPER_MASK) | (mt[0]! & LOWER_MASK);
      mt[N - 1] = mt[M - 1]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      this.mti = 0;
    }
    let y = mt[this.mti++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** 53-bit float in [0, 1) from two words (CPython `random()`, numpy `random_sample()`). */
  nextDouble(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }
}

/** The state of a generator as plain data: the 624 words and the index (Python's `getstate()[1]` is these 625). */
export interface MTState {
  mt: number[];
  index: number;
}

function checkInt(what: string, n: number): void {
  if (typeof n !== "number" || !Number.isSafeInteger(n)) {
    throw new DatasetError(`${what} must be an integer (a safe JavaScript integer), got ${String(n)}`);
  }
}

function bitLength(n: number): number {
  // 0 <= n < 2^53
  return n < 4294967296 ? 32 - Math.clz32(n) : 64 - Math.clz32(Math.floor(n / 4294967296));
}

/** The 32-bit words of |n|, least significant first; [0] for 0 (CPython `random_seed`). */
export function seedKey(n: number | bigint): number[] {
  let v: bigint;
  if (typeof n === "bigint") v = n;
  else {
    checkInt("seed", n);
    v = BigInt(n);
  }
  if (v < 0n) v = -v;
  if (v === 0n) return [0];
  const key: number[] = [];
  while (v > 0n) {
    key.push(Number(v & 0xffffffffn));
    v >>= 32n;
  }
  return key;
}

/**
 * CPython's `random.Random`, bit-exact (as in CPython 3.11). Seed it with an integer (number or bigint) as
 * `random.seed(n)` / `random.Random(n)` does. Methods keep Python's names where they are public (`choice`,
 * `shuffle`, `sample`, `randint`, `randrange`, `getrandbits`, `random`); `randbelow` is `_randbelow`.
 * String seeds (`seed("abc")`, which hash with SHA-512) are not supported.
 */
export class PythonRandom {
  private readonly gen = new MT19937();

  constructor(seed: number | bigint = 0) {
    this.seed(seed);
  }

  /** `random.seed(n)` for an integer n: init_by_array over the 32-bit words of |n|. */
  seed(n: number | bigint): void {
    this.gen.initByArray(seedKey(n));
  }

  /** The 624 state words and the index (after seeding: the index is 624). */
  getState(): MTState {
    return { mt: Array.from(this.gen.mt), index: this.gen.mti };
  }

  /** Restores a state from getState. */
  setState(state: MTState): void {
    if (!state || state.mt?.length !== N || !(state.index >= 0 && state.index <= N)) {
      throw new DatasetError(`setState: expected { mt: 624 words, index: 0..624 }`);
    }
    this.gen.mt.set(state.mt);
    this.gen.mti = state.index;
  }

  /** A float in [0, 1) with 53 random bits (`random.random()`). */
  random(): number {
    return this.gen.nextDouble();
  }

  /** `getrandbits(k)` for 0 <= k <= 53, as a number (the high bits of each 32-bit word; words least significant first). */
  getrandbits(k: number): number {
    checkInt("getrandbits: k", k);
    if (k < 0) throw new DatasetError(`getrandbits: the number of bits must be non-negative, got ${k}`);
    if (k === 0) return 0;
    if (k <= 32) return this.gen.nextUint32() >>> (32 - k);
    if (k > 53) throw new DatasetError(`getrandbits: k = ${k} does not fit a number; use getrandbitsBigInt`);
    const low = this.gen.nextUint32();
    const high = this.gen.nextUint32() >>> (64 - k);
    return high * 4294967296 + low;
  }

  /** `getrandbits(k)` for any k >= 0, as a bigint. */
  getrandbitsBigInt(k: number): bigint {
    checkInt("getrandbits: k", k);
    if (k < 0) throw new DatasetError(`getrandbits: the number of bits must be non-negative, got ${k}`);
    let out = 0n;
    let shift = 0n;
    for (let left = k; left > 0; left -= 32) {
      let r = this.gen.nextUint32();
      if (left < 32) r >>>= 32 - left;
      out |= BigInt(r) << shift;
      shift += 32n;
    }
    return out;
  }

  /** `_randbelow(n)`: k = n.bit_length() bits, redrawn while >= n. n must be 1 .. 2^53. */
  randbelow(n: number): number {
    checkInt("randbelow: n", n);
    if (n <= 0) throw new DatasetError(`randbelow: n must be positive, got ${n}`);
    const k = bitLength(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** `random.choice(seq)`. */
  choice<T>(seq: ArrayLike<T>): T {
    if (seq.length === 0) throw new DatasetError("choice: cannot choose from an empty sequence");
    return seq[this.randbelow(seq.length)]!;
  }

  /** `random.shuffle(x)`, in place (Fisher–Yates from the end, j = _randbelow(i + 1)). Returns x. */
  shuffle<T>(x: T[]): T[] {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      const t = x[i]!;
      x[i] = x[j]!;
      x[j] = t;
    }
    return x;
  }

  /** `random.sample(population, k)` (no `counts`): CPython's pool method for small populations, its set method
   *  (redraw indices already taken) otherwise, chosen by the same size rule. */
  sample<T>(population: ArrayLike<T>, k: number): T[] {
    checkInt("sample: k", k);
    const n = population.length;
    if (k < 0 || k > n)
      throw new DatasetError(`sample: sample larger than population or is negative (k = ${k}, population ${n})`);
    const result: T[] = new Array(k);
    let setsize = 21;
    if (k > 5) setsize += 4 ** Math.ceil(Math.log(k * 3) / Math.log(4));
    if (n <= setsize) {
      const pool = Array.from(population);
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i);
        result[i] = pool[j]!;
        pool[j] = pool[n - i - 1]!;
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n);
        while (selected.has(j)) j = this.randbelow(n);
        selected.add(j);
        result[i] = population[j]!;
      }
    }
    return result;
  }

  /** `random.randrange(stop)` / `randrange(start, stop[, step])`. */
  randrange(start: number, stop?: number, step = 1): number {
    checkInt("randrange: start", start);
    if (stop === undefined) {
      if (step !== 1) throw new DatasetError("randrange: missing a stop argument");
      if (start > 0) return this.randbelow(start);
      throw new DatasetError(`randrange: empty range (${start})`);
    }
    checkInt("randrange: stop", stop);
    checkInt("randrange: step", step);
    const width = stop - start;
    if (step === 1) {
      if (width > 0) return start + this.randbelow(width);
      throw new DatasetError(`randrange: empty range (${start}, ${stop}, ${width})`);
    }
    let n: number;
    if (step > 0) n = Math.floor((width + step - 1) / step);
    else if (step < 0) n = Math.floor((width + step + 1) / step);
    else throw new DatasetError("randrange: zero step");
    if (n <= 0) throw new DatasetError(`randrange: empty range (${start}, ${stop}, ${step})`);
    return start + step * this.randbelow(n);
  }

  /** `random.randint(a, b)`: a + _randbelow(b - a + 1), both ends included. */
  randint(a: number, b: number): number {
    return this.randrange(a, b + 1);
  }
}

/** numpy's legacy `np.random.RandomState` (what `np.random.seed` / `np.random.choice` use), bit-exact for the
 *  parts implemented: integer seeds 0 .. 2^32-1, `randint`, `choice` (no size/p), `randomSample`. */
export class NumpyRandomState {
  private readonly gen = new MT19937();

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** `np.random.seed(s)`: init_genrand(s) (not init_by_array, so the stream differs from Python's for one seed). */
  seed(s: number): void {
    checkInt("numpy seed", s);
    if (s < 0 || s > 0xffffffff) throw new DatasetError(`numpy seed must be between 0 and 2**32 - 1, got ${s}`);
    this.gen.initGenrand(s);
  }

  /** The generator's state, to restore with setState. */
  getState(): MTState {
    return { mt: Array.from(this.gen.mt), index: this.gen.mti };
  }

  /** `random_sample()`: a float in [0, 1). */
  randomSample(): number {
    return this.gen.nextDouble();
  }

  /** Legacy `randint(low, high)` (high exclusive; `randint(n)` = `randint(0, n)`): masked rejection on the
   *  low bits of 32-bit words. The range must fit 32 bits. */
  randint(low: number, high?: number): number {
    if (high === undefined) {
      high = low;
      low = 0;
    }
    checkInt("randint: low", low);
    checkInt("randint: high", high);
    if (high <= low) throw new DatasetError(`randint: low >= high (${low} >= ${high})`);
    const rng = high - 1 - low;
    if (rng === 0) return low;
    if (rng > 0xffffffff)
      throw new DatasetError(`randint: ranges wider than 2**32 are not implemented (got ${rng + 1})`);
    if (rng === 0xffffffff) return low + this.gen.nextUint32();
    let mask = rng;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    while ((v = (this.gen.nextUint32() & mask) >>> 0) > rng);
    return low + v;
  }

  /** `np.random.choice(a)` with no size and no p: a[randint(0, len(a))] (an integer a means range(a)). */
  choice<T>(a: ArrayLike<T>): T;
  choice(a: number): number;
  choice<T>(a: ArrayLike<T> | number): T | number {
    if (typeof a === "number") {
      if (a <= 0) throw new DatasetError("choice: a must be greater than 0");
      return this.randint(0, a);
    }
    if (a.length === 0) throw new DatasetError("choice: cannot take a non-empty sample from an empty sequence");
    return a[this.randint(0, a.length)]!;
  }
}
