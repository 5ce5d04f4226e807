// AVX2 + FMA GEMM micro-kernel (6x16); packing is the portable one.
#include "gemm_kernels.h"
#ifdef TL_X86
#include <immintrin.h>

#define TGT256 __attribute__((target("avx2,fma")))

#define H_MR 6
#define H_NR 16
TGT256 static inline __attribute__((always_inline)) void kern_avx2_body(int64_t kc, const float *A, const float *B,
                                                                      int64_t ldb, float *C, int64_t ldc, int mr,
                                                                      int nr, int acc) {
  __m256 c[H_MR][2];
#pragma GCC unroll 8
  for (int i = 0; i < H_MR; i++) c[i][0] = c[i][1] = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; k++) {
    __m256 b0 = _mm256_loadu_ps(B), b1 = _mm256_loadu_ps(B + 8);
#pragma GCC unroll 8
    for (int i = 0; i < H_MR; i++) {
      __m256 a = _mm256_broadcast_ss(A + i);
      c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
    }
    A += H_MR;
    B += ldb;
  }
  if (mr == H_MR && nr == H_NR) {
#pragma GCC unroll 8
    for (int i = 0; i < H_MR; i++) {
      float *cp = C + i * ldc;
      __m256 v0 = c[i][0], v1 = c[i][1];
      if (acc) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(cp));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(cp + 8));
      }
      _mm256_storeu_ps(cp, v0);
      _mm256_storeu_ps(cp + 8, v1);
    }
  } else {
    float tmp[H_MR][H_NR];
#pragma GCC unroll 8
    for (int i = 0; i < H_MR; i++) {
      _mm256_storeu_ps(tmp[i], c[i][0]);
      _mm256_storeu_ps(tmp[i] + 8, c[i][1]);
    }
    for (int i = 0; i < mr; i++) {
      float *cp = C + i * ldc;
      if (acc)
        for (int j = 0; j < nr; j++) cp[j] += tmp[i][j];
      else
        for (int j = 0; j < nr; j++) cp[j] = tmp[i][j];
    }
  }
}

TGT256 static void kern_avx2(int64_t kc, const float *A, const float *B, float *C, int64_t ldc, int mr, int nr,
                             int acc) {
  kern_avx2_body(kc, A, B, H_NR, C, ldc, mr, nr, acc);
}
TGT256 static void kern_avx2_direct(int64_t kc, const float *A, const float *B, int64_t ldb, float *C, int64_t ldc,
                                    int mr, int nr, int acc) {
  kern_avx2_body(kc, A, B, ldb, C, ldc, mr, nr, acc);
}

const cfg_t tl_gemm_cfg_avx2 = {1, H_MR, H_NR, 512, 768, kern_avx2, kern_avx2_direct, tl_gemm_pack_generic, "AVX2+FMA",
                                NULL};
#endif  // TL_X86
