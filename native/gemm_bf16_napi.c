// N-API bindings of the bf16 GEMM (gemm_bf16.c; the fast path of GemmArgs.precision "bf16"):
//   bf16Info() -> { fast, kernel }                 fast: this CPU runs it (else the JS side emulates it)
//   bf16PackB(b, offset, rowStride, colStride, k, n) -> ArrayBuffer (opaque packed B, rounded to bf16)
//   bf16Gemm(batch, m, n, k, a, aOffsets, aRowStride, aColStride, out, packedB)
// Every index the kernels will touch is checked here first; violations throw a JS Error.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "gemm_bf16.h"
#include "napi_args.h"

#define BF_MAGIC 0x46424c54u  // "TLBF"
#define BF_VERSION 1u
#define BF_HEADER 64  // header bytes; the words start at the first 64-byte boundary after it

typedef struct {
  uint32_t magic, version;
  int64_t k, n, kcbp;
  int32_t data_off, pad;
  uint64_t words;
} bf_header;

static napi_value js_bf16_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_get_boolean(env, tl_bf16_fast() != 0, &v);
  napi_set_named_property(env, obj, "fast", v);
  napi_create_string_utf8(env, tl_bf16_kernel_name(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "kernel", v);
  return obj;
}

static napi_value js_bf16_pack_b(napi_env env, napi_callback_info info) {
  char err[256];
  tl_pack_args pa;
  if (!tl_get_pack_args(env, info, "bf16PackB", &pa, err, sizeof err)) return tl_throw(env, err);
  if (!tl_bf16_fast()) return tl_throw(env, "bf16PackB: this CPU has no AVX512-BF16 (bf16Info().fast is false)");
  int64_t k = pa.k, n = pa.n;
  size_t words = tl_bf16_packed_b_words(k, n);
  void *data;
  napi_value ab;
  if (napi_create_arraybuffer(env, BF_HEADER + 64 + words * sizeof(uint32_t), &data, &ab) != napi_ok)
    return tl_throw(env, "bf16PackB: could not allocate the packed buffer");
  uintptr_t base = (uintptr_t)data, start = (base + BF_HEADER + 63) & ~(uintptr_t)63;
  bf_header h = {BF_MAGIC, BF_VERSION, k, n, tl_bf16_kcbp(k), (int32_t)(start - base), 0, words};
  memcpy(data, &h, sizeof h);
  if (words) tl_bf16_pack_b(pa.b + pa.off, pa.rs, pa.cs, k, n, (uint32_t *)start);
  return ab;
}

// The packed words of argument v for a [k, n] B, or NULL with the reason in err.
static const uint32_t *packed_words(napi_env env, napi_value v, int64_t k, int64_t n, char *err, size_t errn) {
  bool isab = false;
  napi_is_arraybuffer(env, v, &isab);
  void *data;
  size_t bytes;
  bf_header h;
  if (!isab || napi_get_arraybuffer_info(env, v, &data, &bytes) != napi_ok || bytes < sizeof h) {
    snprintf(err, errn, "bf16Gemm: packedB must be an ArrayBuffer from bf16PackB");
    return NULL;
  }
  memcpy(&h, data, sizeof h);
  if (h.magic != BF_MAGIC || h.version != BF_VERSION) {
    snprintf(err, errn, "bf16Gemm: packedB is not a buffer made by bf16PackB");
    return NULL;
  }
  if (h.k != k || h.n != n) {
    snprintf(err, errn, "bf16Gemm: packedB holds a [%lld, %lld] B but the product needs [%lld, %lld]", (long long)h.k,
             (long long)h.n, (long long)k, (long long)n);
    return NULL;
  }
  if (h.kcbp != tl_bf16_kcbp(k) || h.words != tl_bf16_packed_b_words(k, n) ||
      bytes != BF_HEADER + 64 + h.words * sizeof(uint32_t) || h.data_off < (int32_t)sizeof h ||
      h.data_off > BF_HEADER + 63 || (h.data_off & 3)) {
    snprintf(err, errn, "bf16Gemm: packedB has the wrong size for this k, n");
    return NULL;
  }
  return (const uint32_t *)((const char *)data + h.data_off);
}

static napi_value js_bf16_gemm(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  char err[256];
  static const char FN[] = "bf16Gemm";
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 10)
    return tl_throw(env, "bf16Gemm: expected (batch, m, n, k, a, aOffsets, aRowStride, aColStride, out, packedB)");
  if (!tl_bf16_fast()) return tl_throw(env, "bf16Gemm: this CPU has no AVX512-BF16 (bf16Info().fast is false)");
  int64_t batch, m, n, k, ars, acs;
  if (!tl_get_int(env, argv[0], FN, "batch", 1, &batch, err, sizeof err) ||
      !tl_get_int(env, argv[1], FN, "m", 1, &m, err, sizeof err) || !tl_get_int(env, argv[2], FN, "n", 1, &n, err, sizeof err) ||
      !tl_get_int(env, argv[3], FN, "k", 1, &k, err, sizeof err) ||
      !tl_get_int(env, argv[6], FN, "aRowStride", 0, &ars, err, sizeof err) ||
      !tl_get_int(env, argv[7], FN, "aColStride", 0, &acs, err, sizeof err))
    return tl_throw(env, err);
  float *a, *out;
  double *aoff;
  size_t alen, outlen, aofflen;
  if (!tl_get_typed(env, argv[4], napi_float32_array, (void **)&a, &alen))
    return tl_throw(env, "bf16Gemm: a must be a Float32Array");
  if (!tl_get_typed(env, argv[5], napi_float64_array, (void **)&aoff, &aofflen))
    return tl_throw(env, "bf16Gemm: aOffsets must be a Float64Array");
  if (!tl_get_typed(env, argv[8], napi_float32_array, (void **)&out, &outlen))
    return tl_throw(env, "bf16Gemm: out must be a Float32Array");
  const uint32_t *bp = packed_words(env, argv[9], k, n, err, sizeof err);
  if (!bp) return tl_throw(env, err);
  if ((double)batch * (double)m * (double)n > (double)outlen) {
    snprintf(err, sizeof err, "bf16Gemm: out has %zu elements, [batch, m, n] needs %.0f", outlen,
             (double)batch * (double)m * (double)n);
    return tl_throw(env, err);
  }
  if (batch == 0 || m == 0 || n == 0) return NULL;
  int64_t *offs = NULL;
  if (k > 0) {
    if (aofflen < (size_t)batch) return tl_throw(env, "bf16Gemm: aOffsets is shorter than batch");
    offs = malloc(sizeof(int64_t) * (size_t)batch);
    if (!offs) return tl_throw(env, "bf16Gemm: out of memory");
    if (!tl_matrix_offsets(aoff, batch, m, ars, k, acs, alen, FN, "A", "a", offs, err, sizeof err)) {
      free(offs);
      return tl_throw(env, err);
    }
  }
  int rc = tl_bf16_gemm(batch, m, n, k, a, offs, ars, acs, bp, out);
  free(offs);
  if (rc != 0) return tl_throw(env, "bf16Gemm: out of memory for the packing buffers");
  return NULL;
}

void tl_register_bf16(napi_env env, napi_value exports) {
  tl_export_fn(env, exports, "bf16Info", js_bf16_info);
  tl_export_fn(env, exports, "bf16PackB", js_bf16_pack_b);
  tl_export_fn(env, exports, "bf16Gemm", js_bf16_gemm);
}
