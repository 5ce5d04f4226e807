// Instruction-set dispatch of the flat float32 kernels: the best table this CPU supports, or a lesser one by name.
#include <stdlib.h>
#include <string.h>

#include "ops_api.h"
#include "ops_driver.h"

const tl_ops_kernels *tl_ops_k = &tl_ops_generic;
static const tl_ops_kernels *g_best;

static const tl_ops_kernels *detect_best(void) {
#ifdef TL_OPS_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2"))
    return &tl_ops_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &tl_ops_avx2;
#endif
  return &tl_ops_generic;
}

static int isa_rank(const tl_ops_kernels *k) {
#ifdef TL_OPS_X86
  if (k == &tl_ops_avx512) return 2;
  if (k == &tl_ops_avx2) return 1;
#endif
  (void)k;
  return 0;
}

const char *tl_ops_set_isa(const char *name) {
  if (!g_best) g_best = detect_best();
  const tl_ops_kernels *want = g_best;
  if (name && strcmp(name, "generic") == 0) want = &tl_ops_generic;
#ifdef TL_OPS_X86
  else if (name && strcmp(name, "avx2") == 0) want = &tl_ops_avx2;
  else if (name && strcmp(name, "avx512") == 0) want = &tl_ops_avx512;
#endif
  if (isa_rank(want) > isa_rank(g_best)) want = g_best;
  tl_ops_k = want;
  return tl_ops_k->name;
}

const char *tl_ops_init(void) {
  static int done;
  if (done) return tl_ops_k->name;
  done = 1;
  return tl_ops_set_isa(getenv("TLENS_OPS_ISA"));
}

const char *tl_ops_isa(void) { return tl_ops_k->name; }
