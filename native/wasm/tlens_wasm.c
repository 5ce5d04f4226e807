// The wasm module of the wasm backend (src/backend/wasm.ts): the native build's kernels — the GEMM core
// (gemm_core.c, its portable micro-kernel vectorised with SIMD128) and the flat float32 kernels of ops_kern.h
// (ops_generic.c) — behind a flat C interface over this module's memory. The strided walking the N-API addon does
// in ops.c is done in TypeScript here (row offsets come in as a double array), so that only flat runs cross over.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../gemm_core.h"
#include "../ops_internal.h"

#define EXPORT(name) __attribute__((export_name(#name)))

static const tl_ops_kernels *K = &tl_ops_generic;

// The kernels read tuning variables (TLENS_GEMM_*) with getenv; a page has no environment, and defining it here
// keeps wasi-libc's environ (and its WASI imports) out of the module, which then imports nothing.
char *getenv(const char *name) {
  (void)name;
  return NULL;
}

// 64-byte aligned blocks (the packed GEMM panels like it), freed with tl_free.
EXPORT(tl_malloc) void *tl_malloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
  return p;
}
EXPORT(tl_free) void tl_free(void *p) { free(p); }

// y[i] = op(x[i]), i < n
EXPORT(tl_unary) void tl_unary(int op, const float *x, float *y, int n) { K->unary(op, x, y, n); }

// Row r of `rows`: y[r*inner + j] = a[aoff[r] + j*sa] op b[boff[r] + j*sb] for j < inner; sa, sb are 0 or 1.
// Comparisons write uint8 0/1.
EXPORT(tl_binary_rows) void tl_binary_rows(int op, const float *a, const double *aoff, int sa, const float *b,
                                           const double *boff, int sb, void *y, int rows, int inner) {
  int cmp = TL_B_IS_CMP(op);
  for (int r = 0; r < rows; r++) {
    const float *pa = a + (int64_t)aoff[r], *pb = b + (int64_t)boff[r];
    int64_t o = (int64_t)r * inner;
    if (cmp) {
      uint8_t *yo = (uint8_t *)y + o;
      if (sa && sb) K->compare_vv(op, pa, pb, yo, inner);
      else if (sa) K->compare_vs(op, pa, *pb, yo, inner);
      else {  // a scalar: a op b == b flip(op) a
        static const int flip[TL_B_COUNT] = {0, 0, 0, 0, 0, 0, 0, TL_B_EQ, TL_B_NE, TL_B_GT, TL_B_GE, TL_B_LT, TL_B_LE};
        if (sb) K->compare_vs(flip[op], pb, *pa, yo, inner);
        else {
          K->compare_vv(op, pa, pb, yo, 1);
          memset(yo, yo[0], (size_t)inner);
        }
      }
    } else {
      float *yo = (float *)y + o;
      if (sa && sb) K->binary_vv(op, pa, pb, yo, inner);
      else if (sa) K->binary_vs(op, pa, *pb, yo, inner);
      else if (sb) K->binary_sv(op, *pa, pb, yo, inner);
      else {
        K->binary_vv(op, pa, pb, yo, 1);
        for (int j = 1; j < inner; j++) yo[j] = yo[0];
      }
    }
  }
}

// out[r] = sum | max | min of the contiguous block x[off[r] .. off[r] + n) (op: 0 sum, 1 max, 2 min).
EXPORT(tl_reduce_rows) void tl_reduce_rows(int op, const float *x, const double *off, int rows, int n, float *out) {
  for (int r = 0; r < rows; r++) {
    const float *p = x + (int64_t)off[r];
    out[r] = op == TL_R_SUM ? (float)K->sum(p, n) : op == TL_R_MAX ? K->max(p, n) : K->min(p, n);
  }
}

EXPORT(tl_softmax) void tl_softmax(const float *x, float *y, int rows, int cols, int lg, int qlen, int koff) {
  K->softmax_rows(x, y, 0, rows, cols, lg, qlen, koff);
}

EXPORT(tl_layernorm) void tl_layernorm(const float *x, float *y, int rows, int d, double eps, const float *w,
                                       const float *b, float *scale) {
  K->layernorm_rows(x, y, 0, rows, d, eps, w, b, scale);
}

// GEMM (gemm_core.h): offsets come as doubles and are converted into the int64 arrays the core takes.
EXPORT(tl_sgemm) int tl_sgemm(int batch, int m, int n, int k, const float *a, const double *aoff, int ars, int acs,
                              const float *b, const double *boff, int brs, int bcs, const float *bpacked, float *out) {
  int64_t *offs = malloc(sizeof(int64_t) * 2 * (size_t)(batch > 0 ? batch : 1));
  if (!offs) return -1;
  for (int i = 0; i < batch; i++) {
    offs[i] = (int64_t)aoff[i];
    offs[batch + i] = bpacked ? 0 : (int64_t)boff[i];
  }
  int rc = tl_sgemm_batched(batch, m, n, k, a, offs, ars, acs, b, offs + batch, brs, bcs, bpacked, out);
  free(offs);
  return rc;
}

EXPORT(tl_gemm_packed_floats) int tl_gemm_packed_floats(int k, int n) { return (int)tl_gemm_packed_b_floats(k, n); }

EXPORT(tl_gemm_pack) void tl_gemm_pack(const float *b, int rs, int cs, int k, int n, float *dst) {
  tl_gemm_pack_b(b, rs, cs, k, n, dst);
}
