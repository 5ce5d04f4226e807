// View dims of the strided op drivers: parsing and bounds-checking the view metadata, coalescing, and the
// threading of a range of items over the shared pool.
#include <stddef.h>

#include "ops_driver.h"
#include "threadpool.h"

int64_t tl_dims_count(const tl_dims *d) {
  int64_t n = 1;
  for (int i = 0; i < d->nd; i++) n *= d->shape[i];
  return n;
}

void tl_dims_coalesce(tl_dims *d) {
  int o = 0;
  for (int i = 0; i < d->nd; i++) {
    if (d->shape[i] == 1) continue;
    if (o > 0) {
      int ok = 1;
      for (int k = 0; k < d->ns; k++)
        if (d->st[k][o - 1] != d->st[k][i] * d->shape[i]) { ok = 0; break; }
      if (ok) {
        d->shape[o - 1] *= d->shape[i];
        for (int k = 0; k < d->ns; k++) d->st[k][o - 1] = d->st[k][i];
        continue;
      }
    }
    d->shape[o] = d->shape[i];
    for (int k = 0; k < d->ns; k++) d->st[k][o] = d->st[k][i];
    o++;
  }
  if (o == 0) {
    d->shape[0] = 1;
    for (int k = 0; k < d->ns; k++) d->st[k][0] = 1;
    o = 1;
  }
  d->nd = o;
}

const char *tl_dims_parse(const double *m, int64_t mlen, int ns, tl_dims *d, int64_t *offs, const int64_t *lens) {
  if (mlen < ns + 1) return "bad meta";
  int nd = (int)m[ns];
  if (nd < 0 || nd > TL_MAXDIM || mlen < ns + 1 + (int64_t)nd * (1 + ns)) return "bad meta (rank)";
  d->nd = nd;
  d->ns = ns;
  const double *sh = m + ns + 1;
  for (int i = 0; i < nd; i++) {
    d->shape[i] = (int64_t)sh[i];
    if (d->shape[i] < 0) return "negative dim";
  }
  for (int k = 0; k < ns; k++)
    for (int i = 0; i < nd; i++) d->st[k][i] = (int64_t)sh[nd * (1 + k) + i];
  int empty = tl_dims_count(d) == 0;
  for (int k = 0; k < ns; k++) {
    offs[k] = (int64_t)m[k];
    if (empty) continue;
    int64_t lo = offs[k], hi = offs[k];
    for (int i = 0; i < nd; i++) {
      int64_t e = (d->shape[i] - 1) * d->st[k][i];
      if (e < 0) lo += e;
      else hi += e;
    }
    if (lo < 0 || hi >= lens[k]) return "view out of its buffer's bounds";
  }
  return NULL;
}

typedef struct {
  tl_range_fn fn;
  void *ctx;
  int64_t n, chunk;
} par_ctx;

static void par_task(void *c, int task, int thread) {
  (void)thread;
  par_ctx *p = (par_ctx *)c;
  int64_t lo = (int64_t)task * p->chunk;
  int64_t hi = lo + p->chunk < p->n ? lo + p->chunk : p->n;
  if (lo < hi) p->fn(p->ctx, lo, hi);
}

// work_per_item: elements touched per item (for the threshold)
void tl_par_range(int64_t n, double work_per_item, tl_range_fn fn, void *ctx) {
  if (n <= 0) return;
  double work = (double)n * work_per_item;
  int threads = tl_num_threads();
  if (threads <= 1 || work < TL_PAR_MIN || n == 1) {
    fn(ctx, 0, n);
    return;
  }
  int64_t tasks = (int64_t)(work / TL_PAR_CHUNK);
  if (tasks > 4 * threads) tasks = 4 * threads;
  if (tasks < threads) tasks = threads;
  if (tasks > n) tasks = n;
  par_ctx p = {fn, ctx, n, (n + tasks - 1) / tasks};
  tl_parallel_for((int)((n + p.chunk - 1) / p.chunk), par_task, &p);
}
