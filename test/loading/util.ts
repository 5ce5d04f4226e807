// Shared helpers for the loading tests: paths to ../shared, a seeded PRNG, safetensors files built by hand.
import { fileURLToPath } from "node:url";

/** Absolute path of a file under the shared folder beside the repository (`../shared` from the repo root). */
export const shared = (rel: string): string => fileURLToPath(new URL(`../../../shared/${rel}`, import.meta.url));
/** Absolute path of a file in this repository. */
export const repo = (rel: string): string => fileURLToPath(new URL(`../../${rel}`, import.meta.url));

/** mulberry32: small, fast, seeded. */
export function rng(seed: number): {
  next: () => number;
  int: (lo: number, hi: number) => number;
  pick: <T>(xs: readonly T[]) => T;
} {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1)); // inclusive
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  return { next, int, pick };
}

/** A safetensors file from a header given as JSON text (used as is: no padding) and a data section. */
export function buildFile(headerText: string | Uint8Array, data: Uint8Array, headerLength?: bigint): Uint8Array {
  const json = typeof headerText === "string" ? new TextEncoder().encode(headerText) : headerText;
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
