// CPython random / numpy legacy RandomState ports against ../shared/ioi/golden/python_random_test_vectors.json
// (made with CPython 3.11.7 and numpy 2.4.6): every list, exactly.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MT19937, NumpyRandomState, PythonRandom, seedKey } from "../../src/datasets/python-random.js";
import { DatasetError } from "../../src/datasets/errors.js";
import { TlensError } from "../../src/errors.js";

const G = fileURLToPath(new URL("../../../shared/ioi/golden/python_random_test_vectors.json", import.meta.url));

interface SeedVectors {
  state_after_seed_first8: number[];
  state_after_seed_last: number;
  state_index_after_seed: number;
  init_by_array_key: number[];
  getrandbits32_first20: number[];
  random_first10_repr: string[];
  random_first10_hex: string[];
  choice_range100_first20: number[];
  shuffle_range10: number[];
  shuffle_range14: number[];
  randbelow_mixed_pattern: { values: number[][] };
  getrandbits_k_first10: Record<string, number[]>;
  sample_range100_k10: number[];
  randint_30_40_first10: number[];
  numpy_legacy_seed: number;
  numpy_legacy_randint_0_106_first10: number[];
  numpy_legacy_choice_range106_first10: number[];
  numpy_legacy_random_sample_first5_repr: string[];
}
const vectors = JSON.parse(readFileSync(G, "utf8")) as { seeds: Record<string, SeedVectors> };

/** Python's float.hex() string → number, exactly. */
function fromHex(s: string): number {
  const m = /^(-?)0x([01])\.([0-9a-f]*)p([+-]?\d+)$/.exec(s);
  if (!m) throw new Error(`bad hex float ${s}`);
  const frac = m[3] === "" ? 0 : parseInt(m[3]!, 16) / 16 ** m[3]!.length;
  return (m[1] ? -1 : 1) * (Number(m[2]) + frac) * 2 ** Number(m[4]);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe.each(Object.entries(vectors.seeds))("seed %s", (seedStr, v) => {
  const seed = BigInt(seedStr);
  const fresh = () => new PythonRandom(seed);

  it("seeds with init_by_array over the 32-bit words of the seed", () => {
    expect(seedKey(seed)).toEqual(v.init_by_array_key);
    const st = fresh().getState();
    expect(st.mt.slice(0, 8)).toEqual(v.state_after_seed_first8);
    expect(st.mt[623]).toEqual(v.state_after_seed_last);
    expect(st.index).toBe(v.state_index_after_seed);
    if (seed < 2n ** 53n) expect(new PythonRandom(Number(seed)).getState()).toEqual(st);
  });

  it("getrandbits(32)", () => {
    const r = fresh();
    expect(range(20).map(() => r.getrandbits(32))).toEqual(v.getrandbits32_first20);
  });

  it("random() (repr and hex, bit for bit)", () => {
    const r = fresh();
    const xs = range(10).map(() => r.random());
    expect(xs).toEqual(v.random_first10_repr.map(Number));
    expect(xs).toEqual(v.random_first10_hex.map(fromHex));
  });

  it("choice, shuffle, sample, randint", () => {
    let r = fresh();
    expect(range(20).map(() => r.choice(range(100)))).toEqual(v.choice_range100_first20);
    expect(fresh().shuffle(range(10))).toEqual(v.shuffle_range10);
    expect(fresh().shuffle(range(14))).toEqual(v.shuffle_range14);
    expect(fresh().sample(range(100), 10)).toEqual(v.sample_range100_k10);
    r = fresh();
    expect(range(10).map(() => r.randint(30, 40))).toEqual(v.randint_30_40_first10);
  });

  it("the per-prompt IOI draw pattern", () => {
    const r = fresh();
    const got = range(10).map(() => [
      r.randbelow(14),
      r.randbelow(109),
      r.randbelow(109),
      r.randbelow(109),
      r.randbelow(8),
      r.randbelow(8),
    ]);
    expect(got).toEqual(v.randbelow_mixed_pattern.values);
  });

  it("getrandbits(k) for k = 1, 3, 4, 7 on one stream", () => {
    const r = fresh();
    for (const k of ["1", "3", "4", "7"])
      expect(range(10).map(() => r.getrandbits(Number(k)))).toEqual(v.getrandbits_k_first10[k]);
  });

  it("numpy legacy randint / choice / random_sample", () => {
    let np = new NumpyRandomState(v.numpy_legacy_seed);
    expect(range(10).map(() => np.randint(0, 106))).toEqual(v.numpy_legacy_randint_0_106_first10);
    np = new NumpyRandomState(v.numpy_legacy_seed);
    expect(range(10).map(() => np.choice(range(106)))).toEqual(v.numpy_legacy_choice_range106_first10);
    np = new NumpyRandomState(v.numpy_legacy_seed);
    expect(range(5).map(() => np.randomSample())).toEqual(v.numpy_legacy_random_sample_first5_repr.map(Number));
  });
});

describe("PythonRandom details", () => {
  it("matches the spec's spot values for seed 1", () => {
    const r = new PythonRandom(1);
    expect([r.getrandbits(32), r.getrandbits(32), r.getrandbits(32)]).toEqual([577090037, 2444712010, 3639700191]);
    expect(new PythonRandom(1).shuffle(range(10))).toEqual([6, 8, 9, 7, 5, 3, 0, 4, 1, 2]);
  });

  it("seed(-n) equals seed(n), seed(0) uses key [0]", () => {
    expect(new PythonRandom(-42).getState()).toEqual(new PythonRandom(42).getState());
    expect(seedKey(0)).toEqual([0]);
    expect(seedKey(2n ** 64n + 3n)).toEqual([3, 0, 1]);
  });

  it("getrandbits above 32 bits takes words least significant first, the last one's high bits", () => {
    const a = new PythonRandom(7);
    const b = new MT19937();
    b.initByArray([7]);
    const w0 = b.nextUint32();
    const w1 = b.nextUint32();
    expect(a.getrandbits(40)).toBe((w1 >>> 24) * 2 ** 32 + w0);
    const c = new PythonRandom(7);
    expect(c.getrandbitsBigInt(40)).toBe(BigInt((w1 >>> 24) * 2 ** 32 + w0));
    expect(new PythonRandom(7).getrandbitsBigInt(32)).toBe(BigInt(w0));
    expect(new PythonRandom(7).getrandbits(0)).toBe(0);
  });

  it("randbelow uses n.bit_length() bits (n = 8 draws 4 bits)", () => {
    const r = new PythonRandom(3);
    const m = new MT19937();
    m.initByArray([3]);
    let x: number;
    while ((x = m.nextUint32() >>> 28) >= 8);
    expect(r.randbelow(8)).toBe(x);
    expect(new PythonRandom(3).randbelow(1)).toBe(0);
  });

  it("sample takes the pool branch for small populations", () => {
    // n = 20 <= 21: pool branch; each draw is _randbelow(n - i) and the pool is back-filled
    const r = new PythonRandom(5);
    const ref = new PythonRandom(5);
    const pool = range(20);
    const want: number[] = [];
    for (let i = 0; i < 5; i++) {
      const j = ref.randbelow(20 - i);
      want.push(pool[j]!);
      pool[j] = pool[20 - i - 1]!;
    }
    expect(r.sample(range(20), 5)).toEqual(want);
    expect(new PythonRandom(5).sample(range(20), 20).sort((a, b) => a - b)).toEqual(range(20));
  });

  it("randrange with a step", () => {
    const r = new PythonRandom(9);
    const ref = new PythonRandom(9);
    expect(r.randrange(10, 0, -3)).toBe(10 - 3 * ref.randbelow(4));
    expect(() => r.randrange(0)).toThrow(DatasetError);
    expect(() => r.randrange(1, 5, 0)).toThrow(/zero step/);
  });

  it("rejects bad arguments with a DatasetError (a TlensError)", () => {
    const r = new PythonRandom(0);
    expect(() => r.choice([])).toThrow(DatasetError);
    expect(() => r.choice([])).toThrow(TlensError);
    expect(() => r.sample([1, 2], 3)).toThrow(/larger than population/);
    expect(() => r.randbelow(0)).toThrow(DatasetError);
    expect(() => new PythonRandom(1.5)).toThrow(/integer/);
    expect(() => new NumpyRandomState(-1)).toThrow(/2\*\*32/);
    expect(() => new NumpyRandomState(0).randint(3, 3)).toThrow(DatasetError);
  });
});
