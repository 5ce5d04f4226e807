// Strided driver of the reductions (sum, max, min, argmax, argmin) over the last dims of a view: one output per
// item over contiguous or walked blocks, column accumulation when the innermost kept dim is the contiguous one, and
// a long block split over the pool when there are few outputs. max / min / arg* propagate NaN (the first one wins).
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ops_api.h"
#include "ops_driver.h"
#include "threadpool.h"

typedef struct {
  int op;
  const float *x;
  void *out;
  tl_dims kd;  // kept dims (1 stride array)
  tl_dims rd;  // reduced dims (1 stride array)
  int64_t R;
  int64_t kin, nblk;  // column mode: innermost kept extent and column blocks per outer index
  // chunked mode (one output, split over the pool)
  int64_t chunk;
  double *psum;
  float *pval;
  int64_t *pidx;
} red_ctx;

typedef struct {
  double sum;
  float val;
  int64_t idx;
} red_acc;

static inline int is_arg(int op) { return op == TL_R_ARGMAX || op == TL_R_ARGMIN; }

// contiguous block [x, x + n), flat index base `ib` (for chunks)
static void red_contig(int op, const float *x, int64_t n, int64_t ib, red_acc *a) {
  switch (op) {
    case TL_R_SUM: a->sum = tl_ops_k->sum(x, n); break;
    case TL_R_MAX: a->val = tl_ops_k->max(x, n); break;
    case TL_R_MIN: a->val = tl_ops_k->min(x, n); break;
    case TL_R_ARGMAX:
    case TL_R_ARGMIN: {
      float best = x[0];
      int64_t bi = 0;
      if (best == best) {
        if (op == TL_R_ARGMAX) {
          for (int64_t i = 1; i < n; i++) {
            float v = x[i];
            if (v > best) { best = v; bi = i; }
            else if (v != v) { best = v; bi = i; break; }
          }
        } else {
          for (int64_t i = 1; i < n; i++) {
            float v = x[i];
            if (v < best) { best = v; bi = i; }
            else if (v != v) { best = v; bi = i; break; }
          }
        }
      }
      a->val = best;
      a->idx = bi + ib;
      break;
    }
  }
}

// general: walk the reduced dims from `base`
static void red_general(const red_ctx *c, const float *base, red_acc *a) {
  tl_walk w;
  walk_init(&w, &c->rd, 0);
  int64_t s = c->rd.st[0][c->rd.nd - 1];
  double sum = 0;
  float best = c->op == TL_R_MAX || c->op == TL_R_ARGMAX ? -INFINITY : INFINITY;
  int64_t bi = 0;
  int found_nan = 0;
  for (int64_t r = 0; r < c->R && !found_nan;) {
    int64_t run = walk_run(&w);
    const float *p = base + w.off[0];
    switch (c->op) {
      case TL_R_SUM: for (int64_t j = 0; j < run; j++) sum += (double)p[j * s]; break;
      case TL_R_MAX:
      case TL_R_ARGMAX:
        for (int64_t j = 0; j < run; j++) {
          float v = p[j * s];
          if (v > best) { best = v; bi = r + j; }
          else if (v != v) { best = v; bi = r + j; found_nan = 1; break; }
        }
        break;
      default:
        for (int64_t j = 0; j < run; j++) {
          float v = p[j * s];
          if (v < best) { best = v; bi = r + j; }
          else if (v != v) { best = v; bi = r + j; found_nan = 1; break; }
        }
        break;
    }
    walk_advance(&w, run);
    r += run;
  }
  a->sum = sum;
  a->val = best;
  a->idx = bi;
}

static void red_store(const red_ctx *c, int64_t o, const red_acc *a) {
  if (is_arg(c->op)) ((int32_t *)c->out)[o] = (int32_t)a->idx;
  else ((float *)c->out)[o] = c->op == TL_R_SUM ? (float)a->sum : a->val;
}

static int red_contiguous(const red_ctx *c) { return c->R == 1 || (c->rd.nd == 1 && c->rd.st[0][0] == 1); }

// one output per item
static void red_rows_range(void *cv, int64_t lo, int64_t hi) {
  red_ctx *c = (red_ctx *)cv;
  tl_walk w;
  walk_init(&w, &c->kd, lo);
  int contig = red_contiguous(c);
  for (int64_t o = lo; o < hi; o++) {
    red_acc a = {0, 0, 0};
    const float *base = c->x + w.off[0];
    if (contig) red_contig(c->op, base, c->R, 0, &a);
    else red_general(c, base, &a);
    red_store(c, o, &a);
    walk_advance(&w, 1);
  }
}

// column mode: the innermost kept dim is contiguous; accumulate a block of columns over every reduced index
#define TL_COLBLK 512
static void red_cols_range(void *cv, int64_t lo, int64_t hi) {
  red_ctx *c = (red_ctx *)cv;
  double sacc[TL_COLBLK];
  float vacc[TL_COLBLK];
  int32_t iacc[TL_COLBLK];
  // outer kept dims = kd without its last dim
  tl_dims od = c->kd;
  od.nd--;
  if (od.nd == 0) { od.nd = 1; od.shape[0] = 1; od.st[0][0] = 0; }
  for (int64_t u = lo; u < hi; u++) {
    int64_t ko = u / c->nblk, j0 = (u % c->nblk) * TL_COLBLK;
    int64_t m = c->kin - j0 < TL_COLBLK ? c->kin - j0 : TL_COLBLK;
    tl_walk ow;
    walk_init(&ow, &od, ko);
    const float *base = c->x + ow.off[0] + j0;
    int op = c->op;
    if (op == TL_R_SUM) for (int64_t j = 0; j < m; j++) sacc[j] = 0;
    else {
      float init = op == TL_R_MAX || op == TL_R_ARGMAX ? -INFINITY : INFINITY;
      for (int64_t j = 0; j < m; j++) { vacc[j] = init; iacc[j] = 0; }
    }
    tl_walk w;
    walk_init(&w, &c->rd, 0);
    int64_t s = c->rd.st[0][c->rd.nd - 1];
    for (int64_t r = 0; r < c->R;) {
      int64_t run = walk_run(&w);
      for (int64_t i = 0; i < run; i++) {
        const float *p = base + w.off[0] + i * s;
        switch (op) {
          case TL_R_SUM: tl_ops_k->col_sum(sacc, p, m); break;
          case TL_R_MAX: tl_ops_k->col_max(vacc, p, m); break;
          case TL_R_MIN: tl_ops_k->col_min(vacc, p, m); break;
          case TL_R_ARGMAX:
            for (int64_t j = 0; j < m; j++) {
              float v = p[j], a = vacc[j];
              if (v > a || (v != v && a == a)) { vacc[j] = v; iacc[j] = (int32_t)(r + i); }
            }
            break;
          default:
            for (int64_t j = 0; j < m; j++) {
              float v = p[j], a = vacc[j];
              if (v < a || (v != v && a == a)) { vacc[j] = v; iacc[j] = (int32_t)(r + i); }
            }
            break;
        }
      }
      walk_advance(&w, run);
      r += run;
    }
    int64_t o0 = ko * c->kin + j0;
    if (op == TL_R_SUM) for (int64_t j = 0; j < m; j++) ((float *)c->out)[o0 + j] = (float)sacc[j];
    else if (is_arg(op)) memcpy((int32_t *)c->out + o0, iacc, (size_t)m * sizeof(int32_t));
    else memcpy((float *)c->out + o0, vacc, (size_t)m * sizeof(float));
  }
}

// one output, contiguous block split into chunks over the pool
static void red_chunk_task(void *cv, int task, int thread) {
  (void)thread;
  red_ctx *c = (red_ctx *)cv;
  int64_t lo = (int64_t)task * c->chunk, hi = lo + c->chunk < c->R ? lo + c->chunk : c->R;
  red_acc a = {0, 0, 0};
  if (lo < hi) red_contig(c->op, c->x + lo, hi - lo, lo, &a);
  c->psum[task] = a.sum;
  c->pval[task] = a.val;
  c->pidx[task] = a.idx;
}

// Few outputs, each over a long contiguous block: every output's block is split into chunks over the pool, then the
// chunks' partial results are combined (sums in chunk order; the first NaN, else the first extremum).
static void red_run_chunked(red_ctx *c, int64_t K, int threads) {
  int ntask = (int)((c->R + TL_PAR_MIN - 1) / TL_PAR_MIN);
  if (ntask > 8 * threads) ntask = 8 * threads;
  double psum[8 * TL_MAXDIM];
  float pval[8 * TL_MAXDIM];
  int64_t pidx[8 * TL_MAXDIM];
  if (ntask > 8 * TL_MAXDIM) ntask = 8 * TL_MAXDIM;
  c->chunk = (c->R + ntask - 1) / ntask;
  ntask = (int)((c->R + c->chunk - 1) / c->chunk);
  c->psum = psum;
  c->pval = pval;
  c->pidx = pidx;
  const float *x0 = c->x;
  tl_walk w;
  walk_init(&w, &c->kd, 0);
  for (int64_t o = 0; o < K; o++) {
    c->x = x0 + w.off[0];
    tl_parallel_for(ntask, red_chunk_task, c);
    red_acc a = {0, 0, 0};
    if (c->op == TL_R_SUM) {
      for (int t = 0; t < ntask; t++) a.sum += psum[t];
    } else {
      int mx = c->op == TL_R_MAX || c->op == TL_R_ARGMAX;
      a.val = pval[0];
      a.idx = pidx[0];
      for (int t = 1; t < ntask && a.val == a.val; t++) {
        float v = pval[t];
        if (v != v || (mx ? v > a.val : v < a.val)) { a.val = v; a.idx = pidx[t]; }
      }
    }
    red_store(c, o, &a);
    walk_advance(&w, 1);
  }
  c->x = x0;
}

static void red_run(red_ctx *c, int64_t K) {
  int threads = tl_num_threads();
  int contig = red_contiguous(c);
  if (contig && K < 2 * threads && c->R >= 2 * TL_PAR_MIN && threads > 1) {
    red_run_chunked(c, K, threads);
    return;
  }
  int last = c->kd.nd - 1;
  if (!contig && c->kd.st[0][last] == 1 && c->kd.shape[last] >= 16 && K > 1) {
    c->kin = c->kd.shape[last];
    c->nblk = (c->kin + TL_COLBLK - 1) / TL_COLBLK;
    int64_t units = (K / c->kin) * c->nblk;
    tl_par_range(units, (double)c->R * (double)(c->kin < TL_COLBLK ? c->kin : TL_COLBLK), red_cols_range, c);
    return;
  }
  tl_par_range(K, (double)c->R, red_rows_range, c);
}

const char *tl_op_reduce(int op, const float *x, int64_t xlen, void *out, int64_t olen, int nreduced, const double *meta,
                         int64_t mlen) {
  if (op < 0 || op >= TL_R_COUNT) return "bad reduce op";
  tl_dims all;
  int64_t off;
  const char *err = tl_dims_parse(meta, mlen, 1, &all, &off, &xlen);
  if (err) return err;
  if (nreduced < 0 || nreduced > all.nd) return "bad nReduced";
  red_ctx c;
  memset(&c, 0, sizeof c);
  c.op = op;
  c.x = x + off;
  c.out = out;
  int nk = all.nd - nreduced;
  c.kd.nd = nk;
  c.kd.ns = 1;
  c.rd.nd = nreduced;
  c.rd.ns = 1;
  for (int i = 0; i < nk; i++) { c.kd.shape[i] = all.shape[i]; c.kd.st[0][i] = all.st[0][i]; }
  for (int i = 0; i < nreduced; i++) { c.rd.shape[i] = all.shape[nk + i]; c.rd.st[0][i] = all.st[0][nk + i]; }
  int64_t K = tl_dims_count(&c.kd);
  c.R = tl_dims_count(&c.rd);
  if (K > olen) return "out too small";
  if (K == 0) return NULL;
  if (c.R == 0) return "empty reduction";
  if (is_arg(op) && c.R > INT32_MAX) return "reduced block too large for int32 index";
  tl_dims_coalesce(&c.kd);
  tl_dims_coalesce(&c.rd);
  red_run(&c, K);
  return NULL;
}
