#include "addon.h"

// placeholder until the ops module lands
void tl_register_ops(napi_env env, napi_value exports) { (void)env; (void)exports; }
