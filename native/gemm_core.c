// Single-precision GEMM, BLIS/GotoBLAS style.
//
// Layout: A is packed into MR-row micro-panels ("slivers", each kc x MR, k-major) and B into NR-column slivers
// (kc x NR, k-major); K is cut into nkb blocks of kcb <= KC. Both packed forms are laid out block by block:
// block p of the packed B starts at p*kcb*Npad and holds its nsl slivers back to back (sliver s at s*kc_p*NR).
// The same layout is used for a B packed once and cached (tl_gemm_pack_b) and for B packed by a call.
//
// Blocking (AVX-512: MR 14, NR 32, KC 1024, CW 768): on this class of machine the cost that matters is the
// C tile traffic (14 rows of C 12 KB apart all land in the same L1 sets), not the streaming of A and B, so K
// blocks are large (K <= 1024 is one block: C is written once, never read back) and both packed operands are
// streamed through L1 from L2/L3 with the hardware prefetchers (A sliver ~43 KB reused over a chunk's B slivers).
//
// Threads (per matrix): one parallel phase packs all of A and, when it is not too big (<= 16 MB), all of B;
// then tasks (column chunk of <= CW columns x M part, ~4+ per thread, dynamically scheduled) run the
// micro-kernel over every (A sliver, B sliver) pair of their tile. A B too big to pre-pack (the unembedding)
// is packed chunk by chunk by the task that uses it. Batches of small products run one product per task on
// a single thread each; tiny work stays on the calling thread.
//
// Micro-kernels: AVX-512 14x32 (28 zmm accumulators, broadcast A), AVX2+FMA 6x16, portable C 4x8.
// Edges are handled in the kernels (zero-padded panels, masked stores).
//
// Files: gemm_core.c (this: the batched entry, the lock), gemm_matrix.c (one matrix: partition, tasks, schedules),
// gemm_pack.c (packing), gemm_scratch.c (scratch buffers), gemm_config.c (instruction set and blocking), and the
// micro-kernels per instruction set in gemm_kern_generic.c, gemm_kern_avx2.c, gemm_kern_avx512.c.
#include "gemm_core.h"
#include "gemm_job.h"
#include "threadpool.h"

#include <pthread.h>
#include <string.h>

static pthread_mutex_t gemm_mutex = PTHREAD_MUTEX_INITIALIZER;

// ---------------------------------------------------------------------------------------------------------------
// batched entry

typedef struct batch_ctx {
  const cfg_t *cf;
  int64_t batch, m, n, k;
  const float *a;
  const int64_t *aoff;
  int64_t ars, acs;
  const float *b;
  const int64_t *boff;
  int64_t brs, bcs;
  const float *bp;
  float *out;
  int64_t per_task;
  int fail;
} batch_ctx;

static void run_one(batch_ctx *bc, int64_t i, int slot, int threads, int64_t next) {
  job_t j;
  job_setup(&j, bc->cf, bc->m, bc->n, bc->k);
  if (next >= 0) {
    j.pf = bc;
    j.pf_i = next;
  }
  j.a = bc->a + bc->aoff[i];
  j.ars = bc->ars;
  j.acs = bc->acs;
  if (bc->bp) {
    j.bp = bc->bp;
  } else {
    j.b = bc->b + bc->boff[i];
    j.brs = bc->brs;
    j.bcs = bc->bcs;
  }
  j.c = bc->out + i * bc->m * bc->n;
  // few A slivers (m <= 8*MR): each B element is used only a few times, so packing B costs more than it saves;
  // the kernels read B's rows in place (measured: as fast as a cached packed B up to ~15 slivers)
  if (!j.bp && j.bcs == 1 && j.msl <= 8) j.bdirect = 1;
  if (threads > 1)
    tl_gemm_threaded(&j, threads);
  else
    tl_gemm_serial(&j, slot);
  if (j.fail) bc->fail = 1;
}

// Prefetches a small strided [rows, cols] operand (rows or columns contiguous) into the cache: for batches of
// small products, the next entry's operands are requested while the current one is computed.
static void prefetch_operand(const float *p, int64_t rows, int64_t rs, int64_t cols, int64_t cs) {
  if (cs != 1) {
    if (rs != 1) return;
    int64_t t = rows;
    rows = cols;
    cols = t;
    rs = cs;
  }
  if (rows * ((cols + 15) / 16) > 512) return;
  for (int64_t r = 0; r < rows; r++) {
    const char *q = (const char *)(p + r * rs);
    for (int64_t c = 0; c < cols; c += 16) __builtin_prefetch(q + c * 4, 0, 3);
    __builtin_prefetch(q + (cols - 1) * 4, 0, 3);
  }
}

void tl_gemm_prefetch_next(const struct batch_ctx *bc, int64_t i) {
  prefetch_operand(bc->a + bc->aoff[i], bc->m, bc->ars, bc->k, bc->acs);
  if (!bc->bp) prefetch_operand(bc->b + bc->boff[i], bc->k, bc->brs, bc->n, bc->bcs);
}

static void batch_task(void *ctx, int task, int thread) {
  batch_ctx *bc = ctx;
  int64_t i0 = task * bc->per_task, i1 = i0 + bc->per_task;
  if (i1 > bc->batch) i1 = bc->batch;
  for (int64_t i = i0; i < i1; i++) run_one(bc, i, thread, 1, i + 1 < i1 ? i + 1 : -1);
}

static int gemm_batched_locked(int64_t batch, int64_t m, int64_t n, int64_t k, const float *a, const int64_t *aoff,
                               int64_t ars, int64_t acs, const float *b, const int64_t *boff, int64_t brs,
                               int64_t bcs, const float *bpacked, float *out) {
  if (batch <= 0 || m <= 0 || n <= 0) return 0;
  if (k <= 0) {
    memset(out, 0, (size_t)(batch * m * n) * sizeof(float));
    return 0;
  }
  batch_ctx bc = {tl_gemm_cfg(), batch, m, n, k, a, aoff, ars, acs, b, boff, brs, bcs, bpacked, out, 1, 0};
  double flops = 2.0 * (double)m * (double)n * (double)k;
  int threads = tl_num_threads();
  if (threads > TL_MAX_SLOTS - 2) threads = TL_MAX_SLOTS - 2;
  if (threads <= 1 || flops * (double)batch < 4e5) {
    bc.per_task = batch;
    batch_task(&bc, 0, 0);
  } else if (batch > 1 && flops < 3e7) {
    int64_t tasks = batch < 16 * threads ? batch : 16 * threads;
    bc.per_task = (batch + tasks - 1) / tasks;
    tasks = (batch + bc.per_task - 1) / bc.per_task;
    tl_parallel_for((int)tasks, batch_task, &bc);
  } else {
    for (int64_t i = 0; i < batch; i++) run_one(&bc, i, 0, threads, -1);
  }
  return bc.fail ? -1 : 0;
}

int tl_sgemm_batched(int64_t batch, int64_t m, int64_t n, int64_t k, const float *a, const int64_t *aoff,
                     int64_t ars, int64_t acs, const float *b, const int64_t *boff, int64_t brs, int64_t bcs,
                     const float *bpacked, float *out) {
  pthread_mutex_lock(&gemm_mutex);
  int rc = gemm_batched_locked(batch, m, n, k, a, aoff, ars, acs, b, boff, brs, bcs, bpacked, out);
  pthread_mutex_unlock(&gemm_mutex);
  return rc;
}
