// AVX2 + FMA instantiation of the flat kernels (ops_kern.h).
#include "ops_internal.h"
#ifdef TL_OPS_X86
#include <immintrin.h>

#define SFX avx2
#define TGT __attribute__((target("avx2,fma")))
#define VINL static inline __attribute__((always_inline)) TGT
#define W 8
typedef __m256 vf;
typedef __m256i vi;
typedef __m256 vm;

VINL __m256i tl_lane_mask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
VINL vf v_set1(float a) { return _mm256_set1_ps(a); }
VINL vf v_load(const float *p) { return _mm256_loadu_ps(p); }
VINL void v_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
VINL vf v_loadn(const float *p, int n, float fill) {
  __m256i m = tl_lane_mask(n);
  return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
VINL void v_storen(float *p, vf v, int n) { _mm256_maskstore_ps(p, tl_lane_mask(n), v); }
VINL vf v_add(vf a, vf b) { return _mm256_add_ps(a, b); }
VINL vf v_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
VINL vf v_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
VINL vf v_div(vf a, vf b) { return _mm256_div_ps(a, b); }
VINL vf v_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
VINL vf v_sqrt(vf a) { return _mm256_sqrt_ps(a); }
VINL vf v_max(vf a, vf b) { return _mm256_max_ps(a, b); }
VINL vf v_min(vf a, vf b) { return _mm256_min_ps(a, b); }
VINL vf v_neg(vf a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
VINL vf v_abs(vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
VINL vm v_lt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
VINL vm v_le(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
VINL vm v_gt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
VINL vm v_eq(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
VINL vm v_nan(vf a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
VINL vf v_sel(vm m, vf a, vf b) { return _mm256_blendv_ps(b, a, m); }
VINL vm m_zero(void) { return _mm256_setzero_ps(); }
VINL vm m_or(vm a, vm b) { return _mm256_or_ps(a, b); }
VINL vm m_and(vm a, vm b) { return _mm256_and_ps(a, b); }
VINL int m_any(vm a) { return _mm256_movemask_ps(a) != 0; }
VINL vi v_asint(vf a) { return _mm256_castps_si256(a); }
VINL vf v_asfloat(vi a) { return _mm256_castsi256_ps(a); }
VINL vi vi_set1(int a) { return _mm256_set1_epi32(a); }
VINL vi vi_add(vi a, vi b) { return _mm256_add_epi32(a, b); }
VINL vi vi_sub(vi a, vi b) { return _mm256_sub_epi32(a, b); }
VINL vi vi_and(vi a, vi b) { return _mm256_and_si256(a, b); }
VINL vi vi_or(vi a, vi b) { return _mm256_or_si256(a, b); }
#define vi_srai(a, k) _mm256_srai_epi32((a), (k))
#define vi_slli(a, k) _mm256_slli_epi32((a), (k))
VINL vi v_cvti(vf a) { return _mm256_cvtps_epi32(a); }
VINL vf vi_cvtf(vi a) { return _mm256_cvtepi32_ps(a); }
VINL float v_hsum(vf a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
VINL float v_hmax(vf a) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
VINL float v_hmin(vf a) {
  __m128 s = _mm_min_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_min_ps(s, _mm_movehl_ps(s, s));
  s = _mm_min_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

#include "ops_kern.h"
#endif
