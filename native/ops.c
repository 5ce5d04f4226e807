// Native float32 kernels other than GEMM: unary/binary elementwise ops over strided views with broadcasting,
// strided copy, reductions, (log-)softmax with the causal mask, layer norm. This file holds the instruction-set
// dispatch, the strided drivers (coalescing, run walking, threading over the shared pool) and the N-API
// bindings; the flat per-ISA kernels live in ops_kern.h (compiled by ops_avx512.c, ops_avx2.c, ops_generic.c).
//
// Bindings (all arrays are typed arrays; view metadata travels in a Float64Array `meta`):
//   unaryF32(op, x: F32, out: F32, meta=[xoff, nd, shape..., xstrides...])
//   binaryF32(op, a: F32, b: F32, out: F32|U8, meta=[aoff, boff, nd, shape..., astrides..., bstrides...])
//   copyF32(src: F32, dst: F32, meta=[soff, doff, nd, shape..., sstrides..., dstrides...])
//   reduceF32(op, x: F32, out: F32|I32, nReduced, meta=[xoff, nd, shape..., strides...])
//   softmaxF32(x, rows, cols, out, log: bool, qLen (0 = no mask), kOffset)
//   layerNormF32(x, rows, d, eps, w|null, b|null, out, scaleOut|null)
//   opsIsa() -> "avx512" | "avx2" | "generic";  opsSetIsa(name | "auto") -> the ISA now in use
// Op codes are the enums of ops_internal.h. Every view is bounds-checked against its buffer before use.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "ops_internal.h"
#include "threadpool.h"

// ---------------------------------------------------------------------------------------------------------------
// instruction-set dispatch

static const tl_ops_kernels *g_best;
static const tl_ops_kernels *g_k;

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

// Selects an instruction set by name, never one the CPU lacks; returns the one in use.
static const tl_ops_kernels *select_isa(const char *name) {
  const tl_ops_kernels *want = g_best;
  if (name && strcmp(name, "generic") == 0) want = &tl_ops_generic;
#ifdef TL_OPS_X86
  else if (name && strcmp(name, "avx2") == 0) want = &tl_ops_avx2;
  else if (name && strcmp(name, "avx512") == 0) want = &tl_ops_avx512;
#endif
  if (isa_rank(want) > isa_rank(g_best)) want = g_best;
  g_k = want;
  return g_k;
}

// ---------------------------------------------------------------------------------------------------------------
// dims, coalescing, walking

#define TL_MAXDIM 64
#define TL_PAR_MIN 65536  // elements (or equivalent work) below which a kernel runs on the calling thread
#define TL_PAR_CHUNK 32768

typedef struct {
  int nd, ns;  // dims, stride arrays
  int64_t shape[TL_MAXDIM];
  int64_t st[3][TL_MAXDIM];
} tl_dims;

static int64_t dims_count(const tl_dims *d) {
  int64_t n = 1;
  for (int i = 0; i < d->nd; i++) n *= d->shape[i];
  return n;
}

// Drops size-1 dims and merges neighbours that are contiguous with each other in every stride array; keeps the
// row-major order (so flat indices are unchanged). Leaves at least one dim.
static void dims_coalesce(tl_dims *d) {
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

typedef struct {
  const tl_dims *d;
  int64_t idx[TL_MAXDIM];
  int64_t off[3];
} tl_walk;

static void walk_init(tl_walk *w, const tl_dims *d, int64_t lin) {
  w->d = d;
  for (int k = 0; k < 3; k++) w->off[k] = 0;
  for (int i = d->nd - 1; i >= 0; i--) {
    int64_t s = d->shape[i];
    w->idx[i] = s > 0 ? lin % s : 0;
    lin = s > 0 ? lin / s : 0;
    for (int k = 0; k < d->ns; k++) w->off[k] += w->idx[i] * d->st[k][i];
  }
}

static inline int64_t walk_run(const tl_walk *w) { return w->d->shape[w->d->nd - 1] - w->idx[w->d->nd - 1]; }

static inline void walk_advance(tl_walk *w, int64_t run) {
  const tl_dims *d = w->d;
  int last = d->nd - 1;
  w->idx[last] += run;
  for (int k = 0; k < d->ns; k++) w->off[k] += run * d->st[k][last];
  if (w->idx[last] < d->shape[last]) return;
  for (int i = last; i >= 0; i--) {
    if (i < last) {
      w->idx[i]++;
      for (int k = 0; k < d->ns; k++) w->off[k] += d->st[k][i];
    }
    if (w->idx[i] < d->shape[i]) return;
    if (i == 0) return;  // walked past the end
    for (int k = 0; k < d->ns; k++) w->off[k] -= d->shape[i] * d->st[k][i];
    w->idx[i] = 0;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// threading: split [0, n) into chunks over the pool when the work is large

typedef void (*tl_range_fn)(void *ctx, int64_t lo, int64_t hi);
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
static void par_range(int64_t n, double work_per_item, tl_range_fn fn, void *ctx) {
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

// ---------------------------------------------------------------------------------------------------------------
// unary

typedef struct {
  int op;
  const float *x;
  float *y;
  tl_dims d;
} unary_ctx;

static void strided_gather(const float *src, int64_t s, float *dst, int64_t n) {
  if (s == 1) memcpy(dst, src, (size_t)n * sizeof(float));
  else if (s == 0) for (int64_t j = 0; j < n; j++) dst[j] = src[0];
  else for (int64_t j = 0; j < n; j++) dst[j] = src[j * s];
}

static void unary_range(void *c, int64_t lo, int64_t hi) {
  unary_ctx *u = (unary_ctx *)c;
  if (u->d.nd == 1 && u->d.st[0][0] == 1) {
    g_k->unary(u->op, u->x + lo, u->y + lo, hi - lo);
    return;
  }
  tl_walk w;
  walk_init(&w, &u->d, lo);
  int64_t s = u->d.st[0][u->d.nd - 1];
  int64_t pos = lo;
  while (pos < hi) {
    int64_t end = hi - pos > 4096 ? pos + 4096 : hi, start = pos;
    while (pos < end) {
      int64_t run = walk_run(&w);
      if (run > end - pos) run = end - pos;
      strided_gather(u->x + w.off[0], s, u->y + pos, run);
      walk_advance(&w, run);
      pos += run;
    }
    g_k->unary(u->op, u->y + start, u->y + start, end - start);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// binary

typedef struct {
  int op, cmp;
  const float *a, *b;
  void *y;
  tl_dims d;
} bin_ctx;

static const int cmp_flip[TL_B_COUNT] = {0, 0, 0, 0, 0, 0, 0, TL_B_EQ, TL_B_NE, TL_B_GT, TL_B_GE, TL_B_LT, TL_B_LE};

#define TL_BLK 1024

// One run of n outputs: a[j*sa] op b[j*sb] -> y[j].
static void bin_run(const bin_ctx *c, const float *pa, int64_t sa, const float *pb, int64_t sb, int64_t pos, int64_t n) {
  float ta[TL_BLK], tb[TL_BLK];
  const tl_ops_kernels *k = g_k;
  if ((sa == 0 || sa == 1) && (sb == 0 || sb == 1)) {
    if (c->cmp) {
      uint8_t *y = (uint8_t *)c->y + pos;
      if (sa == 1 && sb == 1) k->compare_vv(c->op, pa, pb, y, n);
      else if (sa == 1) k->compare_vs(c->op, pa, *pb, y, n);
      else if (sb == 1) k->compare_vs(cmp_flip[c->op], pb, *pa, y, n);
      else {
        uint8_t r;
        k->compare_vv(c->op, pa, pb, &r, 1);
        memset(y, r, (size_t)n);
      }
    } else {
      float *y = (float *)c->y + pos;
      if (sa == 1 && sb == 1) k->binary_vv(c->op, pa, pb, y, n);
      else if (sa == 1) k->binary_vs(c->op, pa, *pb, y, n);
      else if (sb == 1) k->binary_sv(c->op, *pa, pb, y, n);
      else {
        float r;
        k->binary_vv(c->op, pa, pb, &r, 1);
        for (int64_t j = 0; j < n; j++) y[j] = r;
      }
    }
    return;
  }
  for (int64_t j0 = 0; j0 < n; j0 += TL_BLK) {
    int64_t m = n - j0 < TL_BLK ? n - j0 : TL_BLK;
    const float *qa = pa + j0 * sa, *qb = pb + j0 * sb;
    int64_t qsa = sa, qsb = sb;
    if (sa != 0 && sa != 1) { strided_gather(qa, sa, ta, m); qa = ta; qsa = 1; }
    if (sb != 0 && sb != 1) { strided_gather(qb, sb, tb, m); qb = tb; qsb = 1; }
    bin_run(c, qa, qsa, qb, qsb, pos + j0, m);
  }
}

static void bin_range(void *cv, int64_t lo, int64_t hi) {
  bin_ctx *c = (bin_ctx *)cv;
  int last = c->d.nd - 1;
  int64_t sa = c->d.st[0][last], sb = c->d.st[1][last];
  tl_walk w;
  walk_init(&w, &c->d, lo);
  if (c->d.shape[last] >= 32 || c->d.nd == 1) {
    for (int64_t pos = lo; pos < hi;) {
      int64_t run = walk_run(&w);
      if (run > hi - pos) run = hi - pos;
      bin_run(c, c->a + w.off[0], sa, c->b + w.off[1], sb, pos, run);
      walk_advance(&w, run);
      pos += run;
    }
    return;
  }
  // short inner runs: gather blocks of both operands, then one flat kernel call per block
  float ta[TL_BLK], tb[TL_BLK];
  for (int64_t pos = lo; pos < hi;) {
    int64_t end = hi - pos > TL_BLK ? pos + TL_BLK : hi, start = pos;
    while (pos < end) {
      int64_t run = walk_run(&w);
      if (run > end - pos) run = end - pos;
      strided_gather(c->a + w.off[0], sa, ta + (pos - start), run);
      strided_gather(c->b + w.off[1], sb, tb + (pos - start), run);
      walk_advance(&w, run);
      pos += run;
    }
    bin_run(c, ta, 1, tb, 1, start, end - start);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// copy

typedef struct {
  const float *s;
  float *d;
  tl_dims dims;
} copy_ctx;

// Transposing copies (one operand contiguous along the last dim, the other along the second-to-last): tiles of
// TL_TILE x TL_TILE so that both sides stay in L1. Items are (outer index, tile row, tile column).
#define TL_TILE 32
static void copy_tiled_range(void *cv, int64_t lo, int64_t hi) {
  copy_ctx *c = (copy_ctx *)cv;
  const tl_dims *d = &c->dims;
  int nd = d->nd;
  int64_t A = d->shape[nd - 2], B = d->shape[nd - 1];
  int64_t ta = (A + TL_TILE - 1) / TL_TILE, tb = (B + TL_TILE - 1) / TL_TILE;
  int64_t ss0 = d->st[0][nd - 2], ss1 = d->st[0][nd - 1], ds0 = d->st[1][nd - 2], ds1 = d->st[1][nd - 1];
  tl_dims od = *d;  // outer dims
  od.nd = nd - 2;
  if (od.nd == 0) { od.nd = 1; od.shape[0] = 1; od.st[0][0] = od.st[1][0] = 0; }
  for (int64_t u = lo; u < hi; u++) {
    int64_t outer = u / (ta * tb), t = u % (ta * tb);
    int64_t i0 = (t / tb) * TL_TILE, j0 = (t % tb) * TL_TILE;
    int64_t i1 = i0 + TL_TILE < A ? i0 + TL_TILE : A, j1 = j0 + TL_TILE < B ? j0 + TL_TILE : B;
    tl_walk w;
    walk_init(&w, &od, outer);
    const float *s = c->s + w.off[0];
    float *dd = c->d + w.off[1];
    if (ds1 == 1 && i1 - i0 == TL_TILE && j1 - j0 == TL_TILE) {
      float tile[TL_TILE][TL_TILE];
      for (int64_t j = 0; j < TL_TILE; j++)
        for (int64_t i = 0; i < TL_TILE; i++) tile[i][j] = s[(i0 + i) * ss0 + (j0 + j) * ss1];
      for (int64_t i = 0; i < TL_TILE; i++) memcpy(dd + (i0 + i) * ds0 + j0, tile[i], sizeof tile[i]);
    } else if (ds1 == 1) {
      for (int64_t i = i0; i < i1; i++)
        for (int64_t j = j0; j < j1; j++) dd[i * ds0 + j] = s[i * ss0 + j * ss1];
    } else {
      for (int64_t j = j0; j < j1; j++)
        for (int64_t i = i0; i < i1; i++) dd[i * ds0 + j * ds1] = s[i * ss0 + j * ss1];
    }
  }
}

static void copy_range(void *cv, int64_t lo, int64_t hi) {
  copy_ctx *c = (copy_ctx *)cv;
  int last = c->dims.nd - 1;
  int64_t ss = c->dims.st[0][last], ds = c->dims.st[1][last];
  tl_walk w;
  walk_init(&w, &c->dims, lo);
  for (int64_t pos = lo; pos < hi;) {
    int64_t run = walk_run(&w);
    if (run > hi - pos) run = hi - pos;
    const float *s = c->s + w.off[0];
    float *d = c->d + w.off[1];
    if (ss == 1 && ds == 1) memmove(d, s, (size_t)run * sizeof(float));
    else if (ds == 1) strided_gather(s, ss, d, run);
    else for (int64_t j = 0; j < run; j++) d[j * ds] = s[j * ss];
    walk_advance(&w, run);
    pos += run;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// reductions

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
    case TL_R_SUM: a->sum = g_k->sum(x, n); break;
    case TL_R_MAX: a->val = g_k->max(x, n); break;
    case TL_R_MIN: a->val = g_k->min(x, n); break;
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
          case TL_R_SUM: g_k->col_sum(sacc, p, m); break;
          case TL_R_MAX: g_k->col_max(vacc, p, m); break;
          case TL_R_MIN: g_k->col_min(vacc, p, m); break;
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

static void red_run(red_ctx *c, int64_t K) {
  int threads = tl_num_threads();
  int contig = red_contiguous(c);
  if (contig && K < 2 * threads && c->R >= 2 * TL_PAR_MIN && threads > 1) {
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
    return;
  }
  int last = c->kd.nd - 1;
  if (!contig && c->kd.st[0][last] == 1 && c->kd.shape[last] >= 16 && K > 1) {
    c->kin = c->kd.shape[last];
    c->nblk = (c->kin + TL_COLBLK - 1) / TL_COLBLK;
    int64_t units = (K / c->kin) * c->nblk;
    par_range(units, (double)c->R * (double)(c->kin < TL_COLBLK ? c->kin : TL_COLBLK), red_cols_range, c);
    return;
  }
  par_range(K, (double)c->R, red_rows_range, c);
}

// ---------------------------------------------------------------------------------------------------------------
// softmax, layer norm

typedef struct {
  const float *x;
  float *y;
  int64_t cols, qlen, koff;
  int lg;
} softmax_ctx;

static void softmax_range(void *cv, int64_t lo, int64_t hi) {
  softmax_ctx *c = (softmax_ctx *)cv;
  g_k->softmax_rows(c->x, c->y, lo, hi, c->cols, c->lg, c->qlen, c->koff);
}

typedef struct {
  const float *x, *w, *b;
  float *y, *scale;
  int64_t d;
  double eps;
} ln_ctx;

static void ln_range(void *cv, int64_t lo, int64_t hi) {
  ln_ctx *c = (ln_ctx *)cv;
  g_k->layernorm_rows(c->x, c->y, lo, hi, c->d, c->eps, c->w, c->b, c->scale);
}

// ---------------------------------------------------------------------------------------------------------------
// N-API helpers

static napi_value throw_err(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static const char *type_name(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint8_array: return "Uint8Array";
    default: return "typed array";
  }
}

// Reads a typed array of the wanted type; on mismatch throws a TypeError and returns 0.
static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, int64_t *len, const char *what) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  napi_typedarray_type t;
  size_t n = 0;
  if (is) napi_get_typedarray_info(env, v, &t, &n, data, NULL, NULL);
  if (!is || t != want) {
    char msg[128];
    snprintf(msg, sizeof msg, "tlens native: %s must be a %s", what, type_name(want));
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  if (n == 0) *data = NULL;
  *len = (int64_t)n;
  return 1;
}

static int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

static int64_t get_i64(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return (int64_t)d;
}

// Parses meta [off0, (off1,) nd, shape..., strides0..., (strides1...)] into d with `ns` stride arrays;
// checks every view lies inside its buffer. Returns 0 after throwing on error.
static int parse_meta(napi_env env, napi_value v, int ns, tl_dims *d, int64_t *offs, const int64_t *lens) {
  double *m;
  int64_t mlen;
  if (!get_typed(env, v, napi_float64_array, (void **)&m, &mlen, "meta")) return 0;
  if (mlen < ns + 1) { throw_err(env, "tlens native: bad meta"); return 0; }
  int nd = (int)m[ns];
  if (nd < 0 || nd > TL_MAXDIM || mlen < ns + 1 + (int64_t)nd * (1 + ns)) {
    throw_err(env, "tlens native: bad meta (rank)");
    return 0;
  }
  d->nd = nd;
  d->ns = ns;
  const double *sh = m + ns + 1;
  for (int i = 0; i < nd; i++) {
    d->shape[i] = (int64_t)sh[i];
    if (d->shape[i] < 0) { throw_err(env, "tlens native: negative dim"); return 0; }
  }
  for (int k = 0; k < ns; k++)
    for (int i = 0; i < nd; i++) d->st[k][i] = (int64_t)sh[nd * (1 + k) + i];
  int empty = dims_count(d) == 0;
  for (int k = 0; k < ns; k++) {
    offs[k] = (int64_t)m[k];
    if (empty) continue;
    int64_t lo = offs[k], hi = offs[k];
    for (int i = 0; i < nd; i++) {
      int64_t e = (d->shape[i] - 1) * d->st[k][i];
      if (e < 0) lo += e;
      else hi += e;
    }
    if (lo < 0 || hi >= lens[k]) { throw_err(env, "tlens native: view out of its buffer's bounds"); return 0; }
  }
  return 1;
}

#define GET_ARGS(N)                                       \
  size_t argc = N;                                        \
  napi_value argv[N];                                     \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);   \
  if (argc < N) return throw_err(env, "tlens native: missing arguments")

// ---------------------------------------------------------------------------------------------------------------
// bindings

static napi_value js_unary(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  int32_t op = -1;
  napi_get_value_int32(env, argv[0], &op);
  if (op < 0 || op >= TL_U_COUNT) return throw_err(env, "tlens native: bad unary op");
  float *x, *y;
  int64_t xl, yl, off;
  if (!get_typed(env, argv[1], napi_float32_array, (void **)&x, &xl, "x")) return NULL;
  if (!get_typed(env, argv[2], napi_float32_array, (void **)&y, &yl, "out")) return NULL;
  unary_ctx c;
  if (!parse_meta(env, argv[3], 1, &c.d, &off, &xl)) return NULL;
  int64_t n = dims_count(&c.d);
  if (n > yl) return throw_err(env, "tlens native: out too small");
  if (n == 0) return NULL;
  dims_coalesce(&c.d);
  c.op = op;
  c.x = x + off;
  c.y = y;
  par_range(n, op == TL_U_NEG || op == TL_U_ABS || op == TL_U_SQUARE || op == TL_U_RELU ? 1.0 : 4.0, unary_range, &c);
  return NULL;
}

static napi_value js_binary(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  int32_t op = -1;
  napi_get_value_int32(env, argv[0], &op);
  if (op < 0 || op >= TL_B_COUNT) return throw_err(env, "tlens native: bad binary op");
  float *a, *b;
  void *y;
  int64_t lens[2], yl, offs[2];
  if (!get_typed(env, argv[1], napi_float32_array, (void **)&a, &lens[0], "a")) return NULL;
  if (!get_typed(env, argv[2], napi_float32_array, (void **)&b, &lens[1], "b")) return NULL;
  int cmp = TL_B_IS_CMP(op);
  if (!get_typed(env, argv[3], cmp ? napi_uint8_array : napi_float32_array, &y, &yl, "out")) return NULL;
  bin_ctx c;
  if (!parse_meta(env, argv[4], 2, &c.d, offs, lens)) return NULL;
  int64_t n = dims_count(&c.d);
  if (n > yl) return throw_err(env, "tlens native: out too small");
  if (n == 0) return NULL;
  dims_coalesce(&c.d);
  c.op = op;
  c.cmp = cmp;
  c.a = a + offs[0];
  c.b = b + offs[1];
  c.y = y;
  par_range(n, op == TL_B_POW ? 8.0 : 1.0, bin_range, &c);
  return NULL;
}

static napi_value js_copy(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  float *s, *d;
  int64_t lens[2], offs[2];
  if (!get_typed(env, argv[0], napi_float32_array, (void **)&s, &lens[0], "src")) return NULL;
  if (!get_typed(env, argv[1], napi_float32_array, (void **)&d, &lens[1], "dst")) return NULL;
  copy_ctx c;
  if (!parse_meta(env, argv[2], 2, &c.dims, offs, lens)) return NULL;
  int64_t n = dims_count(&c.dims);
  if (n == 0) return NULL;
  dims_coalesce(&c.dims);
  c.s = s + offs[0];
  c.d = d + offs[1];
  int nd = c.dims.nd;
  if (nd >= 2) {
    int64_t ss0 = c.dims.st[0][nd - 2], ss1 = c.dims.st[0][nd - 1], ds0 = c.dims.st[1][nd - 2], ds1 = c.dims.st[1][nd - 1];
    int64_t A = c.dims.shape[nd - 2], B = c.dims.shape[nd - 1];
    if (((ds1 == 1 && ss0 == 1 && ss1 != 1) || (ss1 == 1 && ds0 == 1 && ds1 != 1)) && A >= 8 && B >= 8) {
      int64_t tiles = ((A + TL_TILE - 1) / TL_TILE) * ((B + TL_TILE - 1) / TL_TILE);
      par_range((n / (A * B)) * tiles, (double)(TL_TILE * TL_TILE), copy_tiled_range, &c);
      return NULL;
    }
  }
  par_range(n, 1.0, copy_range, &c);
  return NULL;
}

static napi_value js_reduce(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  int32_t op = -1, nr = 0;
  napi_get_value_int32(env, argv[0], &op);
  if (op < 0 || op >= TL_R_COUNT) return throw_err(env, "tlens native: bad reduce op");
  float *x;
  void *out;
  int64_t xl, ol, off;
  if (!get_typed(env, argv[1], napi_float32_array, (void **)&x, &xl, "x")) return NULL;
  if (!get_typed(env, argv[2], is_arg(op) ? napi_int32_array : napi_float32_array, &out, &ol, "out")) return NULL;
  napi_get_value_int32(env, argv[3], &nr);
  tl_dims all;
  if (!parse_meta(env, argv[4], 1, &all, &off, &xl)) return NULL;
  if (nr < 0 || nr > all.nd) return throw_err(env, "tlens native: bad nReduced");
  red_ctx c;
  memset(&c, 0, sizeof c);
  c.op = op;
  c.x = x + off;
  c.out = out;
  int nk = all.nd - nr;
  c.kd.nd = nk;
  c.kd.ns = 1;
  c.rd.nd = nr;
  c.rd.ns = 1;
  for (int i = 0; i < nk; i++) { c.kd.shape[i] = all.shape[i]; c.kd.st[0][i] = all.st[0][i]; }
  for (int i = 0; i < nr; i++) { c.rd.shape[i] = all.shape[nk + i]; c.rd.st[0][i] = all.st[0][nk + i]; }
  int64_t K = dims_count(&c.kd);
  c.R = dims_count(&c.rd);
  if (K > ol) return throw_err(env, "tlens native: out too small");
  if (K == 0) return NULL;
  if (c.R == 0) return throw_err(env, "tlens native: empty reduction");
  if (is_arg(op) && c.R > INT32_MAX) return throw_err(env, "tlens native: reduced block too large for int32 index");
  dims_coalesce(&c.kd);
  dims_coalesce(&c.rd);
  red_run(&c, K);
  return NULL;
}

static napi_value js_softmax(napi_env env, napi_callback_info info) {
  GET_ARGS(7);
  float *x, *y;
  int64_t xl, yl;
  if (!get_typed(env, argv[0], napi_float32_array, (void **)&x, &xl, "x")) return NULL;
  int64_t rows = get_i64(env, argv[1]), cols = get_i64(env, argv[2]);
  if (!get_typed(env, argv[3], napi_float32_array, (void **)&y, &yl, "out")) return NULL;
  bool lg = false;
  napi_get_value_bool(env, argv[4], &lg);
  int64_t qlen = get_i64(env, argv[5]), koff = get_i64(env, argv[6]);
  if (rows < 0 || cols < 0 || rows * cols > xl || rows * cols > yl || qlen < 0)
    return throw_err(env, "tlens native: softmax sizes do not match the buffers");
  if (rows == 0 || cols == 0) return NULL;
  softmax_ctx c = {x, y, cols, qlen, koff, lg ? 1 : 0};
  par_range(rows, (double)cols * 4.0, softmax_range, &c);
  return NULL;
}

static napi_value js_layernorm(napi_env env, napi_callback_info info) {
  GET_ARGS(8);
  float *x, *y, *w = NULL, *b = NULL, *sc = NULL;
  int64_t xl, yl, wl = 0, bl = 0, scl = 0;
  if (!get_typed(env, argv[0], napi_float32_array, (void **)&x, &xl, "x")) return NULL;
  int64_t rows = get_i64(env, argv[1]), d = get_i64(env, argv[2]);
  double eps = 0;
  napi_get_value_double(env, argv[3], &eps);
  if (!is_nullish(env, argv[4]) && !get_typed(env, argv[4], napi_float32_array, (void **)&w, &wl, "w")) return NULL;
  if (!is_nullish(env, argv[5]) && !get_typed(env, argv[5], napi_float32_array, (void **)&b, &bl, "b")) return NULL;
  if (!get_typed(env, argv[6], napi_float32_array, (void **)&y, &yl, "out")) return NULL;
  if (!is_nullish(env, argv[7]) && !get_typed(env, argv[7], napi_float32_array, (void **)&sc, &scl, "scaleOut"))
    return NULL;
  if (rows < 0 || d < 0 || rows * d > xl || rows * d > yl || (w && wl < d) || (b && bl < d) || (sc && scl < rows))
    return throw_err(env, "tlens native: layerNorm sizes do not match the buffers");
  if (rows == 0) return NULL;
  if (d == 0) {
    if (sc) for (int64_t r = 0; r < rows; r++) sc[r] = NAN;
    return NULL;
  }
  ln_ctx c = {x, w, b, y, sc, d, eps};
  par_range(rows, (double)d * 3.0, ln_range, &c);
  return NULL;
}

static napi_value js_ops_isa(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  napi_create_string_utf8(env, g_k->name, NAPI_AUTO_LENGTH, &s);
  return s;
}

static napi_value js_ops_set_isa(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  char name[32] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok)
    return throw_err(env, "tlens native: opsSetIsa takes a string");
  select_isa(name);
  return js_ops_isa(env, info);
}

void tl_register_ops(napi_env env, napi_value exports) {
  if (!g_best) {
    g_best = detect_best();
    select_isa(getenv("TLENS_OPS_ISA"));
  }
  tl_export_fn(env, exports, "unaryF32", js_unary);
  tl_export_fn(env, exports, "binaryF32", js_binary);
  tl_export_fn(env, exports, "copyF32", js_copy);
  tl_export_fn(env, exports, "reduceF32", js_reduce);
  tl_export_fn(env, exports, "softmaxF32", js_softmax);
  tl_export_fn(env, exports, "layerNormF32", js_layernorm);
  tl_export_fn(env, exports, "opsIsa", js_ops_isa);
  tl_export_fn(env, exports, "opsSetIsa", js_ops_set_isa);
}
