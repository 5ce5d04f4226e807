// float16 and bfloat16 <-> float32, bit-exact (no Node built-ins): the safetensors reader decodes F16/BF16 with
// these and the writer encodes them.

let F16_TABLE: Uint32Array | undefined;

/** float16 bit pattern → float32 bits, for all 65536 patterns (exact: every float16 is a float32; NaN payloads kept). */
function f16Table(): Uint32Array {
  if (F16_TABLE) return F16_TABLE;
  const bits = new Uint32Array(65536);
  const f = new Float32Array(bits.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      f[h] = mant * 2 ** -24; // zero or subnormal: exact in float32
      bits[h] = (bits[h]! | sign) >>> 0;
    } else if (exp === 31) {
      bits[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf or NaN (payload kept)
    } else {
      bits[h] = (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
    }
  }
  F16_TABLE = bits;
  return bits;
}

/** Exact float16 → float32 decoding of raw bits (bit-level, so NaN payloads survive). */
export function decodeFloat16(bits: Uint16Array): Float32Array {
  const table = f16Table();
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return new Float32Array(out.buffer);
}

/** Exact bfloat16 → float32 decoding of raw bits (bf16 is the top half of a float32). */
export function decodeBfloat16(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i]! << 16;
  return new Float32Array(out.buffer);
}

const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);

/** float32 (or any number, rounded to float32 first) → float16 bits, round to nearest even; overflow → ±inf. */
export function float16Bits(x: number): number {
  F32_SCRATCH[0] = x;
  const b = U32_SCRATCH[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    const shift = 14 - e;
    if (shift > 24) return sign;
    const m = mant | 0x800000;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  return half;
}

/** float32 → bfloat16 bits, round to nearest even (NaN stays NaN). */
export function bfloat16Bits(x: number): number {
  F32_SCRATCH[0] = x;
  const b = U32_SCRATCH[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return ((b >>> 16) | 0x40) & 0xffff;
  const rounded = b + 0x7fff + ((b >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}
