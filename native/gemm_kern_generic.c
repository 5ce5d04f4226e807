// Portable GEMM micro-kernel (4x8, plain C: the compiler vectorises it, with SIMD128 on wasm) and the portable
// packer every instruction set uses for the layouts it has no fast path for.
#include "gemm_kernels.h"

void tl_gemm_pack_generic(float *dst, int W, const float *src, int64_t ps, int64_t ks, int cnt, int64_t kc) {
  if (ps == 1) {
    for (int64_t k = 0; k < kc; k++) {
      float *d = dst + k * W;
      const float *s = src + k * ks;
      int p = 0;
      for (; p < cnt; p++) d[p] = s[p];
      for (; p < W; p++) d[p] = 0.0f;
    }
  } else if (ks == 1) {
    for (int p = 0; p < cnt; p++) {
      const float *s = src + p * ps;
      for (int64_t k = 0; k < kc; k++) dst[k * W + p] = s[k];
    }
    if (cnt < W)
      for (int64_t k = 0; k < kc; k++)
        for (int p = cnt; p < W; p++) dst[k * W + p] = 0.0f;
  } else {
    for (int64_t k = 0; k < kc; k++) {
      float *d = dst + k * W;
      const float *s = src + k * ks;
      int p = 0;
      for (; p < cnt; p++) d[p] = s[p * ps];
      for (; p < W; p++) d[p] = 0.0f;
    }
  }
}

#define G_MR 4
#define G_NR 8
static inline __attribute__((always_inline)) void kern_generic_body(int64_t kc, const float *A, const float *B,
                                                                   int64_t ldb, float *C, int64_t ldc, int mr, int nr,
                                                                   int acc) {
  float c[G_MR][G_NR];
  for (int i = 0; i < G_MR; i++)
    for (int j = 0; j < G_NR; j++) c[i][j] = 0.0f;
  for (int64_t k = 0; k < kc; k++) {
    for (int i = 0; i < G_MR; i++) {
      float a = A[i];
      for (int j = 0; j < G_NR; j++) c[i][j] += a * B[j];
    }
    A += G_MR;
    B += ldb;
  }
  for (int i = 0; i < mr; i++) {
    float *cp = C + i * ldc;
    if (acc)
      for (int j = 0; j < nr; j++) cp[j] += c[i][j];
    else
      for (int j = 0; j < nr; j++) cp[j] = c[i][j];
  }
}

static void kern_generic(int64_t kc, const float *A, const float *B, float *C, int64_t ldc, int mr, int nr, int acc) {
  kern_generic_body(kc, A, B, G_NR, C, ldc, mr, nr, acc);
}
static void kern_generic_direct(int64_t kc, const float *A, const float *B, int64_t ldb, float *C, int64_t ldc, int mr,
                                int nr, int acc) {
  kern_generic_body(kc, A, B, ldb, C, ldc, mr, nr, acc);
}

const cfg_t tl_gemm_cfg_generic = {0, G_MR, G_NR, 256, 256, kern_generic, kern_generic_direct, tl_gemm_pack_generic,
                                   "portable C", NULL};
