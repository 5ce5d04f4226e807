// The GEMM configuration: the instruction set picked once per process (the best the CPU has, or the one
// TLENS_GEMM_ISA caps it to) and the blocking overrides TLENS_GEMM_KC / TLENS_GEMM_CW (tests of odd blockings).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_core.h"
#include "gemm_kernels.h"

static const cfg_t *the_cfg;
static pthread_once_t cfg_once = PTHREAD_ONCE_INIT;
static cfg_t cfg_override;
static char cfg_name[64];

static void cfg_init(void) {
  const cfg_t *c = &tl_gemm_cfg_generic;
#ifdef TL_X86
  __builtin_cpu_init();
  const char *force = getenv("TLENS_GEMM_ISA");  // "c", "avx2", "avx512": testing the fallbacks
  int want = force ? (force[0] == 'c' ? 0 : strcmp(force, "avx2") == 0 ? 1 : 2) : 2;
  if (want >= 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("fma"))
    c = &tl_gemm_cfg_avx512;
  else if (want >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    c = &tl_gemm_cfg_avx2;
#endif
  cfg_override = *c;
  const char *kc = getenv("TLENS_GEMM_KC");
  const char *cw = getenv("TLENS_GEMM_CW");
  if (kc && atoi(kc) > 0) cfg_override.kc = atoi(kc);
  if (cw && atoi(cw) > 0) cfg_override.cw = (atoi(cw) + c->nr - 1) / c->nr * c->nr;
  snprintf(cfg_name, sizeof cfg_name, "%s %dx%d", c->name, c->mr, c->nr);
  cfg_override.name = cfg_name;
  the_cfg = &cfg_override;
}

const cfg_t *tl_gemm_cfg(void) {
  pthread_once(&cfg_once, cfg_init);
  return the_cfg;
}

void tl_gemm_get_layout(tl_gemm_layout *out) {
  const cfg_t *c = tl_gemm_cfg();
  out->isa = c->isa;
  out->nr = c->nr;
  out->kc = c->kc;
}

const char *tl_gemm_isa_name(void) { return tl_gemm_cfg()->name; }
