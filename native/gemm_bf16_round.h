// fp32 -> bf16 rounding for the bf16 GEMM's packers (gemm_bf16_kern.c, gemm_bf16_amx.c), as gemm_bf16.h states it,
// scalar and 16 lanes at a time. x86 only; the including functions must target at least avx512f,avx512vl,avx512bf16.
#ifndef TL_GEMM_BF16_ROUND_H
#define TL_GEMM_BF16_ROUND_H
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define TGTBF __attribute__((target("avx512f,avx512vl,avx512bf16")))

// The bf16 bits of x (low 16 bits) with the rounding of gemm_bf16.h.
static inline uint32_t bf16_bits(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  uint32_t mag = u & 0x7fffffffu;
  if (mag > 0x7f800000u) return (u >> 16) | 0x40u;
  if (mag < 0x00800000u) return (u >> 16) & 0x8000u;
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

// 16 lanes of bf16_bits.
TGTBF static inline __m512i bf16_round16(__m512 x) {
  __m512i u = _mm512_castps_si512(x);
  __m512i mag = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
  __m512i hi = _mm512_srli_epi32(u, 16);
  __m512i r = _mm512_srli_epi32(
      _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(hi, _mm512_set1_epi32(1)))), 16);
  __mmask16 nan = _mm512_cmpgt_epu32_mask(mag, _mm512_set1_epi32(0x7f800000));
  __mmask16 tiny = _mm512_cmplt_epu32_mask(mag, _mm512_set1_epi32(0x00800000));
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(hi, _mm512_set1_epi32(0x40)));
  return _mm512_mask_mov_epi32(r, tiny, _mm512_and_si512(hi, _mm512_set1_epi32(0x8000)));
}

static inline __mmask16 lanes(int64_t n) {
  return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

// The pair word of (lo, hi) elements.
static inline uint32_t pair_word(float lo, float hi) { return bf16_bits(lo) | (bf16_bits(hi) << 16); }

#endif
