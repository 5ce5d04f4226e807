// N-API bindings of the float32 kernels other than GEMM: argument and typed-array checks, then the shared strided
// drivers of ops_api.h (ops_elementwise.c, ops_reduce.c, ops_rows.c), which validate the views and sizes.
//
// Bindings (all arrays are typed arrays; view metadata travels in a Float64Array `meta`):
//   unaryF32(op, x: F32, out: F32, meta=[xoff, nd, shape..., xstrides...])
//   binaryF32(op, a: F32, b: F32, out: F32|U8, meta=[aoff, boff, nd, shape..., astrides..., bstrides...])
//   copyF32(src: F32, dst: F32, meta=[soff, doff, nd, shape..., sstrides..., dstrides...])
//   reduceF32(op, x: F32, out: F32|I32, nReduced, meta=[xoff, nd, shape..., strides...])
//   softmaxF32(x, rows, cols, out, log: bool, qLen (0 = no mask), kOffset)
//   layerNormF32(x, rows, d, eps, w|null, b|null, out, scaleOut|null)
//   opsIsa() -> "avx512" | "avx2" | "generic";  opsSetIsa(name | "auto") -> the ISA now in use
// Op codes are the enums of ops_internal.h. Every view is bounds-checked against its buffer before use.
#include <stdint.h>
#include <stdio.h>

#include "addon.h"
#include "ops_api.h"
#include "ops_internal.h"

static napi_value throw_err(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static const char *type_name(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint8_array: return "Uint8Array";
    default: return "typed array";
  }
}

// Reads a typed array of the wanted type; on mismatch throws a TypeError and returns 0.
static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, int64_t *len, const char *what) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  napi_typedarray_type t;
  size_t n = 0;
  if (is) napi_get_typedarray_info(env, v, &t, &n, data, NULL, NULL);
  if (!is || t != want) {
    char msg[128];
    snprintf(msg, sizeof msg, "tlens native: %s must be a %s", what, type_name(want));
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  if (n == 0) *data = NULL;
  *len = (int64_t)n;
  return 1;
}

static int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

static int64_t get_i64(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return (int64_t)d;
}

#define GET_ARGS(N)                                       \
  size_t argc = N;                                        \
  napi_value argv[N];                                     \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);   \
  if (argc < N) return throw_err(env, "tlens native: missing arguments")

// Throws a driver's message (ops_api.h), if any.
static napi_value check(napi_env env, const char *err) {
  if (!err) return NULL;
  char msg[160];
  snprintf(msg, sizeof msg, "tlens native: %s", err);
  return throw_err(env, msg);
}

// Reads a Float64Array meta argument; 0 after throwing.
static int get_meta(napi_env env, napi_value v, double **meta, int64_t *mlen) {
  return get_typed(env, v, napi_float64_array, (void **)meta, mlen, "meta");
}

// ---------------------------------------------------------------------------------------------------------------
// bindings

static napi_value js_unary(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  int32_t op = -1;
  napi_get_value_int32(env, argv[0], &op);
  float *x, *y;
  double *meta;
  int64_t xl, yl, ml;
  if (!get_typed(env, argv[1], napi_float32_array, (void **)&x, &xl, "x")) return NULL;
  if (!get_typed(env, argv[2], napi_float32_array, (void **)&y, &yl, "out")) return NULL;
  if (!get_meta(env, argv[3], &meta, &ml)) return NULL;
  return check(env, tl_op_unary(op, x, xl, y, yl, meta, ml));
}

static napi_value js_binary(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  int32_t op = -1;
  napi_get_value_int32(env, argv[0], &op);
  if (op < 0 || op >= TL_B_COUNT) return throw_err(env, "tlens native: bad binary op");
  float *a, *b;
  void *y;
  double *meta;
  int64_t al, bl, yl, ml;
  if (!get_typed(env, argv[1], napi_float32_array, (void **)&a, &al, "a")) return NULL;
  if (!get_typed(env, argv[2], napi_float32_array, (void **)&b, &bl, "b")) return NULL;
  if (!get_typed(env, argv[3], TL_B_IS_CMP(op) ? napi_uint8_array : napi_float32_array, &y, &yl, "out")) return NULL;
  if (!get_meta(env, argv[4], &meta, &ml)) return NULL;
  return check(env, tl_op_binary(op, a, al, b, bl, y, yl, meta, ml));
}

static napi_value js_copy(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  float *s, *d;
  double *meta;
  int64_t sl, dl, ml;
  if (!get_typed(env, argv[0], napi_float32_array, (void **)&s, &sl, "src")) return NULL;
  if (!get_typed(env, argv[1], napi_float32_array, (void **)&d, &dl, "dst")) return NULL;
  if (!get_meta(env, argv[2], &meta, &ml)) return NULL;
  return check(env, tl_op_copy(s, sl, d, dl, meta, ml));
}

static napi_value js_reduce(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  int32_t op = -1, nr = 0;
  napi_get_value_int32(env, argv[0], &op);
  if (op < 0 || op >= TL_R_COUNT) return throw_err(env, "tlens native: bad reduce op");
  int arg = op == TL_R_ARGMAX || op == TL_R_ARGMIN;
  float *x;
  void *out;
  double *meta;
  int64_t xl, ol, ml;
  if (!get_typed(env, argv[1], napi_float32_array, (void **)&x, &xl, "x")) return NULL;
  if (!get_typed(env, argv[2], arg ? napi_int32_array : napi_float32_array, &out, &ol, "out")) return NULL;
  napi_get_value_int32(env, argv[3], &nr);
  if (!get_meta(env, argv[4], &meta, &ml)) return NULL;
  return check(env, tl_op_reduce(op, x, xl, out, ol, nr, meta, ml));
}

static napi_value js_softmax(napi_env env, napi_callback_info info) {
  GET_ARGS(7);
  float *x, *y;
  int64_t xl, yl;
  if (!get_typed(env, argv[0], napi_float32_array, (void **)&x, &xl, "x")) return NULL;
  int64_t rows = get_i64(env, argv[1]), cols = get_i64(env, argv[2]);
  if (!get_typed(env, argv[3], napi_float32_array, (void **)&y, &yl, "out")) return NULL;
  bool lg = false;
  napi_get_value_bool(env, argv[4], &lg);
  int64_t qlen = get_i64(env, argv[5]), koff = get_i64(env, argv[6]);
  return check(env, tl_op_softmax(x, xl, y, yl, rows, cols, lg ? 1 : 0, qlen, koff));
}

// An optional Float32Array argument (null / undefined: *p = NULL); 0 after throwing.
static int get_optional_f32(napi_env env, napi_value v, float **p, int64_t *len, const char *what) {
  *p = NULL;
  *len = 0;
  return is_nullish(env, v) || get_typed(env, v, napi_float32_array, (void **)p, len, what);
}

static napi_value js_layernorm(napi_env env, napi_callback_info info) {
  GET_ARGS(8);
  float *x, *y, *w, *b, *sc;
  int64_t xl, yl, wl, bl, scl;
  if (!get_typed(env, argv[0], napi_float32_array, (void **)&x, &xl, "x")) return NULL;
  int64_t rows = get_i64(env, argv[1]), d = get_i64(env, argv[2]);
  double eps = 0;
  napi_get_value_double(env, argv[3], &eps);
  if (!get_optional_f32(env, argv[4], &w, &wl, "w") || !get_optional_f32(env, argv[5], &b, &bl, "b")) return NULL;
  if (!get_typed(env, argv[6], napi_float32_array, (void **)&y, &yl, "out")) return NULL;
  if (!get_optional_f32(env, argv[7], &sc, &scl, "scaleOut")) return NULL;
  return check(env, tl_op_layernorm(x, xl, y, yl, rows, d, eps, w, wl, b, bl, sc, scl));
}

static napi_value js_ops_isa(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  napi_create_string_utf8(env, tl_ops_isa(), NAPI_AUTO_LENGTH, &s);
  return s;
}

static napi_value js_ops_set_isa(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  char name[32] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok)
    return throw_err(env, "tlens native: opsSetIsa takes a string");
  tl_ops_set_isa(name);
  return js_ops_isa(env, info);
}

void tl_register_ops(napi_env env, napi_value exports) {
  tl_ops_init();
  tl_export_fn(env, exports, "unaryF32", js_unary);
  tl_export_fn(env, exports, "binaryF32", js_binary);
  tl_export_fn(env, exports, "copyF32", js_copy);
  tl_export_fn(env, exports, "reduceF32", js_reduce);
  tl_export_fn(env, exports, "softmaxF32", js_softmax);
  tl_export_fn(env, exports, "layerNormF32", js_layernorm);
  tl_export_fn(env, exports, "opsIsa", js_ops_isa);
  tl_export_fn(env, exports, "opsSetIsa", js_ops_set_isa);
}
