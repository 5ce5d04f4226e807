// Scratch memory of the GEMM core: grow-only buffers, one slot per pool thread plus the shared packed A and B.
#include <stdlib.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "gemm_job.h"

typedef struct {
  float *p;
  size_t cap;
} slot_t;
static slot_t slots[TL_MAX_SLOTS];

float *tl_gemm_slot(int i, size_t floats) {
  slot_t *s = &slots[i];
  if (s->cap < floats) {
    free(s->p);
    // big buffers: 2 MB aligned and marked for transparent huge pages (fewer TLB misses in the kernels)
    size_t align = floats * sizeof(float) >= ((size_t)1 << 21) ? (size_t)1 << 21 : 4096;
    size_t bytes = (floats * sizeof(float) + align - 1) & ~(align - 1);
    void *p = NULL;
    if (posix_memalign(&p, align, bytes) != 0) p = NULL;
#ifdef MADV_HUGEPAGE
    if (p && align > 4096) madvise(p, bytes, MADV_HUGEPAGE);
#endif
    s->p = p;
    s->cap = p ? bytes / sizeof(float) : 0;
  }
  return s->p;
}
