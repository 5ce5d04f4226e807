// One matrix product of the GEMM core: the task partition (column chunks x M parts), the compute tasks running
// the micro-kernels over packed slivers, and the serial / threaded schedules (pre-pack phase, then compute).
#include "gemm_job.h"
#include "threadpool.h"

// Prefetches (to L2) slice `part` of `parts` of the source of column chunk `chunk`, K block 0.
static void prefetch_b_slice(const job_t *j, int64_t chunk, int64_t part, int64_t parts) {
  int64_t c0 = chunk * j->cw_sl * j->cf->nr, c1 = c0 + j->cw_sl * j->cf->nr;
  if (c1 > j->n) c1 = j->n;
  int64_t kc = j->k < j->kcb ? j->k : j->kcb;
  if (j->bcs == 1) {  // rows contiguous: slice the K rows
    int64_t r0 = kc * part / parts, r1 = kc * (part + 1) / parts;
    for (int64_t r = r0; r < r1; r++) {
      const char *q = (const char *)(j->b + r * j->brs + c0);
      for (int64_t off = 0; off < (c1 - c0) * 4; off += 64) __builtin_prefetch(q + off, 0, 2);
    }
  } else if (j->brs == 1) {  // columns contiguous: slice the columns
    int64_t q0 = c0 + (c1 - c0) * part / parts, q1 = c0 + (c1 - c0) * (part + 1) / parts;
    for (int64_t c = q0; c < q1; c++) {
      const char *q = (const char *)(j->b + c * j->bcs);
      for (int64_t off = 0; off < kc * 4; off += 64) __builtin_prefetch(q + off, 0, 2);
    }
  }
}

#define SMALL_M_SLIVERS 4

// A task's tile: column slivers [js0, js1) x row slivers [is0, is1) of K block p (k0, kc); abase = its packed A.
typedef struct {
  int64_t p, k0, kc, js0, js1, is0, is1;
  const float *abase;
} tile_t;

// B not packed (few A slivers, B rows contiguous): the kernels read B's rows in place.
static void tile_direct(const job_t *j, const tile_t *t, float *bbuf) {
  const cfg_t *cf = j->cf;
  int MR = cf->mr, NR = cf->nr;
  for (int64_t js = t->js0; js < t->js1; js++) {
    int64_t c0 = js * NR;
    int nr = (int)(j->n - c0 < NR ? j->n - c0 : NR);
    const float *bs = j->b + t->k0 * j->brs + c0;
    int64_t ldb = j->brs;
    if (nr < NR) {  // the last columns: reading a whole NR-wide row could leave the array
      tl_gemm_pack_b_block(cf, j->b, j->brs, j->bcs, j->n, t->k0, t->kc, js, js + 1, bbuf);
      bs = bbuf;
      ldb = NR;
    }
    for (int64_t is = t->is0; is < t->is1; is++) {
      int64_t r0 = is * MR;
      int mr = (int)(j->m - r0 < MR ? j->m - r0 : MR);
      cf->kern_direct(t->kc, t->abase + is * t->kc * MR, bs, ldb, j->c + r0 * j->n + c0, j->n, mr, nr, t->p > 0);
    }
  }
}

// Few rows (M <= SMALL_M_SLIVERS slivers, e.g. one prompt) and B already packed (bc): B streams from memory once,
// each B sliver serving every A sliver while it is in L1, instead of the whole chunk being re-read per A sliver.
static void tile_few_rows(const job_t *j, const tile_t *t, const float *bc) {
  const cfg_t *cf = j->cf;
  int MR = cf->mr, NR = cf->nr, acc = t->p > 0;
  int64_t kc = t->kc, n = j->n;
  for (int64_t js = t->js0; js < t->js1; js++) {
    int64_t c0 = js * NR;
    int nr = (int)(n - c0 < NR ? n - c0 : NR);
    const float *bs = bc + (js - t->js0) * kc * NR;
    if (cf->kern_tall && t->is1 - t->is0 == 2 && NR == 32) {
      const float *a0 = t->abase + t->is0 * kc * MR;
      int mr = (int)(j->m - t->is0 * MR < 2 * MR ? j->m - t->is0 * MR : 2 * MR);
      float *cp = j->c + t->is0 * MR * n + c0;
      cf->kern_tall(kc, a0, a0 + kc * MR, bs, cp, n, mr, nr < 16 ? nr : 16, acc, 1);
      if (nr > 16) cf->kern_tall(kc, a0, a0 + kc * MR, bs + 16, cp + 16, n, mr, nr - 16, acc, 0);
      continue;
    }
    for (int64_t is = t->is0; is < t->is1; is++) {
      int64_t r0 = is * MR;
      int mr = (int)(j->m - r0 < MR ? j->m - r0 : MR);
      cf->kern(kc, t->abase + is * kc * MR, bs, j->c + r0 * n + c0, n, mr, nr, acc);
    }
  }
}

// The general tile over a packed B chunk bc: A sliver by A sliver; pf_chunk >= 0: also pull that chunk's B source
// into the cache, a slice per A sliver.
static void tile_packed(const job_t *j, const tile_t *t, const float *bc, int64_t pf_chunk) {
  const cfg_t *cf = j->cf;
  int MR = cf->mr, NR = cf->nr;
  for (int64_t is = t->is0; is < t->is1; is++) {
    if (pf_chunk >= 0) prefetch_b_slice(j, pf_chunk, is - t->is0, t->is1 - t->is0);
    const float *as = t->abase + is * t->kc * MR;
    int64_t r0 = is * MR;
    int mr = (int)(j->m - r0 < MR ? j->m - r0 : MR);
    float *crow = j->c + r0 * j->n;
    for (int64_t js = t->js0; js < t->js1; js++) {
      int64_t c0 = js * NR;
      int nr = (int)(j->n - c0 < NR ? j->n - c0 : NR);
      cf->kern(t->kc, as, bc + (js - t->js0) * t->kc * NR, crow + c0, j->n, mr, nr, t->p > 0);
    }
  }
}

static void compute_task(job_t *j, int64_t task, float *bbuf) {
  const cfg_t *cf = j->cf;
  tile_t t;
  int64_t chunk = task % j->nchunks, part = task / j->nchunks;
  t.js0 = chunk * j->cw_sl;
  t.js1 = t.js0 + j->cw_sl < j->nsl ? t.js0 + j->cw_sl : j->nsl;
  t.is0 = part * j->mpart_sl;
  t.is1 = t.is0 + j->mpart_sl < j->msl ? t.is0 + j->mpart_sl : j->msl;
  if (t.js0 >= t.js1 || t.is0 >= t.is1) return;
  int64_t mpad = j->msl * cf->mr, npad = j->nsl * cf->nr;
  for (t.p = 0; t.p < j->nkb; t.p++) {
    t.k0 = t.p * j->kcb;
    t.kc = j->k - t.k0 < j->kcb ? j->k - t.k0 : j->kcb;
    t.abase = j->ap + t.k0 * mpad;
    if (j->bdirect) {
      if (j->pf && t.p == 0 && task == 0) tl_gemm_prefetch_next(j->pf, j->pf_i);
      tile_direct(j, &t, bbuf);
      continue;
    }
    const float *bc;
    if (j->bp) {
      bc = j->bp + t.k0 * npad + t.js0 * t.kc * cf->nr;
    } else {
      tl_gemm_pack_b_block(cf, j->b, j->brs, j->bcs, j->n, t.k0, t.kc, t.js0, t.js1, bbuf);
      bc = bbuf;
    }
    if (j->pf && t.p == 0 && task == 0) tl_gemm_prefetch_next(j->pf, j->pf_i);
    // B packed here from the caller's matrix: while computing the last K block, pull the source of this
    // worker's probable next chunk (task + threads) into the cache
    int64_t pf_chunk = -1;
    if (!j->bp && t.p == j->nkb - 1 && j->mparts == 1 && task + j->threads < j->nchunks) pf_chunk = task + j->threads;
    if (j->bp && t.is1 - t.is0 <= SMALL_M_SLIVERS)
      tile_few_rows(j, &t, bc);
    else
      tile_packed(j, &t, bc, pf_chunk);
  }
}

static void compute_task_fn(void *ctx, int task, int thread) {
  job_t *j = ctx;
  float *bbuf = NULL;
  if (!j->bp) bbuf = tl_gemm_slot(thread, (size_t)j->kcb * j->cw_sl * j->cf->nr);
  compute_task(j, task, bbuf);
}

// Column chunks / M parts for `threads` workers. With B already packed (cached, or pre-packed by this call) a
// task's B chunk costs nothing to re-read, so M is split too, to get ~4 tasks per thread (balance under noise);
// with B packed on the fly by each task, only columns are split (splitting M would pack B chunks twice).
static void job_partition(job_t *j, int threads) {
  const cfg_t *cf = j->cf;
  int64_t cwmax = cf->cw / cf->nr;
  if (cwmax < 1) cwmax = 1;
  int64_t nch = (j->nsl + cwmax - 1) / cwmax;
  int64_t mparts = 1;
  if (threads > 1) {
    int64_t target = 4 * threads;
    if (j->bp || j->bdirect) {
      if (nch < target) {
        mparts = (target + nch - 1) / nch;
        int64_t maxp = j->msl / 4;  // parts of >= 4 slivers
        if (mparts > maxp) mparts = maxp;
        if (mparts < 1) mparts = 1;
      }
      if (nch * mparts < target && nch < j->nsl) {  // still few tasks (small M): narrower chunks
        int64_t want = (target + mparts - 1) / mparts;
        int64_t minw = 4;                            // chunks of >= 4 slivers
        int64_t maxch = (j->nsl + minw - 1) / minw;
        nch = want < maxch ? want : maxch;
        if (nch < 1) nch = 1;
      }
    } else if (nch < 8 * threads) {
      nch = (nch + threads - 1) / threads * threads;
    }
  }
  if (nch > j->nsl) nch = j->nsl;
  j->cw_sl = (j->nsl + nch - 1) / nch;
  j->nchunks = (j->nsl + j->cw_sl - 1) / j->cw_sl;
  if (mparts > j->msl) mparts = j->msl;
  // few tasks that do not divide evenly over the threads: split M (more)
  if (threads > 1 && (j->nchunks * mparts) % threads != 0 && j->nchunks * mparts < 8 * threads) {
    int64_t mp = mparts;
    while (mp < j->msl && (j->nchunks * mp) % threads != 0) mp++;
    if ((j->nchunks * mp) % threads == 0) mparts = mp;
  }
  j->mpart_sl = (j->msl + mparts - 1) / mparts;
  j->mparts = (j->msl + j->mpart_sl - 1) / j->mpart_sl;
}

// Whole matrix on the calling thread, scratch slot `slot` (B chunk) and A packed after it.
void tl_gemm_serial(job_t *j, int slot) {
  j->threads = 1;
  job_partition(j, 1);
  size_t afl = (size_t)j->msl * j->cf->mr * j->k;
  size_t bfl = j->bp ? 0 : (size_t)j->kcb * j->cw_sl * j->cf->nr;
  float *buf = tl_gemm_slot(slot, afl + bfl + 16);
  if (!buf) {
    j->fail = 1;
    return;
  }
  j->ap = buf;
  tl_gemm_pack_a_range(j, 0, j->msl);
  float *bbuf = buf + ((afl + 15) & ~(size_t)15);
  for (int64_t t = 0; t < j->nchunks * j->mparts; t++) compute_task(j, t, bbuf);
}

// Pre-pack phase: tasks [0, pa_tasks) pack A sliver groups, tasks [pa_tasks, pa_tasks + pb_tasks) B sliver groups.
typedef struct {
  job_t *j;
  int64_t pa_tasks, pa_sl, pb_tasks, pb_sl;
  float *bdst;
} prepack_ctx;

static void prepack_task(void *ctx, int task, int thread) {
  (void)thread;
  prepack_ctx *pc = ctx;
  job_t *j = pc->j;
  if (task < pc->pa_tasks) {
    int64_t s0 = task * pc->pa_sl, s1 = s0 + pc->pa_sl;
    if (s1 > j->msl) s1 = j->msl;
    tl_gemm_pack_a_range(j, s0, s1);
    return;
  }
  task -= (int)pc->pa_tasks;
  int64_t s0 = task * pc->pb_sl;
  tl_gemm_pack_b_range(j->cf, j->b, j->brs, j->bcs, j->n, j->k, j->kcb, j->nsl, s0, s0 + pc->pb_sl, pc->bdst);
}

#define PREPACK_B_MAX_FLOATS (4 << 20)  // B packed whole by the call when it is at most this big (16 MB)

// Whole matrix on the pool.
void tl_gemm_threaded(job_t *j, int threads) {
  j->threads = threads;
  prepack_ctx pc;
  memset(&pc, 0, sizeof pc);
  pc.j = j;
  size_t afl = (size_t)j->msl * j->cf->mr * j->k;
  size_t bfl = (size_t)j->nsl * j->cf->nr * j->k;
  j->ap = tl_gemm_slot(SLOT_A, afl);
  if (!j->ap) {
    j->fail = 1;
    return;
  }
  if (!j->bp && !j->bdirect && bfl <= PREPACK_B_MAX_FLOATS) {
    pc.bdst = tl_gemm_slot(SLOT_B, bfl);
    if (!pc.bdst) {
      j->fail = 1;
      return;
    }
  }
  // A (and B) packing tasks: ~4 per thread each, not tiny
  int64_t pa = threads * 4, pb = 0;
  if ((int64_t)j->msl * j->k < 32 * 1024) pa = 1;
  if (pa > j->msl) pa = j->msl;
  pc.pa_sl = (j->msl + pa - 1) / pa;
  pc.pa_tasks = (j->msl + pc.pa_sl - 1) / pc.pa_sl;
  if (pc.bdst) {
    pb = threads * 4;
    if ((int64_t)j->nsl * j->k < 32 * 1024) pb = 1;
    if (pb > j->nsl) pb = j->nsl;
    pc.pb_sl = (j->nsl + pb - 1) / pb;
    pc.pb_tasks = (j->nsl + pc.pb_sl - 1) / pc.pb_sl;
  }
  tl_parallel_for((int)(pc.pa_tasks + pc.pb_tasks), prepack_task, &pc);
  if (pc.bdst) j->bp = pc.bdst;
  job_partition(j, threads);
  if (!j->bp) {  // B chunk buffers for the tasks that pack B on the fly
    for (int t = 0; t < threads; t++)
      if (!tl_gemm_slot(t, (size_t)j->kcb * j->cw_sl * j->cf->nr)) {
        j->fail = 1;
        return;
      }
  }
  tl_parallel_for((int)(j->nchunks * j->mparts), compute_task_fn, j);
}
