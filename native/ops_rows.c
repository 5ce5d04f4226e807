// Row drivers: (log-)softmax with the causal mask and layer norm over the rows of a contiguous matrix, rows split
// over the pool.
#include <math.h>
#include <stddef.h>

#include "ops_api.h"
#include "ops_driver.h"

typedef struct {
  const float *x;
  float *y;
  int64_t cols, qlen, koff;
  int lg;
} softmax_ctx;

static void softmax_range(void *cv, int64_t lo, int64_t hi) {
  softmax_ctx *c = (softmax_ctx *)cv;
  tl_ops_k->softmax_rows(c->x, c->y, lo, hi, c->cols, c->lg, c->qlen, c->koff);
}

typedef struct {
  const float *x, *w, *b;
  float *y, *scale;
  int64_t d;
  double eps;
} ln_ctx;

static void ln_range(void *cv, int64_t lo, int64_t hi) {
  ln_ctx *c = (ln_ctx *)cv;
  tl_ops_k->layernorm_rows(c->x, c->y, lo, hi, c->d, c->eps, c->w, c->b, c->scale);
}

const char *tl_op_softmax(const float *x, int64_t xlen, float *y, int64_t ylen, int64_t rows, int64_t cols, int lg,
                          int64_t qlen, int64_t koff) {
  if (rows < 0 || cols < 0 || rows * cols > xlen || rows * cols > ylen || qlen < 0)
    return "softmax sizes do not match the buffers";
  if (rows == 0 || cols == 0) return NULL;
  softmax_ctx c = {x, y, cols, qlen, koff, lg ? 1 : 0};
  tl_par_range(rows, (double)cols * 4.0, softmax_range, &c);
  return NULL;
}

const char *tl_op_layernorm(const float *x, int64_t xlen, float *y, int64_t ylen, int64_t rows, int64_t d, double eps,
                            const float *w, int64_t wlen, const float *b, int64_t blen, float *scale, int64_t slen) {
  if (rows < 0 || d < 0 || rows * d > xlen || rows * d > ylen || (w && wlen < d) || (b && blen < d) ||
      (scale && slen < rows))
    return "layerNorm sizes do not match the buffers";
  if (rows == 0) return NULL;
  if (d == 0) {
    if (scale) for (int64_t r = 0; r < rows; r++) scale[r] = NAN;
    return NULL;
  }
  ln_ctx c = {x, w, b, y, scale, d, eps};
  tl_par_range(rows, (double)d * 3.0, ln_range, &c);
  return NULL;
}
