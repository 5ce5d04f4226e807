// Packing of the GEMM operands into micro-panels ("slivers"; layout in gemm_core.c), and the public pack-once of a
// shared B (tl_gemm_pack_b).
#include "gemm_core.h"
#include "gemm_job.h"
#include "threadpool.h"

// Packs slivers [s0, s1) of one K block (k0, kc): sliver s (lanes p < W, from element index s*W) goes to
// dst + (s - s0)*kc*W. Source element (k, lane q) is at src[k*ks + q*ps]. When the lanes are contiguous in memory
// (ps == 1: rows of a row-major B, columns of a transposed A), the slivers are packed 16 k-rows at a time so that
// each source row is read once as a whole, not once per sliver (a big B then streams from DRAM page by page).
static void pack_slivers(const cfg_t *cf, int W, const float *src, int64_t ps, int64_t ks, int64_t lanes, int64_t kc,
                         int64_t s0, int64_t s1, float *dst) {
  if (ps == 1 && ks != 1 && s1 - s0 > 1) {
    const int64_t rows = 16;  // k rows per pass
    for (int64_t kk = 0; kk < kc; kk += rows) {
      int64_t kw = kc - kk < rows ? kc - kk : rows;
      for (int64_t s = s0; s < s1; s++) {
        int64_t q0 = s * W;
        int cnt = (int)(lanes - q0 < W ? lanes - q0 : W);
        cf->pack(dst + (s - s0) * kc * W + kk * W, W, src + kk * ks + q0, 1, ks, cnt, kw);
      }
    }
    return;
  }
  for (int64_t s = s0; s < s1; s++) {
    int64_t q0 = s * W;
    int cnt = (int)(lanes - q0 < W ? lanes - q0 : W);
    cf->pack(dst + (s - s0) * kc * W, W, src + q0 * ps, ps, ks, cnt, kc);
  }
}

void tl_gemm_pack_a_range(job_t *j, int64_t s0, int64_t s1) {
  const cfg_t *cf = j->cf;
  int64_t mpad = j->msl * cf->mr;
  for (int64_t p = 0; p < j->nkb; p++) {
    int64_t k0 = p * j->kcb, kc = j->k - k0 < j->kcb ? j->k - k0 : j->kcb;
    pack_slivers(cf, cf->mr, j->a + k0 * j->acs, j->ars, j->acs, j->m, kc, s0, s1, j->ap + k0 * mpad + s0 * kc * cf->mr);
  }
}

// Packs columns slivers [s0, s1) of K block (k0, kc) of B into dst (the packed-B layout of that block, from s0).
void tl_gemm_pack_b_block(const cfg_t *cf, const float *b, int64_t brs, int64_t bcs, int64_t n, int64_t k0,
                         int64_t kc, int64_t s0, int64_t s1, float *dst) {
  pack_slivers(cf, cf->nr, b + k0 * brs, bcs, brs, n, kc, s0, s1, dst);
}

// Packs column slivers [s0, min(s1, nsl)) of B, every K block (of kcb), into dst: the layout of a whole packed B.
void tl_gemm_pack_b_range(const cfg_t *cf, const float *b, int64_t brs, int64_t bcs, int64_t n, int64_t k,
                               int64_t kcb, int64_t nsl, int64_t s0, int64_t s1, float *dst) {
  if (s1 > nsl) s1 = nsl;
  int64_t npad = nsl * cf->nr;
  for (int64_t k0 = 0; k0 < k; k0 += kcb) {
    int64_t kc = k - k0 < kcb ? k - k0 : kcb;
    tl_gemm_pack_b_block(cf, b, brs, bcs, n, k0, kc, s0, s1, dst + k0 * npad + s0 * kc * cf->nr);
  }
}

size_t tl_gemm_packed_b_floats(int64_t k, int64_t n) {
  const cfg_t *cf = tl_gemm_cfg();
  int64_t nsl = (n + cf->nr - 1) / cf->nr;
  return (size_t)(k * nsl * cf->nr);
}

typedef struct {
  const cfg_t *cf;
  const float *b;
  int64_t rs, cs, k, n, nsl, kcb, per;
  float *dst;
} packb_ctx;

static void packb_task(void *ctx, int task, int thread) {
  (void)thread;
  packb_ctx *pc = ctx;
  int64_t s0 = task * pc->per;
  tl_gemm_pack_b_range(pc->cf, pc->b, pc->rs, pc->cs, pc->n, pc->k, pc->kcb, pc->nsl, s0, s0 + pc->per, pc->dst);
}

void tl_gemm_pack_b(const float *b, int64_t rs, int64_t cs, int64_t k, int64_t n, float *dst) {
  const cfg_t *cf = tl_gemm_cfg();
  if (k <= 0 || n <= 0) return;
  job_t j;
  job_setup(&j, cf, 1, n, k);
  packb_ctx pc = {cf, b, rs, cs, k, n, j.nsl, j.kcb, 1, dst};
  int threads = tl_num_threads();
  int64_t tasks = (k * n < 256 * 1024 || threads <= 1) ? 1 : threads * 4;
  if (tasks > j.nsl) tasks = j.nsl;
  pc.per = (j.nsl + tasks - 1) / tasks;
  tasks = (j.nsl + pc.per - 1) / pc.per;
  tl_parallel_for((int)tasks, packb_task, &pc);
}
