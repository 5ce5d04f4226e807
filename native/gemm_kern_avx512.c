// AVX-512 GEMM micro-kernels (14x32 with edge instantiations, the tall kernel for few rows) and the AVX-512 packer
// (16x16 transposes for sources contiguous along K).
#include "gemm_kernels.h"
#ifdef TL_X86
#include <immintrin.h>

#define TGT512 __attribute__((target("avx512f,avx512vl,fma")))

#ifndef Z_MR
#define Z_MR 14
#endif
#ifndef Z_NV
#define Z_NV 2
#endif
#define Z_NR (16 * Z_NV)

// The body is instantiated for the full tile (ROWS = 14, NVEC = 2) and for edge tiles with fewer rows (7) or
// columns (16) so that partial micro-panels do not pay for a whole 14x32 tile. A panels always advance by Z_MR.
TGT512 static inline __attribute__((always_inline)) void kern_avx512_body(const int ROWS, const int NVEC, int64_t kc,
                                                                        const float *A, const float *B, int64_t ldb,
                                                                        float *C, int64_t ldc, int mr, int nr,
                                                                        int acc) {
  __m512 c[Z_MR][Z_NV];
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; i++)
#pragma GCC unroll 8
    for (int j = 0; j < NVEC; j++) c[i][j] = _mm512_setzero_ps();
  // C is needed at the end; start fetching it now
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; i++)
#pragma GCC unroll 8
    for (int j = 0; j < NVEC; j++) _mm_prefetch((const char *)(C + i * ldc + 16 * j), _MM_HINT_T0);
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; k++) {
    __m512 b[Z_NV];
#pragma GCC unroll 8
    for (int j = 0; j < NVEC; j++) b[j] = _mm512_loadu_ps(B + 16 * j);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; i++) {
      __m512 a = _mm512_set1_ps(A[i]);
#pragma GCC unroll 8
      for (int j = 0; j < NVEC; j++) c[i][j] = _mm512_fmadd_ps(a, b[j], c[i][j]);
    }
    A += Z_MR;
    B += ldb;
  }
  if (mr == ROWS && nr == 16 * NVEC) {
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; i++) {
      float *cp = C + i * ldc;
#pragma GCC unroll 8
      for (int j = 0; j < NVEC; j++) {
        __m512 v = c[i][j];
        if (acc) v = _mm512_add_ps(v, _mm512_loadu_ps(cp + 16 * j));
        _mm512_storeu_ps(cp + 16 * j, v);
      }
    }
  } else {
    __mmask16 m[Z_NV];
#pragma GCC unroll 8
    for (int j = 0; j < NVEC; j++) {
      int r = nr - 16 * j;
      m[j] = r >= 16 ? (__mmask16)0xFFFF : r <= 0 ? (__mmask16)0 : (__mmask16)((1u << r) - 1);
    }
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; i++) {
      if (i < mr) {
        float *cp = C + i * ldc;
#pragma GCC unroll 8
        for (int j = 0; j < NVEC; j++) {
          __m512 v = c[i][j];
          if (acc) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m[j], cp + 16 * j));
          _mm512_mask_storeu_ps(cp + 16 * j, m[j], v);
        }
      }
    }
  }
}

#define Z_HALF (Z_MR / 2)
TGT512 static void kern_avx512_edge(int64_t kc, const float *A, const float *B, int64_t ldb, float *C, int64_t ldc,
                                    int mr, int nr, int acc) {
  if (mr <= Z_HALF) {
    if (nr <= 16)
      kern_avx512_body(Z_HALF, 1, kc, A, B, ldb, C, ldc, mr, nr, acc);
    else
      kern_avx512_body(Z_HALF, Z_NV, kc, A, B, ldb, C, ldc, mr, nr, acc);
  } else {
    kern_avx512_body(Z_MR, 1, kc, A, B, ldb, C, ldc, mr, nr, acc);  // nr <= 16
  }
}

TGT512 static void kern_avx512(int64_t kc, const float *A, const float *B, float *C, int64_t ldc, int mr, int nr,
                               int acc) {
  if (mr <= Z_HALF || nr <= 16)
    kern_avx512_edge(kc, A, B, Z_NR, C, ldc, mr, nr, acc);
  else
    kern_avx512_body(Z_MR, Z_NV, kc, A, B, Z_NR, C, ldc, mr, nr, acc);
}
TGT512 static void kern_avx512_direct(int64_t kc, const float *A, const float *B, int64_t ldb, float *C, int64_t ldc,
                                      int mr, int nr, int acc) {
  if (mr <= Z_HALF || nr <= 16)
    kern_avx512_edge(kc, A, B, ldb, C, ldc, mr, nr, acc);
  else
    kern_avx512_body(Z_MR, Z_NV, kc, A, B, ldb, C, ldc, mr, nr, acc);
}

#ifndef TALL_PF_ROWS
#define TALL_PF_ROWS 128  // B rows (128 B each) prefetched ahead
#endif

// Tall AVX-512 kernel for products with few rows (one prompt: M = 15..28): every row against one 16-column half
// of a B sliver, so each B value loaded serves up to 28 FMAs (the 14x32 tile gives 14, and at M = 21 re-reads B
// from memory faster than DRAM delivers it). ROWS2 = rows taken from the second A sliver (instantiated for 7, 14).
TGT512 static inline __attribute__((always_inline)) void kern_avx512_tall_body(const int ROWS2, int64_t kc,
                                                                             const float *A0, const float *A1,
                                                                             const float *B, float *C, int64_t ldc,
                                                                             int mr, int nr, int acc, int prefetch) {
  __m512 c[2 * Z_MR];
#pragma GCC unroll 28
  for (int i = 0; i < Z_MR + ROWS2; i++) c[i] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; k++) {
    if (prefetch) {  // B streams from DRAM: ask for it ~memory latency ahead (prefetches never fault)
      _mm_prefetch((const char *)(B + TALL_PF_ROWS * Z_NR), _MM_HINT_T0);
      _mm_prefetch((const char *)(B + TALL_PF_ROWS * Z_NR + 16), _MM_HINT_T0);
    }
    __m512 b = _mm512_loadu_ps(B);
#pragma GCC unroll 14
    for (int i = 0; i < Z_MR; i++) c[i] = _mm512_fmadd_ps(_mm512_set1_ps(A0[i]), b, c[i]);
#pragma GCC unroll 14
    for (int i = 0; i < ROWS2; i++) c[Z_MR + i] = _mm512_fmadd_ps(_mm512_set1_ps(A1[i]), b, c[Z_MR + i]);
    A0 += Z_MR;
    A1 += Z_MR;
    B += Z_NR;
  }
  __mmask16 m = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
#pragma GCC unroll 28
  for (int i = 0; i < Z_MR + ROWS2; i++) {
    if (i < mr) {
      float *cp = C + i * ldc;
      __m512 v = c[i];
      if (acc) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, cp));
      _mm512_mask_storeu_ps(cp, m, v);
    }
  }
}

TGT512 static void kern_avx512_tall(int64_t kc, const float *A0, const float *A1, const float *B, float *C,
                                    int64_t ldc, int mr, int nr, int acc, int prefetch) {
  if (mr <= Z_MR + Z_HALF)
    kern_avx512_tall_body(Z_HALF, kc, A0, A1, B, C, ldc, mr, nr, acc, prefetch);
  else
    kern_avx512_tall_body(Z_MR, kc, A0, A1, B, C, ldc, mr, nr, acc, prefetch);
}

// 16x16 transpose of r[0..15] in place (r[i] lane j  ->  r[j] lane i)
TGT512 static inline void tr16x16(__m512 r[16]) {
  __m512 t[16], u[16], x[8], y[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int q = 0; q < 4; q++) {  // rows 4q..4q+3: pairs (t[4q], t[4q+2]) and (t[4q+1], t[4q+3])
    __m512d a0 = _mm512_castps_pd(t[4 * q]), a1 = _mm512_castps_pd(t[4 * q + 1]);
    __m512d a2 = _mm512_castps_pd(t[4 * q + 2]), a3 = _mm512_castps_pd(t[4 * q + 3]);
    u[4 * q + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
    u[4 * q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
    u[4 * q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
    u[4 * q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
  }
  // u[4q+s] lane L = column 4L+s of rows 4q..4q+3
#pragma GCC unroll 4
  for (int s = 0; s < 4; s++) {
    x[s] = _mm512_shuffle_f32x4(u[s], u[4 + s], 0x88);        // cols s, 8+s of rows 0-3 / 4-7
    y[s] = _mm512_shuffle_f32x4(u[s], u[4 + s], 0xDD);        // cols 4+s, 12+s
    x[4 + s] = _mm512_shuffle_f32x4(u[8 + s], u[12 + s], 0x88);  // rows 8-11 / 12-15
    y[4 + s] = _mm512_shuffle_f32x4(u[8 + s], u[12 + s], 0xDD);
  }
#pragma GCC unroll 4
  for (int s = 0; s < 4; s++) {
    r[s] = _mm512_shuffle_f32x4(x[s], x[4 + s], 0x88);
    r[8 + s] = _mm512_shuffle_f32x4(x[s], x[4 + s], 0xDD);
    r[4 + s] = _mm512_shuffle_f32x4(y[s], y[4 + s], 0x88);
    r[12 + s] = _mm512_shuffle_f32x4(y[s], y[4 + s], 0xDD);
  }
}

static inline __mmask16 mask_n(int64_t n) {
  return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

TGT512 static void pack_avx512(float *dst, int W, const float *src, int64_t ps, int64_t ks, int cnt, int64_t kc) {
  if (ps == 1) {
    // per k: cnt contiguous source elements
    if (W == 32 && cnt == 32) {
      for (int64_t k = 0; k < kc; k++) {
        _mm512_storeu_ps(dst + k * 32, _mm512_loadu_ps(src + k * ks));
        _mm512_storeu_ps(dst + k * 32 + 16, _mm512_loadu_ps(src + k * ks + 16));
      }
      return;
    }
    for (int64_t k = 0; k < kc; k++) {
      const float *s = src + k * ks;
      float *d = dst + k * W;
      for (int p0 = 0; p0 < W; p0 += 16) {
        __m512 v = _mm512_maskz_loadu_ps(mask_n(cnt - p0), s + p0);
        _mm512_mask_storeu_ps(d + p0, mask_n(W - p0), v);
      }
    }
  } else if (ks == 1) {
    // each packed lane p reads a contiguous source row along k: 16x16 transposes
    for (int p0 = 0; p0 < W; p0 += 16) {
      int rows = cnt - p0;
      if (rows > 16) rows = 16;
      __mmask16 wm = mask_n(W - p0);
      for (int64_t k0 = 0; k0 < kc; k0 += 16) {
        int64_t kw = kc - k0 < 16 ? kc - k0 : 16;
        __mmask16 km = mask_n(kw);
        __m512 r[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
          r[i] = i < rows ? _mm512_maskz_loadu_ps(km, src + (p0 + i) * ps + k0) : _mm512_setzero_ps();
        tr16x16(r);
        float *d = dst + k0 * W + p0;
        if (kw == 16) {
#pragma GCC unroll 16
          for (int t = 0; t < 16; t++) _mm512_mask_storeu_ps(d + t * W, wm, r[t]);
        } else {
          for (int t = 0; t < kw; t++) _mm512_mask_storeu_ps(d + t * W, wm, r[t]);
        }
      }
    }
  } else {
    tl_gemm_pack_generic(dst, W, src, ps, ks, cnt, kc);
  }
}

const cfg_t tl_gemm_cfg_avx512 = {2, Z_MR, Z_NR, 1024, 768, kern_avx512, kern_avx512_direct, pack_avx512, "AVX-512",
                                  kern_avx512_tall};
#endif  // TL_X86
