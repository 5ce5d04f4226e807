// The wasm module of the wasm backend (src/backend/wasm.ts): the native build's kernels — the GEMM core
// (gemm_*.c, its portable micro-kernel vectorised with SIMD128), and the strided op drivers of ops_api.h over the
// flat float32 kernels of ops_kern.h (ops_generic.c) — behind entry points with int sizes over this module's memory.
// The drivers are the N-API addon's: the same coalescing, walking, bounds checks and threading over the pool.
#include <stdint.h>
#include <stdlib.h>

#include "../gemm_core.h"
#include "../ops_api.h"

#define EXPORT(name) __attribute__((export_name(#name)))

// The kernels read tuning variables (TLENS_GEMM_*, TLENS_OPS_ISA) with getenv; a page has no environment, and defining it here
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

// The strided op drivers of ops_api.h (the ones the N-API addon calls), with int sizes. Each returns 0, or the
// address of a NUL-terminated message saying what is wrong. Lengths are in elements, meta holds mlen doubles.
EXPORT(tl_unary) const char *tl_unary(int op, const float *x, int xlen, float *y, int ylen, const double *meta, int mlen) {
  return tl_op_unary(op, x, xlen, y, ylen, meta, mlen);
}

EXPORT(tl_binary) const char *tl_binary(int op, const float *a, int alen, const float *b, int blen, void *y, int ylen,
                                        const double *meta, int mlen) {
  return tl_op_binary(op, a, alen, b, blen, y, ylen, meta, mlen);
}

EXPORT(tl_reduce) const char *tl_reduce(int op, const float *x, int xlen, void *out, int olen, int nreduced,
                                        const double *meta, int mlen) {
  return tl_op_reduce(op, x, xlen, out, olen, nreduced, meta, mlen);
}

// In place or not: x and y hold rows * cols floats.
EXPORT(tl_softmax) const char *tl_softmax(const float *x, float *y, int rows, int cols, int lg, int qlen, int koff) {
  int64_t n = (int64_t)rows * cols;
  return tl_op_softmax(x, n, y, n, rows, cols, lg, qlen, koff);
}

// x and y hold rows * d floats, w and b (or 0) d, scale (or 0) rows.
EXPORT(tl_layernorm) const char *tl_layernorm(const float *x, float *y, int rows, int d, double eps, const float *w,
                                              const float *b, float *scale) {
  int64_t n = (int64_t)rows * d;
  return tl_op_layernorm(x, n, y, n, rows, d, eps, w, d, b, d, scale, rows);
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
