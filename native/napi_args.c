// Argument checks shared by the N-API bindings (see napi_args.h).
#include "napi_args.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

napi_value tl_throw(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

int tl_get_int(napi_env env, napi_value v, const char *fn, const char *what, int nonneg, int64_t *out, char *err,
               size_t errn) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !isfinite(d) || d != floor(d) || fabs(d) > TL_MAX_EXACT ||
      (nonneg && d < 0)) {
    snprintf(err, errn, "%s: %s must be a%s integer", fn, what, nonneg ? " non-negative" : "n");
    return 0;
  }
  *out = (int64_t)d;
  return 1;
}

int tl_get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok || type != want) return 0;
  if (*len == 0) *data = NULL;
  return 1;
}

int tl_span_ok(double off, double rows, double rs, double cols, double cs, size_t len) {
  double a = (rows - 1) * rs, b = (cols - 1) * cs;
  double lo = off + (a < 0 ? a : 0) + (b < 0 ? b : 0);
  double hi = off + (a > 0 ? a : 0) + (b > 0 ? b : 0);
  if (fabs(a) > TL_MAX_EXACT || fabs(b) > TL_MAX_EXACT || fabs(hi) > TL_MAX_EXACT || fabs(lo) > TL_MAX_EXACT) return 0;
  return lo >= 0 && hi < (double)len;
}

int tl_matrix_offsets(const double *off, int64_t batch, int64_t rows, int64_t rs, int64_t cols, int64_t cs, size_t len,
                      const char *fn, const char *name, const char *array, int64_t *dst, char *err, size_t errn) {
  for (int64_t i = 0; i < batch; i++) {
    double o = off[i];
    if (!isfinite(o) || o != floor(o) || !tl_span_ok(o, (double)rows, (double)rs, (double)cols, (double)cs, len)) {
      snprintf(err, errn, "%s: %s[%lld] (offset %g, strides %lld, %lld, [%lld, %lld]) reaches outside %s (length %zu)", fn,
               name, (long long)i, o, (long long)rs, (long long)cs, (long long)rows, (long long)cols, array, len);
      return 0;
    }
    dst[i] = (int64_t)o;
  }
  return 1;
}

int tl_get_pack_args(napi_env env, napi_callback_info info, const char *fn, tl_pack_args *o, char *err, size_t errn) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) {
    snprintf(err, errn, "%s: expected (b, offset, rowStride, colStride, k, n)", fn);
    return 0;
  }
  if (!tl_get_typed(env, argv[0], napi_float32_array, (void **)&o->b, &o->blen)) {
    snprintf(err, errn, "%s: b must be a Float32Array", fn);
    return 0;
  }
  if (!tl_get_int(env, argv[1], fn, "offset", 1, &o->off, err, errn) ||
      !tl_get_int(env, argv[2], fn, "rowStride", 0, &o->rs, err, errn) ||
      !tl_get_int(env, argv[3], fn, "colStride", 0, &o->cs, err, errn) ||
      !tl_get_int(env, argv[4], fn, "k", 1, &o->k, err, errn) || !tl_get_int(env, argv[5], fn, "n", 1, &o->n, err, errn))
    return 0;
  if (o->k > 0 && o->n > 0 && !tl_span_ok((double)o->off, (double)o->k, (double)o->rs, (double)o->n, (double)o->cs, o->blen)) {
    snprintf(err, errn, "%s: B (offset %lld, strides %lld, %lld, [%lld, %lld]) reaches outside b (length %zu)", fn,
             (long long)o->off, (long long)o->rs, (long long)o->cs, (long long)o->k, (long long)o->n, o->blen);
    return 0;
  }
  return 1;
}
