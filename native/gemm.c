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
#include "napi_args.h"

#define PACK_MAGIC 0x42504c54u  // "TLPB"
#define PACK_VERSION 1u
#define PACK_HEADER 64          // header bytes; data starts at the first 64-byte boundary after it

typedef struct {
  uint32_t magic, version;
  int64_t k, n;
  int32_t isa, nr, kc, data_off;  // data_off: byte offset of the floats from the buffer start
  uint64_t floats;
} pack_header;

static napi_value js_sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  char err[256];
  static const char FN[] = "sgemm";
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return tl_throw(env, "sgemm: bad call");
  if (argc < 13) return tl_throw(env, "sgemm: expected 13 or 14 arguments");
  int64_t batch, m, n, k, ars, acs, brs, bcs;
  if (!tl_get_int(env, argv[0], FN, "batch", 1, &batch, err, sizeof err) || !tl_get_int(env, argv[1], FN, "m", 1, &m, err, sizeof err) ||
      !tl_get_int(env, argv[2], FN, "n", 1, &n, err, sizeof err) || !tl_get_int(env, argv[3], FN, "k", 1, &k, err, sizeof err) ||
      !tl_get_int(env, argv[6], FN, "aRowStride", 0, &ars, err, sizeof err) ||
      !tl_get_int(env, argv[7], FN, "aColStride", 0, &acs, err, sizeof err) ||
      !tl_get_int(env, argv[10], FN, "bRowStride", 0, &brs, err, sizeof err) ||
      !tl_get_int(env, argv[11], FN, "bColStride", 0, &bcs, err, sizeof err))
    return tl_throw(env, err);
  float *a, *b, *out;
  double *aoff, *boff;
  size_t alen, blen, outlen, aofflen, bofflen;
  if (!tl_get_typed(env, argv[4], napi_float32_array, (void **)&a, &alen))
    return tl_throw(env, "sgemm: a must be a Float32Array");
  if (!tl_get_typed(env, argv[5], napi_float64_array, (void **)&aoff, &aofflen))
    return tl_throw(env, "sgemm: aOffsets must be a Float64Array");
  if (!tl_get_typed(env, argv[12], napi_float32_array, (void **)&out, &outlen))
    return tl_throw(env, "sgemm: out must be a Float32Array");

  // packed B?
  const float *bp = NULL;
  if (argc >= 14) {
    napi_valuetype t;
    napi_typeof(env, argv[13], &t);
    if (t != napi_null && t != napi_undefined) {
      bool isab = false;
      napi_is_arraybuffer(env, argv[13], &isab);
      if (!isab) return tl_throw(env, "sgemm: packedB must be an ArrayBuffer from sgemmPackB, null or undefined");
      void *data;
      size_t bytes;
      napi_get_arraybuffer_info(env, argv[13], &data, &bytes);
      pack_header h;
      if (bytes < sizeof h) return tl_throw(env, "sgemm: packedB is not a packed B (too small)");
      memcpy(&h, data, sizeof h);
      tl_gemm_layout lay;
      tl_gemm_get_layout(&lay);
      if (h.magic != PACK_MAGIC || h.version != PACK_VERSION)
        return tl_throw(env, "sgemm: packedB is not a buffer made by sgemmPackB");
      if (h.isa != lay.isa || h.nr != lay.nr || h.kc != lay.kc)
        return tl_throw(env, "sgemm: packedB was made for a different GEMM kernel; pack B again");
      if (h.k != k || h.n != n) {
        snprintf(err, sizeof err, "sgemm: packedB holds a [%lld, %lld] B but the product needs [%lld, %lld]",
                 (long long)h.k, (long long)h.n, (long long)k, (long long)n);
        return tl_throw(env, err);
      }
      if (h.floats != tl_gemm_packed_b_floats(k, n) || bytes != PACK_HEADER + 64 + h.floats * sizeof(float) ||
          h.data_off < (int32_t)sizeof h || h.data_off > PACK_HEADER + 63 || (h.data_off & 3))
        return tl_throw(env, "sgemm: packedB has the wrong size for this k, n");
      bp = (const float *)((const char *)data + h.data_off);
    }
  }
  if (!bp) {
    if (!tl_get_typed(env, argv[8], napi_float32_array, (void **)&b, &blen))
      return tl_throw(env, "sgemm: b must be a Float32Array");
    if (!tl_get_typed(env, argv[9], napi_float64_array, (void **)&boff, &bofflen))
      return tl_throw(env, "sgemm: bOffsets must be a Float64Array");
  } else {
    b = NULL;
    boff = NULL;
    blen = bofflen = 0;
  }

  double total = (double)batch * (double)m * (double)n;
  if (total > (double)outlen) {
    snprintf(err, sizeof err, "sgemm: out has %zu elements, [batch, m, n] needs %.0f", outlen, total);
    return tl_throw(env, err);
  }
  if (batch == 0 || m == 0 || n == 0) return NULL;
  if (k > 0) {
    if (aofflen < (size_t)batch) return tl_throw(env, "sgemm: aOffsets is shorter than batch");
    if (!bp && bofflen < (size_t)batch) return tl_throw(env, "sgemm: bOffsets is shorter than batch");
  }
  int64_t *offs = NULL;
  if (k > 0) {
    offs = malloc(sizeof(int64_t) * 2 * (size_t)batch);
    if (!offs) return tl_throw(env, "sgemm: out of memory");
    int ok = tl_matrix_offsets(aoff, batch, m, ars, k, acs, alen, FN, "A", "a", offs, err, sizeof err);
    if (ok && bp) memset(offs + batch, 0, sizeof(int64_t) * (size_t)batch);
    else if (ok) ok = tl_matrix_offsets(boff, batch, k, brs, n, bcs, blen, FN, "B", "b", offs + batch, err, sizeof err);
    if (!ok) {
      free(offs);
      return tl_throw(env, err);
    }
  }
  int rc = tl_sgemm_batched(batch, m, n, k, a, offs, ars, acs, b, offs ? offs + batch : NULL, brs, bcs, bp, out);
  free(offs);
  if (rc != 0) return tl_throw(env, "sgemm: out of memory for the packing buffers");
  return NULL;
}

static napi_value js_sgemm_pack_b(napi_env env, napi_callback_info info) {
  char err[256];
  tl_pack_args pa;
  if (!tl_get_pack_args(env, info, "sgemmPackB", &pa, err, sizeof err)) return tl_throw(env, err);
  float *b = pa.b;
  int64_t off = pa.off, rs = pa.rs, cs = pa.cs, k = pa.k, n = pa.n;
  size_t floats = tl_gemm_packed_b_floats(k, n);
  size_t bytes = PACK_HEADER + 64 + floats * sizeof(float);
  void *data;
  napi_value ab;
  if (napi_create_arraybuffer(env, bytes, &data, &ab) != napi_ok)
    return tl_throw(env, "sgemmPackB: could not allocate the packed buffer");
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
