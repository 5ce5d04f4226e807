// Single-precision GEMM, BLIS/GotoBLAS style.
//
// Layout: A is packed into MR-row micro-panels ("slivers", each kc x MR, k-major) and B into NR-column slivers
// (kc x NR, k-major); K is cut into nkb blocks of kcb <= KC. Both packed forms are laid out block by block:
// block p of the packed B starts at p*kcb*Npad and holds its nsl slivers back to back (sliver s at s*kc_p*NR).
// The same layout is used for a B packed once and cached (tl_gemm_pack_b) and for B packed by a call.
//
// Blocking (AVX-512: MR 14, NR 32, KC 1024, CW 768): on this class of machine the cost that matters is the
// C tile traffic (14 rows of C 12 KB apart all land in the same L1 sets), not the streaming of A and B, so K
// blocks are large (K <= 1024 is one block: C is written once, never read back) and both packed operands are
// streamed through L1 from L2/L3 with the hardware prefetchers (A sliver ~43 KB reused over a chunk's B slivers).
//
// Threads (per matrix): one parallel phase packs all of A and, when it is not too big (<= 16 MB), all of B;
// then tasks (column chunk of <= CW columns x M part, ~4+ per thread, dynamically scheduled) run the
// micro-kernel over every (A sliver, B sliver) pair of their tile. A B too big to pre-pack (the unembedding)
// is packed chunk by chunk by the task that uses it. Batches of small products run one product per task on
// a single thread each; tiny work stays on the calling thread.
//
// Micro-kernels: AVX-512 14x32 (28 zmm accumulators, broadcast A), AVX2+FMA 6x16, portable C 4x8.
// Edges are handled in the kernels (zero-padded panels, masked stores).
#include "gemm_core.h"
#include "threadpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#define TL_X86 1
#include <immintrin.h>
#endif

#define TGT512 __attribute__((target("avx512f,avx512vl,fma")))
#define TGT256 __attribute__((target("avx2,fma")))

// kernel: C[mr x nr] (=|+=) Apanel(kc x MR) * B(kc x NR); ldc in elements. B is a packed panel (rows NR apart),
// or, for the direct variant, rows ldb apart in the caller's matrix (all NR columns of every row readable).
typedef void (*kern_fn)(int64_t kc, const float *A, const float *B, float *C, int64_t ldc, int mr, int nr, int acc);
typedef void (*kern_direct_fn)(int64_t kc, const float *A, const float *B, int64_t ldb, float *C, int64_t ldc, int mr,
                               int nr, int acc);
// pack: dst[k*W + p] = src[p*ps + k*ks] for p < cnt, 0 for cnt <= p < W; k < kc
typedef void (*pack_fn)(float *dst, int W, const float *src, int64_t ps, int64_t ks, int cnt, int64_t kc);
// tall kernel (few rows): C[mr x nr] (=|+=) [A0; A1](kc x mr) * B(kc x nr), MR < mr <= 2 MR, nr <= 16; A0 and A1 are
// consecutive packed A slivers, B a 16-column half of a packed B sliver (rows NR apart); prefetch: pull whole B
// rows ahead into the cache (the first half's call does it for both)
typedef void (*kern_tall_fn)(int64_t kc, const float *A0, const float *A1, const float *B, float *C, int64_t ldc, int mr,
                             int nr, int acc, int prefetch);

typedef struct {
  int isa, mr, nr, kc, cw;
  kern_fn kern;
  kern_direct_fn kern_direct;
  pack_fn pack;
  const char *name;
  kern_tall_fn kern_tall;  // NULL: none
} cfg_t;

// ---------------------------------------------------------------------------------------------------------------
// packing, portable

static void pack_generic(float *dst, int W, const float *src, int64_t ps, int64_t ks, int cnt, int64_t kc) {
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

// ---------------------------------------------------------------------------------------------------------------
// portable C kernel 4x8

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

#ifdef TL_X86
// ---------------------------------------------------------------------------------------------------------------
// AVX2 + FMA kernel 6x16

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

// ---------------------------------------------------------------------------------------------------------------
// AVX-512 kernel 14x32

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
    pack_generic(dst, W, src, ps, ks, cnt, kc);
  }
}
#endif  // TL_X86

// ---------------------------------------------------------------------------------------------------------------
// configuration

#define KC_MAX 384

static const cfg_t cfg_generic = {0, G_MR, G_NR, 256, 256, kern_generic, kern_generic_direct, pack_generic, "portable C", NULL};
#ifdef TL_X86
static const cfg_t cfg_avx2 = {1, H_MR, H_NR, 512, 768, kern_avx2, kern_avx2_direct, pack_generic, "AVX2+FMA", NULL};
static const cfg_t cfg_avx512 = {2, Z_MR, Z_NR, 1024, 768, kern_avx512, kern_avx512_direct, pack_avx512, "AVX-512",
                                  kern_avx512_tall};
#endif

static const cfg_t *the_cfg;
static pthread_once_t cfg_once = PTHREAD_ONCE_INIT;
static cfg_t cfg_override;
static char cfg_name[64];

static void cfg_init(void) {
  const cfg_t *c = &cfg_generic;
#ifdef TL_X86
  __builtin_cpu_init();
  const char *force = getenv("TLENS_GEMM_ISA");  // "c", "avx2", "avx512": testing the fallbacks
  int want = force ? (force[0] == 'c' ? 0 : strcmp(force, "avx2") == 0 ? 1 : 2) : 2;
  if (want >= 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("fma"))
    c = &cfg_avx512;
  else if (want >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    c = &cfg_avx2;
#endif
  cfg_override = *c;
  const char *kc = getenv("TLENS_GEMM_KC");
  const char *cw = getenv("TLENS_GEMM_CW");
  if (kc && atoi(kc) > 0) cfg_override.kc = atoi(kc);
  if (cw && atoi(cw) > 0) cfg_override.cw = (atoi(cw) + c->nr - 1) / c->nr * c->nr;
  snprintf(cfg_name, sizeof cfg_name, "%s %dx%d", c->name, c->mr, c->nr);
  cfg_override.name = cfg_name;
  the_cfg = &cfg_override;
}

static const cfg_t *get_cfg(void) {
  pthread_once(&cfg_once, cfg_init);
  return the_cfg;
}

void tl_gemm_get_layout(tl_gemm_layout *out) {
  const cfg_t *c = get_cfg();
  out->isa = c->isa;
  out->nr = c->nr;
  out->kc = c->kc;
}

const char *tl_gemm_isa_name(void) { return get_cfg()->name; }

// ---------------------------------------------------------------------------------------------------------------
// scratch memory (grow-only; one slot per pool thread plus the shared packed A)

#define TL_MAX_SLOTS 66
typedef struct {
  float *p;
  size_t cap;
} slot_t;
static slot_t slots[TL_MAX_SLOTS];
static pthread_mutex_t gemm_mutex = PTHREAD_MUTEX_INITIALIZER;

static float *slot_get(int i, size_t floats) {
  slot_t *s = &slots[i];
  if (s->cap < floats) {
    free(s->p);
    // big buffers: 2 MB aligned and marked for transparent huge pages (fewer TLB misses in the kernels)
    size_t align = floats * sizeof(float) >= ((size_t)1 << 21) ? (size_t)1 << 21 : 4096;
    size_t bytes = (floats * sizeof(float) + align - 1) & ~(align - 1);
    void *p = NULL;
    if (posix_memalign(&p, align, bytes) != 0) p = NULL;
#ifdef MADV_HUGEPAGE
    if (p && align > 4096) madvise(p, bytes, MADV_HUGEPAGE);
#endif
    s->p = p;
    s->cap = p ? bytes / sizeof(float) : 0;
  }
  return s->p;
}
#define SLOT_A (TL_MAX_SLOTS - 1)
#define SLOT_B (TL_MAX_SLOTS - 2)

// ---------------------------------------------------------------------------------------------------------------
// one matrix

typedef struct {
  const cfg_t *cf;
  int64_t m, n, k;
  const float *a;
  int64_t ars, acs;
  const float *b;
  int64_t brs, bcs;
  const float *bp;  // whole B packed, or NULL
  int bdirect;      // B not packed: the kernels read its rows in place (few A slivers, rows contiguous)
  float *c;         // ldc = n
  float *ap;        // whole A packed
  int64_t msl, nsl, kcb, nkb;
  int64_t cw_sl, nchunks, mparts, mpart_sl;
  int fail;
  int threads;                 // workers sharing the tasks (the next chunk of a task is likely task + threads)
  const struct batch_ctx *pf;  // batches of small products: prefetch entry pf_i's operands once this one is packed
  int64_t pf_i;
} job_t;

static void job_setup(job_t *j, const cfg_t *cf, int64_t m, int64_t n, int64_t k) {
  memset(j, 0, sizeof *j);
  j->cf = cf;
  j->m = m;
  j->n = n;
  j->k = k;
  j->msl = (m + cf->mr - 1) / cf->mr;
  j->nsl = (n + cf->nr - 1) / cf->nr;
  j->nkb = (k + cf->kc - 1) / cf->kc;
  j->kcb = (k + j->nkb - 1) / j->nkb;
}

// Packs slivers [s0, s1) of one K block (k0, kc): sliver s (lanes p < W, from element index s*W) goes to
// dst + (s - s0)*kc*W. Source element (k, lane q) is at src[k*ks + q*ps]. When the lanes are contiguous in memory
// (ps == 1: rows of a row-major B, columns of a transposed A), the slivers are packed 16 k-rows at a time so that
// each source row is read once as a whole, not once per sliver (a big B then streams from DRAM page by page).
static void pack_slivers(const cfg_t *cf, int W, const float *src, int64_t ps, int64_t ks, int64_t lanes, int64_t kc,
                         int64_t s0, int64_t s1, float *dst) {
  if (ps == 1 && ks != 1 && s1 - s0 > 1) {
    const int64_t rows = 16;  // k rows per pass
    for (int64_t kk = 0; kk < kc; kk += rows) {
      int64_t kw = kc - kk < rows ? kc - kk : rows;
      for (int64_t s = s0; s < s1; s++) {
        int64_t q0 = s * W;
        int cnt = (int)(lanes - q0 < W ? lanes - q0 : W);
        cf->pack(dst + (s - s0) * kc * W + kk * W, W, src + kk * ks + q0, 1, ks, cnt, kw);
      }
    }
    return;
  }
  for (int64_t s = s0; s < s1; s++) {
    int64_t q0 = s * W;
    int cnt = (int)(lanes - q0 < W ? lanes - q0 : W);
    cf->pack(dst + (s - s0) * kc * W, W, src + q0 * ps, ps, ks, cnt, kc);
  }
}

static void pack_a_range(job_t *j, int64_t s0, int64_t s1) {
  const cfg_t *cf = j->cf;
  int64_t mpad = j->msl * cf->mr;
  for (int64_t p = 0; p < j->nkb; p++) {
    int64_t k0 = p * j->kcb, kc = j->k - k0 < j->kcb ? j->k - k0 : j->kcb;
    pack_slivers(cf, cf->mr, j->a + k0 * j->acs, j->ars, j->acs, j->m, kc, s0, s1, j->ap + k0 * mpad + s0 * kc * cf->mr);
  }
}

// Packs columns slivers [s0, s1) of K block (k0, kc) of B into dst (the packed-B layout of that block, from s0).
static void pack_b_block(const cfg_t *cf, const float *b, int64_t brs, int64_t bcs, int64_t n, int64_t k0,
                         int64_t kc, int64_t s0, int64_t s1, float *dst) {
  pack_slivers(cf, cf->nr, b + k0 * brs, bcs, brs, n, kc, s0, s1, dst);
}

// Packs column slivers [s0, min(s1, nsl)) of B, every K block (of kcb), into dst: the layout of a whole packed B.
static void pack_b_whole_range(const cfg_t *cf, const float *b, int64_t brs, int64_t bcs, int64_t n, int64_t k,
                               int64_t kcb, int64_t nsl, int64_t s0, int64_t s1, float *dst) {
  if (s1 > nsl) s1 = nsl;
  int64_t npad = nsl * cf->nr;
  for (int64_t k0 = 0; k0 < k; k0 += kcb) {
    int64_t kc = k - k0 < kcb ? k - k0 : kcb;
    pack_b_block(cf, b, brs, bcs, n, k0, kc, s0, s1, dst + k0 * npad + s0 * kc * cf->nr);
  }
}

struct batch_ctx;
static void prefetch_next(const struct batch_ctx *bc, int64_t i);

// Prefetches (to L2) slice `part` of `parts` of the source of column chunk `chunk`, K block 0.
static void prefetch_b_slice(const job_t *j, int64_t chunk, int64_t part, int64_t parts) {
  int64_t c0 = chunk * j->cw_sl * j->cf->nr, c1 = c0 + j->cw_sl * j->cf->nr;
  if (c1 > j->n) c1 = j->n;
  int64_t kc = j->k < j->kcb ? j->k : j->kcb;
  if (j->bcs == 1) {  // rows contiguous: slice the K rows
    int64_t r0 = kc * part / parts, r1 = kc * (part + 1) / parts;
    for (int64_t r = r0; r < r1; r++) {
      const char *q = (const char *)(j->b + r * j->brs + c0);
      for (int64_t off = 0; off < (c1 - c0) * 4; off += 64) __builtin_prefetch(q + off, 0, 2);
    }
  } else if (j->brs == 1) {  // columns contiguous: slice the columns
    int64_t q0 = c0 + (c1 - c0) * part / parts, q1 = c0 + (c1 - c0) * (part + 1) / parts;
    for (int64_t c = q0; c < q1; c++) {
      const char *q = (const char *)(j->b + c * j->bcs);
      for (int64_t off = 0; off < kc * 4; off += 64) __builtin_prefetch(q + off, 0, 2);
    }
  }
}

#define SMALL_M_SLIVERS 4

static void compute_task(job_t *j, int64_t task, float *bbuf) {
  const cfg_t *cf = j->cf;
  int MR = cf->mr, NR = cf->nr;
  int64_t chunk = task % j->nchunks, part = task / j->nchunks;
  int64_t js0 = chunk * j->cw_sl, js1 = js0 + j->cw_sl;
  if (js1 > j->nsl) js1 = j->nsl;
  int64_t is0 = part * j->mpart_sl, is1 = is0 + j->mpart_sl;
  if (is1 > j->msl) is1 = j->msl;
  if (js0 >= js1 || is0 >= is1) return;
  int64_t mpad = j->msl * MR, npad = j->nsl * NR, n = j->n, m = j->m;
  kern_fn kern = cf->kern;
  for (int64_t p = 0; p < j->nkb; p++) {
    int64_t k0 = p * j->kcb, kc = j->k - k0 < j->kcb ? j->k - k0 : j->kcb;
    if (j->bdirect) {
      if (j->pf && p == 0 && task == 0) prefetch_next(j->pf, j->pf_i);
      const float *abase = j->ap + k0 * mpad;
      for (int64_t js = js0; js < js1; js++) {
        int64_t c0 = js * NR;
        int nr = (int)(n - c0 < NR ? n - c0 : NR);
        const float *bs = j->b + k0 * j->brs + c0;
        int64_t ldb = j->brs;
        if (nr < NR) {  // the last columns: reading a whole NR-wide row could leave the array
          pack_b_block(cf, j->b, j->brs, j->bcs, n, k0, kc, js, js + 1, bbuf);
          bs = bbuf;
          ldb = NR;
        }
        for (int64_t is = is0; is < is1; is++) {
          int64_t r0 = is * MR;
          int mr = (int)(m - r0 < MR ? m - r0 : MR);
          cf->kern_direct(kc, abase + is * kc * MR, bs, ldb, j->c + r0 * n + c0, n, mr, nr, p > 0);
        }
      }
      continue;
    }
    const float *bc;
    if (j->bp) {
      bc = j->bp + k0 * npad + js0 * kc * NR;
    } else {
      pack_b_block(cf, j->b, j->brs, j->bcs, n, k0, kc, js0, js1, bbuf);
      bc = bbuf;
    }
    if (j->pf && p == 0 && task == 0) prefetch_next(j->pf, j->pf_i);
    const float *abase = j->ap + k0 * mpad;
    // B packed here from the caller's matrix: while computing the last K block, pull the source of this
    // worker's probable next chunk (task + threads) into the cache, a slice per A sliver
    int64_t pf_chunk = -1;
    if (!j->bp && p == j->nkb - 1 && j->mparts == 1 && task + j->threads < j->nchunks) pf_chunk = task + j->threads;
    if (j->bp && is1 - is0 <= SMALL_M_SLIVERS) {
      // few rows (M <= 4 slivers, e.g. one prompt): B streams from memory once, each B sliver serving every A
      // sliver while it is in L1, instead of the whole chunk being re-read from memory per A sliver
      for (int64_t js = js0; js < js1; js++) {
        int64_t c0 = js * NR;
        int nr = (int)(n - c0 < NR ? n - c0 : NR);
        const float *bs = bc + (js - js0) * kc * NR;
        if (cf->kern_tall && is1 - is0 == 2 && NR == 32) {
          const float *a0 = abase + is0 * kc * MR;
          int mr = (int)(m - is0 * MR < 2 * MR ? m - is0 * MR : 2 * MR);
          float *cp = j->c + is0 * MR * n + c0;
          cf->kern_tall(kc, a0, a0 + kc * MR, bs, cp, n, mr, nr < 16 ? nr : 16, p > 0, 1);
          if (nr > 16) cf->kern_tall(kc, a0, a0 + kc * MR, bs + 16, cp + 16, n, mr, nr - 16, p > 0, 0);
          continue;
        }
        for (int64_t is = is0; is < is1; is++) {
          int64_t r0 = is * MR;
          int mr = (int)(m - r0 < MR ? m - r0 : MR);
          kern(kc, abase + is * kc * MR, bs, j->c + r0 * n + c0, n, mr, nr, p > 0);
        }
      }
      continue;
    }
    for (int64_t is = is0; is < is1; is++) {
      if (pf_chunk >= 0) prefetch_b_slice(j, pf_chunk, is - is0, is1 - is0);
      const float *as = abase + is * kc * MR;
      int64_t r0 = is * MR;
      int mr = (int)(m - r0 < MR ? m - r0 : MR);
      float *crow = j->c + r0 * n;
      for (int64_t js = js0; js < js1; js++) {
        int64_t c0 = js * NR;
        int nr = (int)(n - c0 < NR ? n - c0 : NR);
        kern(kc, as, bc + (js - js0) * kc * NR, crow + c0, n, mr, nr, p > 0);
      }
    }
  }
}

static void compute_task_fn(void *ctx, int task, int thread) {
  job_t *j = ctx;
  float *bbuf = NULL;
  if (!j->bp) bbuf = slot_get(thread, (size_t)j->kcb * j->cw_sl * j->cf->nr);
  compute_task(j, task, bbuf);
}

// Column chunks / M parts for `threads` workers. With B already packed (cached, or pre-packed by this call) a
// task's B chunk costs nothing to re-read, so M is split too, to get ~4 tasks per thread (balance under noise);
// with B packed on the fly by each task, only columns are split (splitting M would pack B chunks twice).
static void job_partition(job_t *j, int threads) {
  const cfg_t *cf = j->cf;
  int64_t cwmax = cf->cw / cf->nr;
  if (cwmax < 1) cwmax = 1;
  int64_t nch = (j->nsl + cwmax - 1) / cwmax;
  int64_t mparts = 1;
  if (threads > 1) {
    int64_t target = 4 * threads;
    if (j->bp || j->bdirect) {
      if (nch < target) {
        mparts = (target + nch - 1) / nch;
        int64_t maxp = j->msl / 4;  // parts of >= 4 slivers
        if (mparts > maxp) mparts = maxp;
        if (mparts < 1) mparts = 1;
      }
      if (nch * mparts < target && nch < j->nsl) {  // still few tasks (small M): narrower chunks
        int64_t want = (target + mparts - 1) / mparts;
        int64_t minw = 4;                            // chunks of >= 4 slivers
        int64_t maxch = (j->nsl + minw - 1) / minw;
        nch = want < maxch ? want : maxch;
        if (nch < 1) nch = 1;
      }
    } else if (nch < 8 * threads) {
      nch = (nch + threads - 1) / threads * threads;
    }
  }
  if (nch > j->nsl) nch = j->nsl;
  j->cw_sl = (j->nsl + nch - 1) / nch;
  j->nchunks = (j->nsl + j->cw_sl - 1) / j->cw_sl;
  if (mparts > j->msl) mparts = j->msl;
  // few tasks that do not divide evenly over the threads: split M (more)
  if (threads > 1 && (j->nchunks * mparts) % threads != 0 && j->nchunks * mparts < 8 * threads) {
    int64_t mp = mparts;
    while (mp < j->msl && (j->nchunks * mp) % threads != 0) mp++;
    if ((j->nchunks * mp) % threads == 0) mparts = mp;
  }
  j->mpart_sl = (j->msl + mparts - 1) / mparts;
  j->mparts = (j->msl + j->mpart_sl - 1) / j->mpart_sl;
}

// Whole matrix on the calling thread, scratch slot `slot` (B chunk) and A packed after it.
static void gemm_serial(job_t *j, int slot) {
  j->threads = 1;
  job_partition(j, 1);
  size_t afl = (size_t)j->msl * j->cf->mr * j->k;
  size_t bfl = j->bp ? 0 : (size_t)j->kcb * j->cw_sl * j->cf->nr;
  float *buf = slot_get(slot, afl + bfl + 16);
  if (!buf) {
    j->fail = 1;
    return;
  }
  j->ap = buf;
  pack_a_range(j, 0, j->msl);
  float *bbuf = buf + ((afl + 15) & ~(size_t)15);
  for (int64_t t = 0; t < j->nchunks * j->mparts; t++) compute_task(j, t, bbuf);
}

// Pre-pack phase: tasks [0, pa_tasks) pack A sliver groups, tasks [pa_tasks, pa_tasks + pb_tasks) B sliver groups.
typedef struct {
  job_t *j;
  int64_t pa_tasks, pa_sl, pb_tasks, pb_sl;
  float *bdst;
} prepack_ctx;

static void prepack_task(void *ctx, int task, int thread) {
  (void)thread;
  prepack_ctx *pc = ctx;
  job_t *j = pc->j;
  if (task < pc->pa_tasks) {
    int64_t s0 = task * pc->pa_sl, s1 = s0 + pc->pa_sl;
    if (s1 > j->msl) s1 = j->msl;
    pack_a_range(j, s0, s1);
    return;
  }
  task -= (int)pc->pa_tasks;
  int64_t s0 = task * pc->pb_sl;
  pack_b_whole_range(j->cf, j->b, j->brs, j->bcs, j->n, j->k, j->kcb, j->nsl, s0, s0 + pc->pb_sl, pc->bdst);
}

#define PREPACK_B_MAX_FLOATS (4 << 20)  // B packed whole by the call when it is at most this big (16 MB)

// Whole matrix on the pool.
static void gemm_threaded(job_t *j, int threads) {
  j->threads = threads;
  prepack_ctx pc;
  memset(&pc, 0, sizeof pc);
  pc.j = j;
  size_t afl = (size_t)j->msl * j->cf->mr * j->k;
  size_t bfl = (size_t)j->nsl * j->cf->nr * j->k;
  j->ap = slot_get(SLOT_A, afl);
  if (!j->ap) {
    j->fail = 1;
    return;
  }
  if (!j->bp && !j->bdirect && bfl <= PREPACK_B_MAX_FLOATS) {
    pc.bdst = slot_get(SLOT_B, bfl);
    if (!pc.bdst) {
      j->fail = 1;
      return;
    }
  }
  // A (and B) packing tasks: ~4 per thread each, not tiny
  int64_t pa = threads * 4, pb = 0;
  if ((int64_t)j->msl * j->k < 32 * 1024) pa = 1;
  if (pa > j->msl) pa = j->msl;
  pc.pa_sl = (j->msl + pa - 1) / pa;
  pc.pa_tasks = (j->msl + pc.pa_sl - 1) / pc.pa_sl;
  if (pc.bdst) {
    pb = threads * 4;
    if ((int64_t)j->nsl * j->k < 32 * 1024) pb = 1;
    if (pb > j->nsl) pb = j->nsl;
    pc.pb_sl = (j->nsl + pb - 1) / pb;
    pc.pb_tasks = (j->nsl + pc.pb_sl - 1) / pc.pb_sl;
  }
  tl_parallel_for((int)(pc.pa_tasks + pc.pb_tasks), prepack_task, &pc);
  if (pc.bdst) j->bp = pc.bdst;
  job_partition(j, threads);
  if (!j->bp) {  // B chunk buffers for the tasks that pack B on the fly
    for (int t = 0; t < threads; t++)
      if (!slot_get(t, (size_t)j->kcb * j->cw_sl * j->cf->nr)) {
        j->fail = 1;
        return;
      }
  }
  tl_parallel_for((int)(j->nchunks * j->mparts), compute_task_fn, j);
}

// ---------------------------------------------------------------------------------------------------------------
// batched entry

typedef struct batch_ctx {
  const cfg_t *cf;
  int64_t batch, m, n, k;
  const float *a;
  const int64_t *aoff;
  int64_t ars, acs;
  const float *b;
  const int64_t *boff;
  int64_t brs, bcs;
  const float *bp;
  float *out;
  int64_t per_task;
  int fail;
} batch_ctx;

static void run_one(batch_ctx *bc, int64_t i, int slot, int threads, int64_t next) {
  job_t j;
  job_setup(&j, bc->cf, bc->m, bc->n, bc->k);
  if (next >= 0) {
    j.pf = bc;
    j.pf_i = next;
  }
  j.a = bc->a + bc->aoff[i];
  j.ars = bc->ars;
  j.acs = bc->acs;
  if (bc->bp) {
    j.bp = bc->bp;
  } else {
    j.b = bc->b + bc->boff[i];
    j.brs = bc->brs;
    j.bcs = bc->bcs;
  }
  j.c = bc->out + i * bc->m * bc->n;
  // few A slivers (m <= 8*MR): each B element is used only a few times, so packing B costs more than it saves;
  // the kernels read B's rows in place (measured: as fast as a cached packed B up to ~15 slivers)
  if (!j.bp && j.bcs == 1 && j.msl <= 8) j.bdirect = 1;
  if (threads > 1)
    gemm_threaded(&j, threads);
  else
    gemm_serial(&j, slot);
  if (j.fail) bc->fail = 1;
}

// Prefetches a small strided [rows, cols] operand (rows or columns contiguous) into the cache: for batches of
// small products, the next entry's operands are requested while the current one is computed.
static void prefetch_operand(const float *p, int64_t rows, int64_t rs, int64_t cols, int64_t cs) {
  if (cs != 1) {
    if (rs != 1) return;
    int64_t t = rows;
    rows = cols;
    cols = t;
    rs = cs;
  }
  if (rows * ((cols + 15) / 16) > 512) return;
  for (int64_t r = 0; r < rows; r++) {
    const char *q = (const char *)(p + r * rs);
    for (int64_t c = 0; c < cols; c += 16) __builtin_prefetch(q + c * 4, 0, 3);
    __builtin_prefetch(q + (cols - 1) * 4, 0, 3);
  }
}

static void prefetch_next(const struct batch_ctx *bc, int64_t i) {
  prefetch_operand(bc->a + bc->aoff[i], bc->m, bc->ars, bc->k, bc->acs);
  if (!bc->bp) prefetch_operand(bc->b + bc->boff[i], bc->k, bc->brs, bc->n, bc->bcs);
}

static void batch_task(void *ctx, int task, int thread) {
  batch_ctx *bc = ctx;
  int64_t i0 = task * bc->per_task, i1 = i0 + bc->per_task;
  if (i1 > bc->batch) i1 = bc->batch;
  for (int64_t i = i0; i < i1; i++) run_one(bc, i, thread, 1, i + 1 < i1 ? i + 1 : -1);
}

static int gemm_batched_locked(int64_t batch, int64_t m, int64_t n, int64_t k, const float *a, const int64_t *aoff,
                               int64_t ars, int64_t acs, const float *b, const int64_t *boff, int64_t brs,
                               int64_t bcs, const float *bpacked, float *out) {
  if (batch <= 0 || m <= 0 || n <= 0) return 0;
  if (k <= 0) {
    memset(out, 0, (size_t)(batch * m * n) * sizeof(float));
    return 0;
  }
  batch_ctx bc = {get_cfg(), batch, m, n, k, a, aoff, ars, acs, b, boff, brs, bcs, bpacked, out, 1, 0};
  double flops = 2.0 * (double)m * (double)n * (double)k;
  int threads = tl_num_threads();
  if (threads > TL_MAX_SLOTS - 2) threads = TL_MAX_SLOTS - 2;
  if (threads <= 1 || flops * (double)batch < 4e5) {
    bc.per_task = batch;
    batch_task(&bc, 0, 0);
  } else if (batch > 1 && flops < 3e7) {
    int64_t tasks = batch < 16 * threads ? batch : 16 * threads;
    bc.per_task = (batch + tasks - 1) / tasks;
    tasks = (batch + bc.per_task - 1) / bc.per_task;
    tl_parallel_for((int)tasks, batch_task, &bc);
  } else {
    for (int64_t i = 0; i < batch; i++) run_one(&bc, i, 0, threads, -1);
  }
  return bc.fail ? -1 : 0;
}

int tl_sgemm_batched(int64_t batch, int64_t m, int64_t n, int64_t k, const float *a, const int64_t *aoff,
                     int64_t ars, int64_t acs, const float *b, const int64_t *boff, int64_t brs, int64_t bcs,
                     const float *bpacked, float *out) {
  pthread_mutex_lock(&gemm_mutex);
  int rc = gemm_batched_locked(batch, m, n, k, a, aoff, ars, acs, b, boff, brs, bcs, bpacked, out);
  pthread_mutex_unlock(&gemm_mutex);
  return rc;
}

// ---------------------------------------------------------------------------------------------------------------
// packing B once

size_t tl_gemm_packed_b_floats(int64_t k, int64_t n) {
  const cfg_t *cf = get_cfg();
  int64_t nsl = (n + cf->nr - 1) / cf->nr;
  return (size_t)(k * nsl * cf->nr);
}

typedef struct {
  const cfg_t *cf;
  const float *b;
  int64_t rs, cs, k, n, nsl, kcb, per;
  float *dst;
} packb_ctx;

static void packb_task(void *ctx, int task, int thread) {
  (void)thread;
  packb_ctx *pc = ctx;
  int64_t s0 = task * pc->per;
  pack_b_whole_range(pc->cf, pc->b, pc->rs, pc->cs, pc->n, pc->k, pc->kcb, pc->nsl, s0, s0 + pc->per, pc->dst);
}

void tl_gemm_pack_b(const float *b, int64_t rs, int64_t cs, int64_t k, int64_t n, float *dst) {
  const cfg_t *cf = get_cfg();
  if (k <= 0 || n <= 0) return;
  job_t j;
  job_setup(&j, cf, 1, n, k);
  packb_ctx pc = {cf, b, rs, cs, k, n, j.nsl, j.kcb, 1, dst};
  int threads = tl_num_threads();
  int64_t tasks = (k * n < 256 * 1024 || threads <= 1) ? 1 : threads * 4;
  if (tasks > j.nsl) tasks = j.nsl;
  pc.per = (j.nsl + tasks - 1) / tasks;
  tasks = (j.nsl + pc.per - 1) / pc.per;
  tl_parallel_for((int)tasks, packb_task, &pc);
}
