// One matrix product of the GEMM core: its job (operands, packed buffers, blocking, task partition) and the
// routines the driver files share. Internal to native/gemm_*.c.
#ifndef TL_GEMM_JOB_H
#define TL_GEMM_JOB_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gemm_kernels.h"

struct batch_ctx;

typedef struct {
  const cfg_t *cf;
  int64_t m, n, k;
  const float *a;
  int64_t ars, acs;
  const float *b;
  int64_t brs, bcs;
  const float *bp;  // whole B packed, or NULL
  int bdirect;      // B not packed: the kernels read its rows in place (few A slivers, rows contiguous)
  float *c;         // ldc = n
  float *ap;        // whole A packed
  int64_t msl, nsl, kcb, nkb;
  int64_t cw_sl, nchunks, mparts, mpart_sl;
  int fail;
  int threads;                 // workers sharing the tasks (the next chunk of a task is likely task + threads)
  const struct batch_ctx *pf;  // batches of small products: prefetch entry pf_i's operands once this one is packed
  int64_t pf_i;
} job_t;


static inline void job_setup(job_t *j, const cfg_t *cf, int64_t m, int64_t n, int64_t k) {
  memset(j, 0, sizeof *j);
  j->cf = cf;
  j->m = m;
  j->n = n;
  j->k = k;
  j->msl = (m + cf->mr - 1) / cf->mr;
  j->nsl = (n + cf->nr - 1) / cf->nr;
  j->nkb = (k + cf->kc - 1) / cf->kc;
  j->kcb = (k + j->nkb - 1) / j->nkb;
}

// Scratch memory (gemm_scratch.c): grow-only slots, one per pool thread plus the shared packed A and B; NULL when
// out of memory. Only used under the GEMM lock.
#define TL_MAX_SLOTS 66
#define SLOT_A (TL_MAX_SLOTS - 1)
#define SLOT_B (TL_MAX_SLOTS - 2)
float *tl_gemm_slot(int i, size_t floats);

// Packing (gemm_pack.c).
void tl_gemm_pack_a_range(job_t *j, int64_t s0, int64_t s1);
void tl_gemm_pack_b_block(const cfg_t *cf, const float *b, int64_t brs, int64_t bcs, int64_t n, int64_t k0, int64_t kc,
                          int64_t s0, int64_t s1, float *dst);
void tl_gemm_pack_b_range(const cfg_t *cf, const float *b, int64_t brs, int64_t bcs, int64_t n, int64_t k, int64_t kcb,
                          int64_t nsl, int64_t s0, int64_t s1, float *dst);

// One matrix (gemm_matrix.c): on the calling thread with scratch slot `slot`, or over `threads` pool workers.
// Both set j->fail when scratch memory could not be allocated.
void tl_gemm_serial(job_t *j, int slot);
void tl_gemm_threaded(job_t *j, int threads);

// Batches (gemm_core.c): prefetches batch entry i's operands.
void tl_gemm_prefetch_next(const struct batch_ctx *bc, int64_t i);

#endif
