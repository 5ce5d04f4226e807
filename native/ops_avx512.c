// AVX-512 instantiation of the flat kernels (ops_kern.h). Selected at run time when the CPU has AVX-512F/VL/DQ/BW.
#include "ops_internal.h"
#ifdef TL_OPS_X86
#include <immintrin.h>

#define SFX avx512
#define TGT __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))
#define VINL static inline __attribute__((always_inline)) TGT
#define W 16
typedef __m512 vf;
typedef __m512i vi;
typedef __mmask16 vm;

VINL vf v_set1(float a) { return _mm512_set1_ps(a); }
VINL vf v_load(const float *p) { return _mm512_loadu_ps(p); }
VINL void v_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
VINL vf v_loadn(const float *p, int n, float fill) {
  return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), (__mmask16)((1u << n) - 1u), p);
}
VINL void v_storen(float *p, vf v, int n) { _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), v); }
VINL vf v_add(vf a, vf b) { return _mm512_add_ps(a, b); }
VINL vf v_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
VINL vf v_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
VINL vf v_div(vf a, vf b) { return _mm512_div_ps(a, b); }
VINL vf v_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
VINL vf v_sqrt(vf a) { return _mm512_sqrt_ps(a); }
VINL vf v_max(vf a, vf b) { return _mm512_max_ps(a, b); }
VINL vf v_min(vf a, vf b) { return _mm512_min_ps(a, b); }
VINL vf v_neg(vf a) { return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32((int)0x80000000u))); }
VINL vf v_abs(vf a) { return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff))); }
VINL vm v_lt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
VINL vm v_le(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
VINL vm v_gt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
VINL vm v_eq(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
VINL vm v_nan(vf a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
VINL vf v_sel(vm m, vf a, vf b) { return _mm512_mask_blend_ps(m, b, a); }
VINL vm m_zero(void) { return 0; }
VINL vm m_or(vm a, vm b) { return (vm)(a | b); }
VINL vm m_and(vm a, vm b) { return (vm)(a & b); }
VINL int m_any(vm a) { return a != 0; }
VINL vi v_asint(vf a) { return _mm512_castps_si512(a); }
VINL vf v_asfloat(vi a) { return _mm512_castsi512_ps(a); }
VINL vi vi_set1(int a) { return _mm512_set1_epi32(a); }
VINL vi vi_add(vi a, vi b) { return _mm512_add_epi32(a, b); }
VINL vi vi_sub(vi a, vi b) { return _mm512_sub_epi32(a, b); }
VINL vi vi_and(vi a, vi b) { return _mm512_and_si512(a, b); }
VINL vi vi_or(vi a, vi b) { return _mm512_or_si512(a, b); }
#define vi_srai(a, k) _mm512_srai_epi32((a), (k))
#define vi_slli(a, k) _mm512_slli_epi32((a), (k))
VINL vi v_cvti(vf a) { return _mm512_cvtps_epi32(a); }
VINL vf vi_cvtf(vi a) { return _mm512_cvtepi32_ps(a); }
VINL float v_hsum(vf a) { return _mm512_reduce_add_ps(a); }
VINL float v_hmax(vf a) { return _mm512_reduce_max_ps(a); }
VINL float v_hmin(vf a) { return _mm512_reduce_min_ps(a); }

#include "ops_kern.h"
#endif
