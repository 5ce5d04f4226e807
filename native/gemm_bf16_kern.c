// The bf16 GEMM's AVX512-BF16 code: fp32 -> bf16 rounding, the A and B packers and the 14x32 micro-kernel
// (28 zmm accumulators, vdpbf16ps on broadcast A pairs). Compiled for the target per function, so the addon still
// builds and loads on CPUs without it; gemm_bf16.c calls in only when tl_bf16_fast().
#include "gemm_bf16.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include "gemm_bf16_round.h"

// A rows contiguous along K (acs == 1): 32 elements of a row give 16 pair words, scattered to their pairs.
TGTBF static void pack_a_rows(const float *a, int64_t ars, int64_t m, int64_t k, int64_t q0, int64_t kc, int64_t r0,
                              uint32_t *dst) {
  const __m512i idx = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                         _mm512_set1_epi32(BF_MR));
  int rows = (int)(m - r0 < BF_MR ? m - r0 : BF_MR);
  if (rows < BF_MR) memset(dst, 0, sizeof(uint32_t) * (size_t)kc * BF_MR);
  for (int i = 0; i < rows; i++) {
    const float *row = a + (r0 + i) * ars;
    for (int64_t q = 0; q < kc; q += 16) {
      int64_t kk = 2 * (q0 + q);  // first element
      __m512 lo = _mm512_maskz_loadu_ps(lanes(k - kk), row + kk);
      __m512 hi = _mm512_maskz_loadu_ps(lanes(k - kk - 16), row + kk + 16);
      __m256i wl = _mm512_cvtepi32_epi16(bf16_round16(lo)), wh = _mm512_cvtepi32_epi16(bf16_round16(hi));
      __m512i words = _mm512_inserti64x4(_mm512_castsi256_si512(wl), wh, 1);
      _mm512_mask_i32scatter_epi32(dst + q * BF_MR + i, lanes(kc - q), idx, words, 4);
    }
  }
}

static void pack_a(const float *a, int64_t ars, int64_t acs, int64_t m, int64_t k, int64_t q0, int64_t kc, int64_t s0,
                   int64_t s1, uint32_t *dst) {
  for (int64_t s = s0; s < s1; s++, dst += kc * BF_MR) {
    int64_t r0 = s * BF_MR;
    if (acs == 1) {
      pack_a_rows(a, ars, m, k, q0, kc, r0, dst);
      continue;
    }
    for (int64_t q = 0; q < kc; q++) {
      int64_t kk = 2 * (q0 + q);
      for (int i = 0; i < BF_MR; i++) {
        int64_t r = r0 + i;
        float lo = r < m && kk < k ? a[r * ars + kk * acs] : 0.0f;
        float hi = r < m && kk + 1 < k ? a[r * ars + (kk + 1) * acs] : 0.0f;
        dst[q * BF_MR + i] = pair_word(lo, hi);
      }
    }
  }
}

// One pair row of a B sliver from rows kk, kk + 1 (columns contiguous: cs == 1), 32 columns from c0.
TGTBF static void pack_b_pair_rows(const float *b, int64_t rs, int64_t k, int64_t n, int64_t kk, int64_t c0, uint32_t *d) {
  for (int h = 0; h < BF_NR; h += 16) {
    __mmask16 mk = lanes(n - c0 - h);
    __m512i lo = kk < k ? bf16_round16(_mm512_maskz_loadu_ps(mk, b + kk * rs + c0 + h)) : _mm512_setzero_si512();
    __m512i hi = kk + 1 < k ? bf16_round16(_mm512_maskz_loadu_ps(mk, b + (kk + 1) * rs + c0 + h)) : _mm512_setzero_si512();
    _mm512_storeu_si512(d + h, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
  }
}

TGTBF void tl_bf16_pack_b(const float *b, int64_t rs, int64_t cs, int64_t k, int64_t n, uint32_t *dst) {
  int64_t kp = tl_bf16_pairs(k), kcbp = tl_bf16_kcbp(k), nsl = (n + BF_NR - 1) / BF_NR;
  for (int64_t q0 = 0; q0 < kp; q0 += kcbp) {
    int64_t kc = kp - q0 < kcbp ? kp - q0 : kcbp;
    uint32_t *block = dst + q0 * nsl * BF_NR;
    for (int64_t s = 0; s < nsl; s++) {
      uint32_t *sl = block + s * kc * BF_NR;
      int64_t c0 = s * BF_NR;
      for (int64_t q = 0; q < kc; q++) {
        int64_t kk = 2 * (q0 + q);
        if (cs == 1) {
          pack_b_pair_rows(b, rs, k, n, kk, c0, sl + q * BF_NR);
          continue;
        }
        for (int c = 0; c < BF_NR; c++) {
          int64_t j = c0 + c;
          float lo = j < n && kk < k ? b[kk * rs + j * cs] : 0.0f;
          float hi = j < n && kk + 1 < k ? b[(kk + 1) * rs + j * cs] : 0.0f;
          sl[q * BF_NR + c] = pair_word(lo, hi);
        }
      }
    }
  }
}

// The micro-kernel body for ROWS rows (14; 7 for a short last sliver, 2 for one or two rows: generation) and NVEC
// 16-column halves (2, or 1).
TGTBF static inline __attribute__((always_inline)) void kern_body(const int ROWS, const int NVEC, int64_t kc,
                                                                const uint32_t *A, const uint32_t *B, float *C,
                                                                int64_t ldc, int mr, int nr, int acc) {
  __m512 c[BF_MR][2];
#pragma GCC unroll 14
  for (int i = 0; i < ROWS; i++)
#pragma GCC unroll 2
    for (int j = 0; j < NVEC; j++) c[i][j] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int64_t q = 0; q < kc; q++) {
    __m512bh b[2];
#pragma GCC unroll 2
    for (int j = 0; j < NVEC; j++) b[j] = (__m512bh)_mm512_loadu_si512(B + 16 * j);
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; i++) {
      __m512bh av = (__m512bh)_mm512_set1_epi32((int)A[i]);
#pragma GCC unroll 2
      for (int j = 0; j < NVEC; j++) c[i][j] = _mm512_dpbf16_ps(c[i][j], av, b[j]);
    }
    A += BF_MR;
    B += BF_NR;
  }
  __mmask16 m[2];
#pragma GCC unroll 2
  for (int j = 0; j < NVEC; j++) m[j] = lanes(nr - 16 * j);
#pragma GCC unroll 14
  for (int i = 0; i < ROWS; i++) {
    if (i >= mr) break;
    float *cp = C + i * ldc;
#pragma GCC unroll 2
    for (int j = 0; j < NVEC; j++) {
      __m512 v = c[i][j];
      if (acc) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m[j], cp + 16 * j));
      _mm512_mask_storeu_ps(cp + 16 * j, m[j], v);
    }
  }
}

TGTBF static void kern(int64_t kc, const uint32_t *A, const uint32_t *B, float *C, int64_t ldc, int mr, int nr, int acc) {
  if (mr <= 2) {
    kern_body(2, 2, kc, A, B, C, ldc, mr, nr, acc);
  } else if (mr <= BF_MR / 2) {
    if (nr <= 16)
      kern_body(BF_MR / 2, 1, kc, A, B, C, ldc, mr, nr, acc);
    else
      kern_body(BF_MR / 2, 2, kc, A, B, C, ldc, mr, nr, acc);
  } else if (nr <= 16) {
    kern_body(BF_MR, 1, kc, A, B, C, ldc, mr, nr, acc);
  } else {
    kern_body(BF_MR, 2, kc, A, B, C, ldc, mr, nr, acc);
  }
}

const bf_kernels tl_bf16_avx512 = {BF_MR, pack_a, kern, NULL, NULL, "AVX512-BF16 14x32"};

#else  // no x86: tl_bf16_fast() is 0 and nothing here is called

void tl_bf16_pack_b(const float *b, int64_t rs, int64_t cs, int64_t k, int64_t n, uint32_t *dst) {
  (void)b, (void)rs, (void)cs, (void)k, (void)n, (void)dst;
}
const bf_kernels tl_bf16_avx512 = {BF_MR, NULL, NULL, NULL, NULL, "none"};
#endif
