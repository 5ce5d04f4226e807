// Registration entry points of the native modules; each adds its functions to the addon's exports.
#ifndef TL_ADDON_H
#define TL_ADDON_H
#define NAPI_VERSION 8
#include <node_api.h>

void tl_register_gemm(napi_env env, napi_value exports);
void tl_register_ops(napi_env env, napi_value exports);
void tl_register_grad(napi_env env, napi_value exports);
void tl_register_bf16(napi_env env, napi_value exports);

// Helpers for bindings: set exports[name] = fn.
void tl_export_fn(napi_env env, napi_value exports, const char *name, napi_callback fn);

#endif
