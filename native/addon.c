// The tlens native addon: CPU feature report, thread count, and the kernel modules' bindings.
#include "addon.h"
#include "threadpool.h"
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

void tl_export_fn(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);
  napi_set_named_property(env, exports, name, f);
}

static void set_bool(napi_env env, napi_value obj, const char *name, int v) {
  napi_value b;
  napi_get_boolean(env, v != 0, &b);
  napi_set_named_property(env, obj, name, b);
}

// cpuFeatures() -> { avx2, fma, avx512f }
static napi_value cpu_features(napi_env env, napi_callback_info info) {
  napi_value obj;
  napi_create_object(env, &obj);
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  set_bool(env, obj, "avx2", __builtin_cpu_supports("avx2"));
  set_bool(env, obj, "fma", __builtin_cpu_supports("fma"));
  set_bool(env, obj, "avx512f", __builtin_cpu_supports("avx512f"));
#else
  set_bool(env, obj, "avx2", 0);
  set_bool(env, obj, "fma", 0);
  set_bool(env, obj, "avx512f", 0);
#endif
  return obj;
}

// numThreads() -> threads in the kernel pool
static napi_value num_threads(napi_env env, napi_callback_info info) {
  napi_value n;
  napi_create_int32(env, tl_num_threads(), &n);
  return n;
}

// Activations are large and short-lived. glibc serves every block above 32 MiB (and, by default, many smaller ones)
// with a fresh mmap and returns it on free, so each new activation pays a page fault per 4 KiB on first touch —
// measured at ~25 ms per 50 MiB, several times the cost of the elementwise op that fills it. Served from the heap
// instead, freed blocks are reused already mapped (the way PyTorch's caching allocator keeps memory). The price:
// up to 2 GiB of freed memory stays with the process. TLENS_MALLOC_TUNING=0 keeps glibc's defaults.
static int tune_malloc(void) {
#ifdef __GLIBC__
  const char *opt = getenv("TLENS_MALLOC_TUNING");
  if (opt && strcmp(opt, "0") == 0) return 0;
  return mallopt(M_MMAP_MAX, 0) && mallopt(M_TRIM_THRESHOLD, 2047 * 1024 * 1024);
#else
  return 0;
#endif
}

static int malloc_tuned;

// mallocTuned() -> whether tune_malloc changed the allocator's settings
static napi_value malloc_tuned_fn(napi_env env, napi_callback_info info) {
  napi_value b;
  napi_get_boolean(env, malloc_tuned != 0, &b);
  return b;
}

static napi_value init(napi_env env, napi_value exports) {
  malloc_tuned = tune_malloc();
  tl_export_fn(env, exports, "mallocTuned", malloc_tuned_fn);
  tl_export_fn(env, exports, "cpuFeatures", cpu_features);
  tl_export_fn(env, exports, "numThreads", num_threads);
  tl_register_gemm(env, exports);
  tl_register_ops(env, exports);
  tl_register_grad(env, exports);
  tl_register_bf16(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
