// Portable instantiation of the flat kernels (ops_kern.h): one lane, plain C; the compiler vectorises what it can
// for the baseline instruction set. Used on CPUs without AVX2 and on non-x86 machines.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ops_internal.h"

#define SFX generic
#define TGT
#define VINL static inline __attribute__((always_inline))
#define W 1
typedef float vf;
typedef int32_t vi;
typedef int vm;

VINL vf v_set1(float a) { return a; }
VINL vf v_load(const float *p) { return *p; }
VINL void v_store(float *p, vf v) { *p = v; }
VINL vf v_loadn(const float *p, int n, float fill) { return n > 0 ? *p : fill; }
VINL void v_storen(float *p, vf v, int n) { if (n > 0) *p = v; }
VINL vf v_add(vf a, vf b) { return a + b; }
VINL vf v_sub(vf a, vf b) { return a - b; }
VINL vf v_mul(vf a, vf b) { return a * b; }
VINL vf v_div(vf a, vf b) { return a / b; }
VINL vf v_fma(vf a, vf b, vf c) { return a * b + c; }  // fused where the target has FMA
VINL vf v_sqrt(vf a) { return sqrtf(a); }
VINL vf v_max(vf a, vf b) { return a > b ? a : b; }
VINL vf v_min(vf a, vf b) { return a < b ? a : b; }
VINL vf v_neg(vf a) { return -a; }
VINL vf v_abs(vf a) { return fabsf(a); }
VINL vm v_lt(vf a, vf b) { return a < b; }
VINL vm v_le(vf a, vf b) { return a <= b; }
VINL vm v_gt(vf a, vf b) { return a > b; }
VINL vm v_eq(vf a, vf b) { return a == b; }
VINL vm v_nan(vf a) { return a != a; }
VINL vf v_sel(vm m, vf a, vf b) { return m ? a : b; }
VINL vm m_zero(void) { return 0; }
VINL vm m_or(vm a, vm b) { return a | b; }
VINL vm m_and(vm a, vm b) { return a & b; }
VINL int m_any(vm a) { return a != 0; }
VINL vi v_asint(vf a) { vi r; memcpy(&r, &a, 4); return r; }
VINL vf v_asfloat(vi a) { vf r; memcpy(&r, &a, 4); return r; }
VINL vi vi_set1(int a) { return a; }
VINL vi vi_add(vi a, vi b) { return (vi)((uint32_t)a + (uint32_t)b); }
VINL vi vi_sub(vi a, vi b) { return (vi)((uint32_t)a - (uint32_t)b); }
VINL vi vi_and(vi a, vi b) { return a & b; }
VINL vi vi_or(vi a, vi b) { return a | b; }
#define vi_srai(a, k) ((vi)((a) >> (k)))
#define vi_slli(a, k) ((vi)((uint32_t)(a) << (k)))
VINL vi v_cvti(vf a) { return (vi)(a == a ? a : 0.0f); }  // used on integral values in range (or NaN)
VINL vf vi_cvtf(vi a) { return (vf)a; }
VINL float v_hsum(vf a) { return a; }
VINL float v_hmax(vf a) { return a; }
VINL float v_hmin(vf a) { return a; }

#include "ops_kern.h"
