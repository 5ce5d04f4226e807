// The bf16 GEMM on AMX tiles (Sapphire Rapids and later): C blocks of 32x32 as four 16x16 fp32 tiles, each 16-pair
// step two A tiles (16 rows x 16 pairs) and two B tiles (16 pairs x 16 columns, read straight from the packed B's
// pair rows, 128 bytes apart) into four tdpbf16ps. A is packed per call into 32-row slivers: chunk c (16 pairs) of a
// sliver holds its 32 rows' 16 pair words each. Linux hands out the tile data state only on request
// (arch_prctl ARCH_REQ_XCOMP_PERM); where that fails, or the CPU has no AMX-BF16, the AVX512-BF16 kernel runs.
#include "gemm_bf16.h"

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gemm_bf16_round.h"

#define TGTAMX __attribute__((target("avx512f,avx512vl,avx512bf16,amx-tile,amx-bf16")))
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

int tl_bf16_amx_ready(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 22)) || !(d & (1u << 24))) return 0;  // AMX-BF16, AMX-TILE
  return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

typedef struct {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} tile_config;

// Tiles 0-3: C (16 rows x 16 fp32); 4-5: A (16 rows x 16 pair words); 6-7: B (16 pairs x 16 column words). A static
// object: ldtilecfg's asm names only the first byte as its input, so a local one's other stores could be dropped.
static const tile_config CONFIG = {
    .palette = 1, .colsb = {64, 64, 64, 64, 64, 64, 64, 64}, .rows = {16, 16, 16, 16, 16, 16, 16, 16}};

TGTAMX static void amx_begin(void) { _tile_loadconfig(&CONFIG); }

TGTAMX static void amx_end(void) { _tile_release(); }

TGTAMX static void amx_pack_a(const float *a, int64_t ars, int64_t acs, int64_t m, int64_t k, int64_t q0, int64_t kc,
                              int64_t s0, int64_t s1, uint32_t *dst) {
  for (int64_t s = s0; s < s1; s++, dst += kc * BF_AMX_MR) {
    for (int i = 0; i < BF_AMX_MR; i++) {
      int64_t r = s * BF_AMX_MR + i;
      for (int64_t c = 0; c < kc; c += 16) {
        uint32_t *d = dst + c * BF_AMX_MR + i * 16;
        int64_t kk = 2 * (q0 + c);  // first element of the chunk
        if (r >= m) {
          memset(d, 0, 64);
        } else if (acs == 1) {
          const float *row = a + r * ars + kk;
          __m256i wl = _mm512_cvtepi32_epi16(bf16_round16(_mm512_maskz_loadu_ps(lanes(k - kk), row)));
          __m256i wh = _mm512_cvtepi32_epi16(bf16_round16(_mm512_maskz_loadu_ps(lanes(k - kk - 16), row + 16)));
          _mm512_storeu_si512(d, _mm512_inserti64x4(_mm512_castsi256_si512(wl), wh, 1));
        } else {
          for (int p = 0; p < 16; p++) {
            int64_t e = kk + 2 * p;
            d[p] = pair_word(e < k ? a[r * ars + e * acs] : 0.0f, e + 1 < k ? a[r * ars + (e + 1) * acs] : 0.0f);
          }
        }
      }
    }
  }
}

// C[mr x nr] (=|+=) the 32-row A sliver times the B sliver over kc pairs (a multiple of 16).
TGTAMX static void amx_kern(int64_t kc, const uint32_t *A, const uint32_t *B, float *C, int64_t ldc, int mr, int nr,
                            int acc) {
  float tmp[BF_AMX_MR * BF_NR] __attribute__((aligned(64)));
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int64_t c = 0; c < kc; c += 16) {
    const uint32_t *ac = A + c * BF_AMX_MR, *bc = B + c * BF_NR;
    _tile_loadd(4, ac, 64);
    _tile_loadd(5, ac + 16 * 16, 64);
    _tile_loadd(6, bc, BF_NR * 4);
    _tile_loadd(7, bc + 16, BF_NR * 4);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, tmp, BF_NR * 4);
  _tile_stored(1, tmp + 16, BF_NR * 4);
  _tile_stored(2, tmp + 16 * BF_NR, BF_NR * 4);
  _tile_stored(3, tmp + 16 * BF_NR + 16, BF_NR * 4);
  __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
  for (int i = 0; i < mr; i++) {
    float *cp = C + i * ldc;
    __m512 v0 = _mm512_load_ps(tmp + i * BF_NR), v1 = _mm512_load_ps(tmp + i * BF_NR + 16);
    if (acc) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cp));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cp + 16));
    }
    _mm512_mask_storeu_ps(cp, m0, v0);
    _mm512_mask_storeu_ps(cp + 16, m1, v1);
  }
}

const bf_kernels tl_bf16_amx = {BF_AMX_MR, amx_pack_a, amx_kern, amx_begin, amx_end, "AMX-BF16 32x32"};

#else

int tl_bf16_amx_ready(void) { return 0; }
const bf_kernels tl_bf16_amx = {BF_AMX_MR, NULL, NULL, NULL, NULL, "none"};

#endif
