// The iteration order of CPython's `set(list_of_ints)` (CPython 3.11's setobject.c: open addressing with 9 linear
// probes, then perturbed probing; the table starts at 8 slots and grows to the smallest power of two > 4 × used
// when it is 3/5 full). The IOI generator builds its groups from `list(set(template_ids))`, which is ascending
// only while every id is below the table size; this reproduces the order in every case.
import { DatasetError } from "./errors.js";

const M64 = (1n << 64n) - 1n;
const MODULUS = (1n << 61n) - 1n; // sys.hash_info.modulus on 64-bit builds
const LINEAR_PROBES = 9;
const PERTURB_SHIFT = 5n;

/** Python's hash() of an int, as the unsigned 64-bit word a set uses. */
function intHash(n: number): bigint {
  const v = BigInt(n);
  const a = v < 0n ? -v : v;
  let h = a % MODULUS;
  if (v < 0n) h = -h;
  if (h === -1n) h = -2n;
  return h & M64;
}

interface Slot {
  key: number;
  hash: bigint;
}

function insertClean(table: (Slot | null)[], mask: number, slot: Slot): void {
  const m = BigInt(mask);
  let perturb = slot.hash;
  let i = Number(slot.hash & m);
  for (;;) {
    if (table[i] === null) {
      table[i] = slot;
      return;
    }
    if (i + LINEAR_PROBES <= mask) {
      for (let j = 1; j <= LINEAR_PROBES; j++) {
        if (table[i + j] === null) {
          table[i + j] = slot;
          return;
        }
      }
    }
    perturb >>= PERTURB_SHIFT;
    i = Number((BigInt(i) * 5n + 1n + perturb) & m);
  }
}

/** The elements of `set(values)` in CPython's iteration order (values: integers). */
export function pythonIntSetOrder(values: readonly number[]): number[] {
  let mask = 7;
  let table: (Slot | null)[] = new Array(8).fill(null);
  let used = 0;
  for (const key of values) {
    if (!Number.isSafeInteger(key)) throw new DatasetError(`expected integer ids, got ${String(key)}`);
    const hash = intHash(key);
    const m = BigInt(mask);
    let perturb = hash;
    let i = Number(hash & m);
    let found = false;
    let target = -1;
    search: for (;;) {
      const probes = i + LINEAR_PROBES <= mask ? LINEAR_PROBES : 0;
      for (let j = 0; j <= probes; j++) {
        const e = table[i + j]!;
        if (e === null) {
          target = i + j;
          break search;
        }
        if (e.hash === hash && e.key === key) {
          found = true;
          break search;
        }
      }
      perturb >>= PERTURB_SHIFT;
      i = Number((BigInt(i) * 5n + 1n + perturb) & m);
    }
    if (found) continue;
    table[target] = { key, hash };
    used++; // no deletions, so fill == used
    if (used * 5 >= mask * 3) {
      const minused = used > 50000 ? used * 2 : used * 4;
      let size = 8;
      while (size <= minused) size *= 2;
      const old = table;
      table = new Array(size).fill(null);
      mask = size - 1;
      for (const e of old) if (e !== null) insertClean(table, mask, e);
    }
  }
  return table.filter((e): e is Slot => e !== null).map((e) => e.key);
}
