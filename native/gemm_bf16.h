// bf16 GEMM (optional fast path, off by default): out = A @ B with A and B rounded to bfloat16 and the products
// accumulated in fp32, on AMX tiles (tdpbf16ps) or AVX512-BF16 (vdpbf16ps). B is packed once (a reused weight) or
// per call.
//
// Rounding (the same in the packers here and in src/backend/bf16.ts, which emulates this path elsewhere):
// round to nearest even; NaN stays a (quiet) NaN; zeros and fp32 subnormals become signed zeros (vdpbf16ps treats
// subnormal inputs as zero anyway).
//
// Layout: K is taken in pairs (k = 2q, 2q + 1), padded with zeros to a multiple of 16 pairs (an AMX tile's depth)
// and cut into nkb blocks of kcbp <= 512 pairs (a multiple of 16). A packed B is, block by block, its 32-column
// slivers (block p at p*kcbp*npad words, sliver s at s*kc_p*32 within it), each pair q of a sliver 32 words, one per
// column: low half B[2q][c], high half B[2q+1][c].
// A is packed per call in row slivers of the kernel set's own layout (AVX512-BF16: 14 rows, pair q of a sliver 14
// words, one per row; AMX: gemm_bf16_amx.c).
#ifndef TL_GEMM_BF16_H
#define TL_GEMM_BF16_H
#include <stddef.h>
#include <stdint.h>

#define BF_MR 14
#define BF_NR 32
#define BF_KCP 512  // maximum pairs per K block

// Whether this CPU runs the bf16 kernels (AVX512-BF16, and TLENS_GEMM_ISA / TLENS_GEMM_BF16=0 do not turn it off;
// AMX tiles too where present, unless TLENS_GEMM_AMX=0), and which kernel set runs.
int tl_bf16_fast(void);
const char *tl_bf16_kernel_name(void);

// Pairs of a K (padded), pairs per K block, and the 32-bit words of a packed [k, n] B.
int64_t tl_bf16_pairs(int64_t k);
int64_t tl_bf16_kcbp(int64_t k);
size_t tl_bf16_packed_b_words(int64_t k, int64_t n);

// Packs B (element (kk, j) at b[kk*rs + j*cs]) into dst (tl_bf16_packed_b_words words). Needs tl_bf16_fast().
void tl_bf16_pack_b(const float *b, int64_t rs, int64_t cs, int64_t k, int64_t n, uint32_t *dst);

// out[i] = A[i] @ B for i < batch (A[i] element (r, kk) at a[aoff[i] + r*ars + kk*acs], B packed, out contiguous
// [batch, m, n]); offsets already validated. Returns 0, or -1 when scratch memory could not be allocated (or
// !tl_bf16_fast()).
int tl_bf16_gemm(int64_t batch, int64_t m, int64_t n, int64_t k, const float *a, const int64_t *aoff, int64_t ars,
                 int64_t acs, const uint32_t *bp, float *out);

// A kernel set, internal to the driver: AVX512-BF16 (gemm_bf16_kern.c) or AMX (gemm_bf16_amx.c).
typedef struct {
  int mr;  // rows per A sliver
  // Packs row slivers [s0, s1) of A's pairs [q0, q0 + kc) into dst (sliver s at (s - s0)*kc*mr words).
  void (*pack_a)(const float *a, int64_t ars, int64_t acs, int64_t m, int64_t k, int64_t q0, int64_t kc, int64_t s0,
                 int64_t s1, uint32_t *dst);
  // C[mr x nr] (=|+=) A sliver (kc pairs x mr rows) * B sliver (kc pairs x BF_NR); ldc in elements.
  void (*kern)(int64_t kc, const uint32_t *A, const uint32_t *B, float *C, int64_t ldc, int mr, int nr, int acc);
  void (*begin)(void);  // on a thread before its first kern call (AMX: the tile configuration), or NULL
  void (*end)(void);
  const char *name;
} bf_kernels;

extern const bf_kernels tl_bf16_avx512;
#define BF_AMX_MR 32
extern const bf_kernels tl_bf16_amx;
// Does this CPU have AMX-BF16, and did Linux grant this process the tile data state? (asked once)
int tl_bf16_amx_ready(void);

#endif
