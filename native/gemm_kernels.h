// Internal declarations of the GEMM core (gemm_core.c drives; gemm_pack.c packs; gemm_config.c picks the
// instruction set; gemm_kern_{generic,avx2,avx512}.c hold the micro-kernels). Not part of the public API.
#ifndef TL_GEMM_KERNELS_H
#define TL_GEMM_KERNELS_H
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#define TL_X86 1
#endif

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

// The micro-kernel sets, one per instruction set (gemm_kern_*.c), and the portable packer the others fall back to.
extern const cfg_t tl_gemm_cfg_generic;
#ifdef TL_X86
extern const cfg_t tl_gemm_cfg_avx2;
extern const cfg_t tl_gemm_cfg_avx512;
#endif
void tl_gemm_pack_generic(float *dst, int W, const float *src, int64_t ps, int64_t ks, int cnt, int64_t kc);

// The configuration in use: the best instruction set of this CPU, capped and re-blocked by TLENS_GEMM_* (read once).
const cfg_t *tl_gemm_cfg(void);

#endif
