// The bf16 GEMM driver (layout in gemm_bf16.h): one product at a time under its own lock; A packed (rounded to
// bf16 pairs) by a parallel phase, then tasks (column chunk of <= CW_SL slivers x M part, ~4 per thread,
// dynamically scheduled) run the kernel over every (A sliver, B sliver) pair of their tile, K block by K block.
// Each A sliver (14 rows x <= 512 pairs, 28 KB; AMX: 32 rows, 64 KB) stays in L1/L2 while the chunk's B slivers
// stream from L2. The kernel set: AMX where the CPU and Linux allow it (TLENS_GEMM_AMX=0 turns it off), else
// AVX512-BF16.
#include "gemm_bf16.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_core.h"
#include "threadpool.h"

#define CW_SL 8  // B slivers per column chunk (8 x 64 KB per K block: fits L2)

static pthread_once_t fast_once = PTHREAD_ONCE_INIT;
static int fast;
static const bf_kernels *kn = &tl_bf16_avx512;

static int env_off(const char *name) {
  const char *v = getenv(name);
  return v && strcmp(v, "0") == 0;
}

static void fast_init(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  tl_gemm_layout lay;
  tl_gemm_get_layout(&lay);  // TLENS_GEMM_ISA below avx512 turns this path off too
  fast = lay.isa == 2 && __builtin_cpu_supports("avx512bf16") && !env_off("TLENS_GEMM_BF16");
  if (fast && !env_off("TLENS_GEMM_AMX") && tl_bf16_amx_ready()) kn = &tl_bf16_amx;
#endif
}

int tl_bf16_fast(void) {
  pthread_once(&fast_once, fast_init);
  return fast;
}

const char *tl_bf16_kernel_name(void) { return tl_bf16_fast() ? kn->name : "none"; }

int64_t tl_bf16_pairs(int64_t k) { return ((k + 1) / 2 + 15) / 16 * 16; }

int64_t tl_bf16_kcbp(int64_t k) {
  int64_t kp = tl_bf16_pairs(k), nkb = (kp + BF_KCP - 1) / BF_KCP;
  return nkb ? ((kp + nkb - 1) / nkb + 15) / 16 * 16 : 0;
}

size_t tl_bf16_packed_b_words(int64_t k, int64_t n) {
  return (size_t)tl_bf16_pairs(k) * (size_t)((n + BF_NR - 1) / BF_NR) * BF_NR;
}

typedef struct {
  int64_t m, n, k, kp, kcbp, msl, nsl;
  const float *a;
  int64_t ars, acs;
  const uint32_t *bp;
  uint32_t *ap;  // packed A: block p at p*kcbp*msl*mr words
  float *c;
  int64_t pa_sl, cw_sl, nch, mpart_sl, mparts;
} bjob;

static pthread_mutex_t bf16_mutex = PTHREAD_MUTEX_INITIALIZER;
static uint32_t *a_buf;
static size_t a_cap;

static uint32_t *a_scratch(size_t words) {
  if (a_cap < words) {
    free(a_buf);
    a_buf = NULL;
    a_cap = 0;
    if (posix_memalign((void **)&a_buf, 64, words * sizeof(uint32_t)) != 0) a_buf = NULL;
    if (a_buf) a_cap = words;
  }
  return a_buf;
}

// Task: A slivers [task*pa_sl, ...), every K block.
static void pack_a_task(void *ctx, int task, int thread) {
  (void)thread;
  bjob *j = ctx;
  int64_t s0 = task * j->pa_sl, s1 = s0 + j->pa_sl < j->msl ? s0 + j->pa_sl : j->msl;
  for (int64_t q0 = 0; q0 < j->kp; q0 += j->kcbp) {
    int64_t kc = j->kp - q0 < j->kcbp ? j->kp - q0 : j->kcbp;
    kn->pack_a(j->a, j->ars, j->acs, j->m, j->k, q0, kc, s0, s1, j->ap + (q0 * j->msl + s0 * kc) * kn->mr);
  }
}

static void compute_task(void *ctx, int task, int thread) {
  (void)thread;
  bjob *j = ctx;
  const int mr_ = kn->mr;
  if (kn->begin) kn->begin();
  int64_t chunk = task % j->nch, part = task / j->nch;
  int64_t js0 = chunk * j->cw_sl, js1 = js0 + j->cw_sl < j->nsl ? js0 + j->cw_sl : j->nsl;
  int64_t is0 = part * j->mpart_sl, is1 = is0 + j->mpart_sl < j->msl ? is0 + j->mpart_sl : j->msl;
  for (int64_t q0 = 0; q0 < j->kp; q0 += j->kcbp) {
    int64_t kc = j->kp - q0 < j->kcbp ? j->kp - q0 : j->kcbp;
    const uint32_t *ab = j->ap + q0 * j->msl * mr_, *bb = j->bp + q0 * j->nsl * BF_NR;
    for (int64_t is = is0; is < is1; is++) {
      int64_t r0 = is * mr_;
      int mr = (int)(j->m - r0 < mr_ ? j->m - r0 : mr_);
      for (int64_t js = js0; js < js1; js++) {
        int64_t c0 = js * BF_NR;
        int nr = (int)(j->n - c0 < BF_NR ? j->n - c0 : BF_NR);
        kn->kern(kc, ab + is * kc * mr_, bb + js * kc * BF_NR, j->c + r0 * j->n + c0, j->n, mr, nr, q0 > 0);
      }
    }
  }
  if (kn->end) kn->end();
}

// Column chunks x M parts: ~4 tasks per thread (B is packed, so splitting M costs nothing), a multiple of the
// thread count when there are few.
static void partition(bjob *j, int threads) {
  int64_t target = threads > 1 ? 4 * threads : 1;
  int64_t nch = (j->nsl + CW_SL - 1) / CW_SL, mparts = 1;
  if (nch < target) {
    mparts = (target + nch - 1) / nch;
    if (mparts > j->msl) mparts = j->msl;
  }
  if (nch * mparts < target) {
    nch = (target + mparts - 1) / mparts;
    if (nch > j->nsl) nch = j->nsl;
  }
  j->cw_sl = (j->nsl + nch - 1) / nch;
  j->nch = (j->nsl + j->cw_sl - 1) / j->cw_sl;
  while (threads > 1 && j->nch * mparts < 8 * threads && (j->nch * mparts) % threads != 0 && mparts < j->msl) mparts++;
  j->mpart_sl = (j->msl + mparts - 1) / mparts;
  j->mparts = (j->msl + j->mpart_sl - 1) / j->mpart_sl;
}

static void run_tasks(int n, tl_task_fn fn, bjob *j, int threads) {
  if (threads > 1) {
    tl_parallel_for(n, fn, j);
    return;
  }
  for (int t = 0; t < n; t++) fn(j, t, 0);
}

static int one_product(bjob *j, int threads) {
  j->ap = a_scratch((size_t)j->msl * kn->mr * (size_t)j->kp);
  if (!j->ap) return -1;
  int64_t pa = threads > 1 && j->msl * j->k >= 32 * 1024 ? 4 * threads : 1;
  if (pa > j->msl) pa = j->msl;
  j->pa_sl = (j->msl + pa - 1) / pa;
  run_tasks((int)((j->msl + j->pa_sl - 1) / j->pa_sl), pack_a_task, j, threads);
  partition(j, threads);
  run_tasks((int)(j->nch * j->mparts), compute_task, j, threads);
  return 0;
}

int tl_bf16_gemm(int64_t batch, int64_t m, int64_t n, int64_t k, const float *a, const int64_t *aoff, int64_t ars,
                 int64_t acs, const uint32_t *bp, float *out) {
  if (!tl_bf16_fast()) return -1;
  if (batch <= 0 || m <= 0 || n <= 0) return 0;
  if (k <= 0) {
    memset(out, 0, (size_t)(batch * m * n) * sizeof(float));
    return 0;
  }
  int threads = tl_num_threads();
  if (2.0 * (double)m * (double)n * (double)k < 4e5) threads = 1;  // tiny: the pool's wake-up costs more
  int rc = 0;
  pthread_mutex_lock(&bf16_mutex);
  for (int64_t i = 0; i < batch && rc == 0; i++) {
    bjob j = {m, n, k, tl_bf16_pairs(k), tl_bf16_kcbp(k), (m + kn->mr - 1) / kn->mr, (n + BF_NR - 1) / BF_NR,
              a + aoff[i], ars, acs, bp, NULL, out + i * m * n, 0, 0, 0, 0, 0};
    rc = one_product(&j, threads);
  }
  pthread_mutex_unlock(&bf16_mutex);
  return rc;
}
