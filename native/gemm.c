#include "addon.h"

// placeholder until the GEMM module lands
void tl_register_gemm(napi_env env, napi_value exports) { (void)env; (void)exports; }
