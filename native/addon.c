// The tlens native addon: CPU feature report, thread count, and the kernel modules' bindings.
#include "addon.h"
#include "threadpool.h"

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

static napi_value init(napi_env env, napi_value exports) {
  tl_export_fn(env, exports, "cpuFeatures", cpu_features);
  tl_export_fn(env, exports, "numThreads", num_threads);
  tl_register_gemm(env, exports);
  tl_register_ops(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
