// Argument checks shared by the N-API bindings (gemm.c, gemm_bf16_napi.c): integers, typed arrays and the span of
// a strided matrix, each failing with a message that names the function and the argument.
#ifndef TL_NAPI_ARGS_H
#define TL_NAPI_ARGS_H
#include <stddef.h>
#include <stdint.h>

#include "addon.h"

#define TL_MAX_EXACT 4503599627370496.0  // 2^52: every integer index below is exact in a double

// Throws a JS Error with msg; returns NULL (the value a binding returns after throwing).
napi_value tl_throw(napi_env env, const char *msg);

// *out = v when v is an integer (non-negative when nonneg), else 0 with "fn: what must be ..." in err.
int tl_get_int(napi_env env, napi_value v, const char *fn, const char *what, int nonneg, int64_t *out, char *err,
               size_t errn);

// *data, *len (elements) of a typed array of type want, else 0; an empty array gives data NULL.
int tl_get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len);

// Element indices off + i*rs + j*cs for i < rows, j < cols (rows, cols >= 1) all lie in [0, len)?
int tl_span_ok(double off, double rows, double rs, double cols, double cs, size_t len);

// Checks and converts the per-batch offsets of a strided [rows, cols] matrix in an array of len elements: dst[i] =
// off[i]. Returns 1, or 0 with "fn: NAME[i] (offset ..., strides ...) reaches outside ..." in err.
int tl_matrix_offsets(const double *off, int64_t batch, int64_t rows, int64_t rs, int64_t cols, int64_t cs, size_t len,
                      const char *fn, const char *name, const char *array, int64_t *dst, char *err, size_t errn);

// The arguments (b, offset, rowStride, colStride, k, n) of a pack-B binding, parsed and the span checked; 0 with the
// message in err otherwise.
typedef struct {
  float *b;
  size_t blen;
  int64_t off, rs, cs, k, n;
} tl_pack_args;
int tl_get_pack_args(napi_env env, napi_callback_info info, const char *fn, tl_pack_args *out, char *err, size_t errn);

#endif
