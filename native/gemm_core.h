// Single-precision GEMM core (no N-API): BLIS-style packed micro-kernels for AVX-512, AVX2+FMA and portable C,
// chosen at run time. See gemm_core.c for the design.
//
// Environment (read once, for tests of the fallbacks and of odd blockings): TLENS_GEMM_ISA = c | avx2 | avx512
// caps the instruction set; TLENS_GEMM_KC / TLENS_GEMM_CW override the K block and the column-chunk width.
#ifndef TL_GEMM_CORE_H
#define TL_GEMM_CORE_H
#include <stddef.h>
#include <stdint.h>

// Parameters that fix the layout of a packed B (a packed buffer is only valid for the same values).
typedef struct {
  int isa;  // 0 portable C, 1 AVX2+FMA, 2 AVX-512
  int nr;   // columns per B micro-panel
  int kc;   // maximum K block
} tl_gemm_layout;

void tl_gemm_get_layout(tl_gemm_layout *out);
const char *tl_gemm_isa_name(void);

// Floats in the packed form of a [k, n] B (without any header).
size_t tl_gemm_packed_b_floats(int64_t k, int64_t n);

// Packs B (element (kk, j) at b[kk*rs + j*cs]) into dst (tl_gemm_packed_b_floats floats, 64-byte aligned ideally).
void tl_gemm_pack_b(const float *b, int64_t rs, int64_t cs, int64_t k, int64_t n, float *dst);

// out[i] = A[i] @ B[i] for i < batch; A[i] element (r, kk) at a[aoff[i] + r*ars + kk*acs]; B[i] element (kk, j) at
// b[boff[i] + kk*brs + j*bcs], or, when bpacked != NULL, B is shared and given in packed form. out is contiguous
// [batch, m, n]. Offsets and strides must already be validated by the caller. Returns 0, or -1 when scratch
// memory could not be allocated.
int tl_sgemm_batched(int64_t batch, int64_t m, int64_t n, int64_t k,
                     const float *a, const int64_t *aoff, int64_t ars, int64_t acs,
                     const float *b, const int64_t *boff, int64_t brs, int64_t bcs,
                     const float *bpacked, float *out);

#endif
