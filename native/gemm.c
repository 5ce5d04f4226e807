// N-API bindings of the single-precision GEMM (gemm_core.c):
//   sgemm(batch, m, n, k, a, aOffsets, aRowStride, aColStride, b, bOffsets, bRowStride, bColStride, out, packedB)
//   sgemmPackB(b, offset, rowStride, colStride, k, n) -> ArrayBuffer (opaque packed B)
//   sgemmInfo() -> { kernel, isa, nr, kc }
// Every index the kernels will touch is checked here first; violations throw a JS Error.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "addon.h"
#include "gemm_core.h"

#define PACK_MAGIC 0x42504c54u  // "TLPB"
#define PACK_VERSION 1u
#define PACK_HEADER 64          // header bytes; data starts at the first 64-byte boundary after it

typedef struct {
  uint32_t magic, version;
  int64_t k, n;
  int32_t isa, nr, kc, data_off;  // data_off: byte offset of the floats from the buffer start
  uint64_t floats;
} pack_header;

#define MAX_EXACT 4503599627370496.0  // 2^52: every integer index below is exact in a double

static napi_value throw_err(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static int get_int(napi_env env, napi_value v, const char *fn, const char *what, int nonneg, int64_t *out, char *err,
                   size_t errn) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !isfinite(d) || d != floor(d) || fabs(d) > MAX_EXACT ||
      (nonneg && d < 0)) {
    snprintf(err, errn, "%s: %s must be a%s integer", fn, what, nonneg ? " non-negative" : "n");
    return 0;
  }
  *out = (int64_t)d;
  return 1;
}

static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok || type != want) return 0;
  if (*len == 0) *data = NULL;
  return 1;
}

// Range of element indices off + i*rs + j*cs for i < rows, j < cols (rows, cols >= 1), checked in [0, len).
static int span_ok(double off, double rows, double rs, double cols, double cs, size_t len) {
  double a = (rows - 1) * rs, b = (cols - 1) * cs;
  double lo = off + (a < 0 ? a : 0) + (b < 0 ? b : 0);
  double hi = off + (a > 0 ? a : 0) + (b > 0 ? b : 0);
  if (fabs(a) > MAX_EXACT || fabs(b) > MAX_EXACT || fabs(hi) > MAX_EXACT || fabs(lo) > MAX_EXACT) return 0;
  return lo >= 0 && hi < (double)len;
}

static napi_value js_sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  char err[256];
  static const char FN[] = "sgemm";
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return throw_err(env, "sgemm: bad call");
  if (argc < 13) return throw_err(env, "sgemm: expected 13 or 14 arguments");
  int64_t batch, m, n, k, ars, acs, brs, bcs;
  if (!get_int(env, argv[0], FN, "batch", 1, &batch, err, sizeof err) || !get_int(env, argv[1], FN, "m", 1, &m, err, sizeof err) ||
      !get_int(env, argv[2], FN, "n", 1, &n, err, sizeof err) || !get_int(env, argv[3], FN, "k", 1, &k, err, sizeof err) ||
      !get_int(env, argv[6], FN, "aRowStride", 0, &ars, err, sizeof err) ||
      !get_int(env, argv[7], FN, "aColStride", 0, &acs, err, sizeof err) ||
      !get_int(env, argv[10], FN, "bRowStride", 0, &brs, err, sizeof err) ||
      !get_int(env, argv[11], FN, "bColStride", 0, &bcs, err, sizeof err))
    return throw_err(env, err);
  float *a, *b, *out;
  double *aoff, *boff;
  size_t alen, blen, outlen, aofflen, bofflen;
  if (!get_typed(env, argv[4], napi_float32_array, (void **)&a, &alen))
    return throw_err(env, "sgemm: a must be a Float32Array");
  if (!get_typed(env, argv[5], napi_float64_array, (void **)&aoff, &aofflen))
    return throw_err(env, "sgemm: aOffsets must be a Float64Array");
  if (!get_typed(env, argv[12], napi_float32_array, (void **)&out, &outlen))
    return throw_err(env, "sgemm: out must be a Float32Array");

  // packed B?
  const float *bp = NULL;
  if (argc >= 14) {
    napi_valuetype t;
    napi_typeof(env, argv[13], &t);
    if (t != napi_null && t != napi_undefined) {
      bool isab = false;
      napi_is_arraybuffer(env, argv[13], &isab);
      if (!isab) return throw_err(env, "sgemm: packedB must be an ArrayBuffer from sgemmPackB, null or undefined");
      void *data;
      size_t bytes;
      napi_get_arraybuffer_info(env, argv[13], &data, &bytes);
      pack_header h;
      if (bytes < sizeof h) return throw_err(env, "sgemm: packedB is not a packed B (too small)");
      memcpy(&h, data, sizeof h);
      tl_gemm_layout lay;
      tl_gemm_get_layout(&lay);
      if (h.magic != PACK_MAGIC || h.version != PACK_VERSION)
        return throw_err(env, "sgemm: packedB is not a buffer made by sgemmPackB");
      if (h.isa != lay.isa || h.nr != lay.nr || h.kc != lay.kc)
        return throw_err(env, "sgemm: packedB was made for a different GEMM kernel; pack B again");
      if (h.k != k || h.n != n) {
        snprintf(err, sizeof err, "sgemm: packedB holds a [%lld, %lld] B but the product needs [%lld, %lld]",
                 (long long)h.k, (long long)h.n, (long long)k, (long long)n);
        return throw_err(env, err);
      }
      if (h.floats != tl_gemm_packed_b_floats(k, n) || bytes != PACK_HEADER + 64 + h.floats * sizeof(float) ||
          h.data_off < (int32_t)sizeof h || h.data_off > PACK_HEADER + 63 || (h.data_off & 3))
        return throw_err(env, "sgemm: packedB has the wrong size for this k, n");
      bp = (const float *)((const char *)data + h.data_off);
    }
  }
  if (!bp) {
    if (!get_typed(env, argv[8], napi_float32_array, (void **)&b, &blen))
      return throw_err(env, "sgemm: b must be a Float32Array");
    if (!get_typed(env, argv[9], napi_float64_array, (void **)&boff, &bofflen))
      return throw_err(env, "sgemm: bOffsets must be a Float64Array");
  } else {
    b = NULL;
    boff = NULL;
    blen = bofflen = 0;
  }

  double total = (double)batch * (double)m * (double)n;
  if (total > (double)outlen) {
    snprintf(err, sizeof err, "sgemm: out has %zu elements, [batch, m, n] needs %.0f", outlen, total);
    return throw_err(env, err);
  }
  if (batch == 0 || m == 0 || n == 0) return NULL;
  if (k > 0) {
    if (aofflen < (size_t)batch) return throw_err(env, "sgemm: aOffsets is shorter than batch");
    if (!bp && bofflen < (size_t)batch) return throw_err(env, "sgemm: bOffsets is shorter than batch");
  }
  int64_t *offs = NULL;
  if (k > 0) {
    offs = malloc(sizeof(int64_t) * 2 * (size_t)batch);
    if (!offs) return throw_err(env, "sgemm: out of memory");
    for (int64_t i = 0; i < batch; i++) {
      double ao = aoff[i];
      if (!isfinite(ao) || ao != floor(ao) || !span_ok(ao, (double)m, (double)ars, (double)k, (double)acs, alen)) {
        free(offs);
        snprintf(err, sizeof err,
                 "sgemm: A[%lld] (offset %g, strides %lld, %lld, [%lld, %lld]) reaches outside a (length %zu)",
                 (long long)i, ao, (long long)ars, (long long)acs, (long long)m, (long long)k, alen);
        return throw_err(env, err);
      }
      offs[i] = (int64_t)ao;
      if (!bp) {
        double bo = boff[i];
        if (!isfinite(bo) || bo != floor(bo) || !span_ok(bo, (double)k, (double)brs, (double)n, (double)bcs, blen)) {
          free(offs);
          snprintf(err, sizeof err,
                   "sgemm: B[%lld] (offset %g, strides %lld, %lld, [%lld, %lld]) reaches outside b (length %zu)",
                   (long long)i, bo, (long long)brs, (long long)bcs, (long long)k, (long long)n, blen);
          return throw_err(env, err);
        }
        offs[batch + i] = (int64_t)bo;
      } else {
        offs[batch + i] = 0;
      }
    }
  }
  int rc = tl_sgemm_batched(batch, m, n, k, a, offs, ars, acs, b, offs ? offs + batch : NULL, brs, bcs, bp, out);
  free(offs);
  if (rc != 0) return throw_err(env, "sgemm: out of memory for the packing buffers");
  return NULL;
}

static napi_value js_sgemm_pack_b(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  char err[256];
  static const char FN[] = "sgemmPackB";
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6)
    return throw_err(env, "sgemmPackB: expected (b, offset, rowStride, colStride, k, n)");
  float *b;
  size_t blen;
  if (!get_typed(env, argv[0], napi_float32_array, (void **)&b, &blen))
    return throw_err(env, "sgemmPackB: b must be a Float32Array");
  int64_t off, rs, cs, k, n;
  if (!get_int(env, argv[1], FN, "offset", 1, &off, err, sizeof err) ||
      !get_int(env, argv[2], FN, "rowStride", 0, &rs, err, sizeof err) ||
      !get_int(env, argv[3], FN, "colStride", 0, &cs, err, sizeof err) || !get_int(env, argv[4], FN, "k", 1, &k, err, sizeof err) ||
      !get_int(env, argv[5], FN, "n", 1, &n, err, sizeof err))
    return throw_err(env, err);
  if (k > 0 && n > 0 && !span_ok((double)off, (double)k, (double)rs, (double)n, (double)cs, blen)) {
    snprintf(err, sizeof err, "sgemmPackB: B (offset %lld, strides %lld, %lld, [%lld, %lld]) reaches outside b (length %zu)",
             (long long)off, (long long)rs, (long long)cs, (long long)k, (long long)n, blen);
    return throw_err(env, err);
  }
  size_t floats = tl_gemm_packed_b_floats(k, n);
  size_t bytes = PACK_HEADER + 64 + floats * sizeof(float);
  void *data;
  napi_value ab;
  if (napi_create_arraybuffer(env, bytes, &data, &ab) != napi_ok)
    return throw_err(env, "sgemmPackB: could not allocate the packed buffer");
  uintptr_t base = (uintptr_t)data;
  uintptr_t start = (base + PACK_HEADER + 63) & ~(uintptr_t)63;
  tl_gemm_layout lay;
  tl_gemm_get_layout(&lay);
  pack_header h;
  memset(&h, 0, sizeof h);
  h.magic = PACK_MAGIC;
  h.version = PACK_VERSION;
  h.k = k;
  h.n = n;
  h.isa = lay.isa;
  h.nr = lay.nr;
  h.kc = lay.kc;
  h.data_off = (int32_t)(start - base);
  h.floats = floats;
  memcpy(data, &h, sizeof h);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // a big packed weight is streamed by every product that uses it: back it with huge pages where possible
  // (only the 2 MB-aligned interior of the buffer; the pages are first touched by the packing below)
  if (bytes >= ((size_t)8 << 20)) {
    uintptr_t h0 = (start + ((uintptr_t)1 << 21) - 1) & ~(((uintptr_t)1 << 21) - 1);
    uintptr_t h1 = (base + bytes) & ~(((uintptr_t)1 << 21) - 1);
    if (h1 > h0) madvise((void *)h0, h1 - h0, MADV_HUGEPAGE);
  }
#endif
  if (floats) tl_gemm_pack_b(b + off, rs, cs, k, n, (float *)start);
  return ab;
}

static napi_value js_sgemm_info(napi_env env, napi_callback_info info) {
  (void)info;
  tl_gemm_layout lay;
  tl_gemm_get_layout(&lay);
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, tl_gemm_isa_name(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "kernel", v);
  napi_create_string_utf8(env, lay.isa == 2 ? "avx512" : lay.isa == 1 ? "avx2" : "c", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "isa", v);
  napi_create_int32(env, lay.nr, &v);
  napi_set_named_property(env, obj, "nr", v);
  napi_create_int32(env, lay.kc, &v);
  napi_set_named_property(env, obj, "kc", v);
  return obj;
}

void tl_register_gemm(napi_env env, napi_value exports) {
  tl_export_fn(env, exports, "sgemm", js_sgemm);
  tl_export_fn(env, exports, "sgemmPackB", js_sgemm_pack_b);
  tl_export_fn(env, exports, "sgemmInfo", js_sgemm_info);
}
