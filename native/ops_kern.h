// Flat float32 kernels, written once against a small SIMD vocabulary and compiled once per instruction set.
// The including file defines: TGT (target attribute), VINL (inline helper prefix), W (lanes), SFX (name suffix),
// the types vf (float vector), vi (int32 vector), vm (lane mask) and the v_* / vi_* / m_* helpers below:
//   v_set1 v_load v_store v_loadn(p,n,fill) v_storen(p,v,n) v_add v_sub v_mul v_div v_fma(a,b,c)=a*b+c v_sqrt
//   v_max(a,b)=a>b?a:b  v_min(a,b)=a<b?a:b (x86 semantics: a NaN operand yields b)  v_neg v_abs
//   v_lt v_le v_gt v_eq v_nan -> vm   v_sel(m,a,b)=m?a:b   m_zero m_or m_and m_any
//   v_asint v_asfloat vi_set1 vi_add vi_sub vi_and vi_or vi_srai vi_slli v_cvti (round) vi_cvtf
//   v_hsum v_hmax v_hmin (horizontal; NaN-free inputs)
// Accuracy (tested in test/native-ops.test.ts against float64 math): |err| <= 1e-6 * max(1, |y|).
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ops_internal.h"

#define KN_(a, b) a##_##b
#define KN2(a, b) KN_(a, b)
#define KN(name) KN2(name, SFX)
#define TL_STR_(x) #x
#define TL_STR(x) TL_STR_(x)

#include "ops_kern_math.h"

#define TL_UNARY_LOOP(EXPR)                                  \
  do {                                                       \
    int64_t i_ = 0;                                          \
    for (; i_ + W <= n; i_ += W) {                           \
      vf x = v_load(xp + i_);                                \
      v_store(yp + i_, (EXPR));                              \
    }                                                        \
    if (i_ < n) {                                            \
      int rem_ = (int)(n - i_);                              \
      vf x = v_loadn(xp + i_, rem_, 1.0f);                   \
      v_storen(yp + i_, (EXPR), rem_);                       \
    }                                                        \
  } while (0)

static TGT void KN(unary)(int op, const float *xp, float *yp, int64_t n) {
  switch (op) {
    case TL_U_NEG: TL_UNARY_LOOP(v_neg(x)); break;
    case TL_U_EXP: TL_UNARY_LOOP(KN(v_exp)(x)); break;
    case TL_U_LOG: TL_UNARY_LOOP(KN(v_log)(x)); break;
    case TL_U_SQRT: TL_UNARY_LOOP(v_sqrt(x)); break;
    case TL_U_RSQRT: TL_UNARY_LOOP(v_div(v_set1(1.0f), v_sqrt(x))); break;
    case TL_U_TANH: TL_UNARY_LOOP(KN(v_tanh)(x)); break;
    case TL_U_ABS: TL_UNARY_LOOP(v_abs(x)); break;
    case TL_U_RELU: TL_UNARY_LOOP(v_sel(v_le(x, v_set1(0.0f)), v_set1(0.0f), x)); break;
    case TL_U_SIGMOID: TL_UNARY_LOOP(KN(v_sigmoid)(x)); break;
    case TL_U_SILU: TL_UNARY_LOOP(v_div(x, v_add(v_set1(1.0f), KN(v_exp)(v_neg(x))))); break;
    case TL_U_GELU_NEW: TL_UNARY_LOOP(KN(v_gelu_new)(x)); break;
    case TL_U_GELU: TL_UNARY_LOOP(KN(v_gelu_erf)(x)); break;
    case TL_U_SQUARE: TL_UNARY_LOOP(v_mul(x, x)); break;
    case TL_U_RECIPROCAL: TL_UNARY_LOOP(v_div(v_set1(1.0f), x)); break;
    default: break;
  }
}

// Math.pow semantics (JavaScript): NaN exponent -> NaN, |base| == 1 with infinite exponent -> NaN.
static inline float KN(js_powf)(float a, float b) {
  if (b != b) return NAN;
  if (isinf(b) && fabsf(a) == 1.0f) return NAN;
  return (float)pow((double)a, (double)b);
}

#define TL_MAXF(p, q) (((p) > (q) || (p) != (p)) ? (p) : (q))
#define TL_MINF(p, q) (((p) < (q) || (p) != (p)) ? (p) : (q))

#define TL_BIN_CASES(A, B)                                                  \
  case TL_B_ADD: for (i = 0; i < n; i++) y[i] = (A) + (B); break;           \
  case TL_B_SUB: for (i = 0; i < n; i++) y[i] = (A) - (B); break;           \
  case TL_B_MUL: for (i = 0; i < n; i++) y[i] = (A) * (B); break;           \
  case TL_B_DIV: for (i = 0; i < n; i++) y[i] = (A) / (B); break;           \
  case TL_B_MAXIMUM:                                                        \
    for (i = 0; i < n; i++) { float p_ = (A), q_ = (B); y[i] = TL_MAXF(p_, q_); } \
    break;                                                                  \
  case TL_B_MINIMUM:                                                        \
    for (i = 0; i < n; i++) { float p_ = (A), q_ = (B); y[i] = TL_MINF(p_, q_); } \
    break;                                                                  \
  case TL_B_POW: for (i = 0; i < n; i++) y[i] = KN(js_powf)((A), (B)); break;

static TGT void KN(binary_vv)(int op, const float *a, const float *b, float *y, int64_t n) {
  int64_t i;
  switch (op) { TL_BIN_CASES(a[i], b[i]) default: break; }
}

static TGT void KN(binary_vs)(int op, const float *a, float s, float *y, int64_t n) {
  int64_t i;
  if (op == TL_B_POW && s == 2.0f) op = TL_B_MUL + 100;  // x^2 == x*x exactly
  switch (op) {
    TL_BIN_CASES(a[i], s)
    case TL_B_MUL + 100: for (i = 0; i < n; i++) y[i] = a[i] * a[i]; break;
    default: break;
  }
}

static TGT void KN(binary_sv)(int op, float s, const float *b, float *y, int64_t n) {
  int64_t i;
  switch (op) { TL_BIN_CASES(s, b[i]) default: break; }
}

#define TL_CMP_CASES(A, B)                                                  \
  case TL_B_EQ: for (i = 0; i < n; i++) y[i] = (A) == (B); break;           \
  case TL_B_NE: for (i = 0; i < n; i++) y[i] = (A) != (B); break;           \
  case TL_B_LT: for (i = 0; i < n; i++) y[i] = (A) < (B); break;            \
  case TL_B_LE: for (i = 0; i < n; i++) y[i] = (A) <= (B); break;           \
  case TL_B_GT: for (i = 0; i < n; i++) y[i] = (A) > (B); break;            \
  case TL_B_GE: for (i = 0; i < n; i++) y[i] = (A) >= (B); break;

static TGT void KN(compare_vv)(int op, const float *a, const float *b, uint8_t *y, int64_t n) {
  int64_t i;
  switch (op) { TL_CMP_CASES(a[i], b[i]) default: break; }
}

static TGT void KN(compare_vs)(int op, const float *a, float s, uint8_t *y, int64_t n) {
  int64_t i;
  switch (op) { TL_CMP_CASES(a[i], s) default: break; }
}

// Sum in float64 with 16 independent accumulators (vectorised by the compiler).
static TGT double KN(sum)(const float *x, int64_t n) {
  double acc[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++) acc[j] += (double)x[i + j];
  double s = 0;
  for (; i < n; i++) s += (double)x[i];
  for (int j = 0; j < 8; j++) acc[j] += acc[j + 8];
  for (int j = 0; j < 4; j++) acc[j] += acc[j + 4];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + s;
}

static TGT float KN(max)(const float *x, int64_t n) {
  vf acc = v_set1(-INFINITY);
  vm nan = m_zero();
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    vf v = v_load(x + i);
    nan = m_or(nan, v_nan(v));
    acc = v_max(v, acc);
  }
  if (i < n) {
    vf v = v_loadn(x + i, (int)(n - i), -INFINITY);
    nan = m_or(nan, v_nan(v));
    acc = v_max(v, acc);
  }
  return m_any(nan) ? NAN : v_hmax(acc);
}

static TGT float KN(min)(const float *x, int64_t n) {
  vf acc = v_set1(INFINITY);
  vm nan = m_zero();
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    vf v = v_load(x + i);
    nan = m_or(nan, v_nan(v));
    acc = v_min(v, acc);
  }
  if (i < n) {
    vf v = v_loadn(x + i, (int)(n - i), INFINITY);
    nan = m_or(nan, v_nan(v));
    acc = v_min(v, acc);
  }
  return m_any(nan) ? NAN : v_hmin(acc);
}

static TGT void KN(col_sum)(double *acc, const float *p, int64_t n) {
  for (int64_t j = 0; j < n; j++) acc[j] += (double)p[j];
}
static TGT void KN(col_max)(float *acc, const float *p, int64_t n) {
  for (int64_t j = 0; j < n; j++) { float v = p[j], a = acc[j]; acc[j] = TL_MAXF(v, a); }
}
static TGT void KN(col_min)(float *acc, const float *p, int64_t n) {
  for (int64_t j = 0; j < n; j++) { float v = p[j], a = acc[j]; acc[j] = TL_MINF(v, a); }
}

static const float KN(iota)[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static TGT void KN(softmax_rows)(const float *x, float *y, int64_t r0, int64_t r1, int64_t cols, int lg,
                                 int64_t qlen, int64_t koff) {
  for (int64_t r = r0; r < r1; r++) {
    const float *xr = x + r * cols;
    float *yr = y + r * cols;
    int64_t lim = cols;
    if (qlen > 0) {
      int64_t l = r % qlen + koff + 1;
      lim = l < 0 ? 0 : (l > cols ? cols : l);
    }
    if (lim == 0) {  // nothing to attend to: undefined, like softmax of an all -inf row
      for (int64_t i = 0; i < cols; i++) yr[i] = NAN;
      continue;
    }
    if (W > 1 && cols <= 2 * W) {
      // short rows (attention over a few keys): the whole row lives in two registers
      int n0 = lim < W ? (int)lim : W, n1 = (int)lim - n0;
      vf v0 = v_loadn(xr, n0, -INFINITY);
      vf v1 = v_loadn(xr + W, n1, -INFINITY);
      vm nan = m_or(v_nan(v0), v_nan(v1));
      float m = m_any(nan) ? NAN : v_hmax(v_max(v0, v1));
      vf vmx = v_set1(m);
      vf d0 = v_sub(v0, vmx), d1 = v_sub(v1, vmx);
      vf e0 = KN(v_exp)(d0), e1 = KN(v_exp)(d1);
      float s = v_hsum(v_add(e0, e1));
      int c0 = cols < W ? (int)cols : W, c1 = (int)cols - c0;
      // lanes past lim (causal mask) get exactly 0 / -inf, whatever the row holds (NaN rows included)
      vm ok0 = v_lt(v_load(KN(iota)), v_set1((float)n0)), ok1 = v_lt(v_load(KN(iota)), v_set1((float)n1));
      vf o0, o1;
      if (!lg) {
        vf inv = v_set1(1.0f / s);
        o0 = v_sel(ok0, v_mul(e0, inv), v_set1(0.0f));
        o1 = v_sel(ok1, v_mul(e1, inv), v_set1(0.0f));
      } else {
        vf ls = v_set1(logf(s));
        o0 = v_sel(ok0, v_sub(d0, ls), v_set1(-INFINITY));
        o1 = v_sel(ok1, v_sub(d1, ls), v_set1(-INFINITY));
      }
      v_storen(yr, o0, c0);
      v_storen(yr + W, o1, c1);
      continue;
    }
    // pass 1: max (NaN anywhere -> NaN row)
    vf mx = v_set1(-INFINITY);
    vm nan = m_zero();
    int64_t i = 0;
    for (; i + W <= lim; i += W) {
      vf v = v_load(xr + i);
      nan = m_or(nan, v_nan(v));
      mx = v_max(v, mx);
    }
    if (i < lim) {
      vf v = v_loadn(xr + i, (int)(lim - i), -INFINITY);
      nan = m_or(nan, v_nan(v));
      mx = v_max(v, mx);
    }
    float m = m_any(nan) ? NAN : v_hmax(mx);
    vf vmx = v_set1(m);
    // pass 2: e = exp(x - max), summed (float32 blocks of 64 vectors, then float64)
    double sum = 0;
    vf acc = v_set1(0.0f);
    int cnt = 0;
    for (i = 0; i + W <= lim; i += W) {
      vf e = KN(v_exp)(v_sub(v_load(xr + i), vmx));
      if (!lg) v_store(yr + i, e);
      acc = v_add(acc, e);
      if (++cnt == 64) { sum += (double)v_hsum(acc); acc = v_set1(0.0f); cnt = 0; }
    }
    if (i < lim) {
      int rem = (int)(lim - i);
      vf e = KN(v_exp)(v_sub(v_loadn(xr + i, rem, -INFINITY), vmx));
      if (!lg) v_storen(yr + i, e, rem);
      acc = v_add(acc, e);
    }
    sum += (double)v_hsum(acc);
    if (m != m) sum = NAN;
    // pass 3
    if (!lg) {
      vf inv = v_set1((float)(1.0 / sum));
      for (i = 0; i + W <= lim; i += W) v_store(yr + i, v_mul(v_load(yr + i), inv));
      if (i < lim) v_storen(yr + i, v_mul(v_loadn(yr + i, (int)(lim - i), 0.0f), inv), (int)(lim - i));
      for (i = lim; i < cols; i++) yr[i] = 0.0f;
    } else {
      vf ls = v_set1((float)log(sum));
      for (i = 0; i + W <= lim; i += W) v_store(yr + i, v_sub(v_sub(v_load(xr + i), vmx), ls));
      if (i < lim) {
        int rem = (int)(lim - i);
        v_storen(yr + i, v_sub(v_sub(v_loadn(xr + i, rem, 0.0f), vmx), ls), rem);
      }
      for (i = lim; i < cols; i++) yr[i] = -INFINITY;
    }
  }
}

// Layer norm in float64: mean, biased variance (two passes), then ((x - mean) / sqrt(var + eps)) * w + b.
static TGT void KN(layernorm_rows)(const float *x, float *y, int64_t r0, int64_t r1, int64_t d, double eps,
                                   const float *w, const float *b, float *scale) {
  for (int64_t r = r0; r < r1; r++) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    double mean = KN(sum)(xr, d) / (double)d;
    double acc[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= d; i += 16)
      for (int j = 0; j < 16; j++) {
        double t = (double)xr[i + j] - mean;
        acc[j] += t * t;
      }
    double ss = 0;
    for (; i < d; i++) {
      double t = (double)xr[i] - mean;
      ss += t * t;
    }
    for (int j = 0; j < 8; j++) acc[j] += acc[j + 8];
    for (int j = 0; j < 4; j++) acc[j] += acc[j + 4];
    ss += (acc[0] + acc[1]) + (acc[2] + acc[3]);
    double sc = sqrt(ss / (double)d + eps);
    double inv = 1.0 / sc;
    if (scale) scale[r] = (float)sc;
    // y = ((x - mh) - ml) * inv [* w] [+ b] in float32, mean = mh + ml split so that x - mean keeps its bits
    // when |mean| >> std (x - mh is then exact)
    const float mh = (float)mean, ml = (float)(mean - (double)mh), fi = (float)inv;
    if (w && b) {
      for (i = 0; i < d; i++) yr[i] = ((xr[i] - mh) - ml) * fi * w[i] + b[i];
    } else if (w) {
      for (i = 0; i < d; i++) yr[i] = ((xr[i] - mh) - ml) * fi * w[i];
    } else if (b) {
      for (i = 0; i < d; i++) yr[i] = ((xr[i] - mh) - ml) * fi + b[i];
    } else {
      for (i = 0; i < d; i++) yr[i] = ((xr[i] - mh) - ml) * fi;
    }
  }
}

const tl_ops_kernels KN(tl_ops) = {
    TL_STR(SFX),      KN(unary),   KN(binary_vv), KN(binary_vs), KN(binary_sv),    KN(compare_vv),
    KN(compare_vs),   KN(sum),     KN(max),       KN(min),       KN(col_sum),      KN(col_max),
    KN(col_min),      KN(softmax_rows), KN(layernorm_rows),
};
