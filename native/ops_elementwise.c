// Strided drivers of the elementwise ops: unary, binary with broadcasting (float32 or uint8 comparison results),
// strided copy (tiled when it transposes). Runs of the innermost dim go to the flat kernels, gathered into
// contiguous blocks when they are strided or short.
#include <stddef.h>
#include <string.h>

#include "ops_api.h"
#include "ops_driver.h"

typedef struct {
  int op;
  const float *x;
  float *y;
  tl_dims d;
} unary_ctx;

static void unary_range(void *c, int64_t lo, int64_t hi) {
  unary_ctx *u = (unary_ctx *)c;
  if (u->d.nd == 1 && u->d.st[0][0] == 1) {
    tl_ops_k->unary(u->op, u->x + lo, u->y + lo, hi - lo);
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
    tl_ops_k->unary(u->op, u->y + start, u->y + start, end - start);
  }
}


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
  const tl_ops_kernels *k = tl_ops_k;
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
// entry points (ops_api.h)

const char *tl_op_unary(int op, const float *x, int64_t xlen, float *y, int64_t ylen, const double *meta, int64_t mlen) {
  if (op < 0 || op >= TL_U_COUNT) return "bad unary op";
  unary_ctx c;
  int64_t off;
  const char *err = tl_dims_parse(meta, mlen, 1, &c.d, &off, &xlen);
  if (err) return err;
  int64_t n = tl_dims_count(&c.d);
  if (n > ylen) return "out too small";
  if (n == 0) return NULL;
  tl_dims_coalesce(&c.d);
  c.op = op;
  c.x = x + off;
  c.y = y;
  tl_par_range(n, op == TL_U_NEG || op == TL_U_ABS || op == TL_U_SQUARE || op == TL_U_RELU ? 1.0 : 4.0, unary_range, &c);
  return NULL;
}

const char *tl_op_binary(int op, const float *a, int64_t alen, const float *b, int64_t blen, void *y, int64_t ylen,
                         const double *meta, int64_t mlen) {
  if (op < 0 || op >= TL_B_COUNT) return "bad binary op";
  bin_ctx c;
  int64_t offs[2], lens[2] = {alen, blen};
  const char *err = tl_dims_parse(meta, mlen, 2, &c.d, offs, lens);
  if (err) return err;
  int64_t n = tl_dims_count(&c.d);
  if (n > ylen) return "out too small";
  if (n == 0) return NULL;
  tl_dims_coalesce(&c.d);
  c.op = op;
  c.cmp = TL_B_IS_CMP(op);
  c.a = a + offs[0];
  c.b = b + offs[1];
  c.y = y;
  tl_par_range(n, op == TL_B_POW ? 8.0 : 1.0, bin_range, &c);
  return NULL;
}

// Transposing copies (one side contiguous along the last dim, the other along the second-to-last) go by tiles.
static int copy_is_transpose(const tl_dims *d) {
  int nd = d->nd;
  if (nd < 2) return 0;
  int64_t ss0 = d->st[0][nd - 2], ss1 = d->st[0][nd - 1], ds0 = d->st[1][nd - 2], ds1 = d->st[1][nd - 1];
  return ((ds1 == 1 && ss0 == 1 && ss1 != 1) || (ss1 == 1 && ds0 == 1 && ds1 != 1)) && d->shape[nd - 2] >= 8 &&
         d->shape[nd - 1] >= 8;
}

const char *tl_op_copy(const float *src, int64_t slen, float *dst, int64_t dlen, const double *meta, int64_t mlen) {
  copy_ctx c;
  int64_t offs[2], lens[2] = {slen, dlen};
  const char *err = tl_dims_parse(meta, mlen, 2, &c.dims, offs, lens);
  if (err) return err;
  int64_t n = tl_dims_count(&c.dims);
  if (n == 0) return NULL;
  tl_dims_coalesce(&c.dims);
  c.s = src + offs[0];
  c.d = dst + offs[1];
  if (copy_is_transpose(&c.dims)) {
    int64_t A = c.dims.shape[c.dims.nd - 2], B = c.dims.shape[c.dims.nd - 1];
    int64_t tiles = ((A + TL_TILE - 1) / TL_TILE) * ((B + TL_TILE - 1) / TL_TILE);
    tl_par_range((n / (A * B)) * tiles, (double)(TL_TILE * TL_TILE), copy_tiled_range, &c);
    return NULL;
  }
  tl_par_range(n, 1.0, copy_range, &c);
  return NULL;
}
