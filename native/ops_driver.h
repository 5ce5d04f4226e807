// Internal declarations of the strided op drivers (ops_dims.c, ops_elementwise.c, ops_reduce.c, ops_rows.c,
// ops_isa.c): view dims, their coalescing and walking, threading over the shared pool, the kernels in use.
#ifndef TL_OPS_DRIVER_H
#define TL_OPS_DRIVER_H
#include <stdint.h>
#include <string.h>

#include "ops_internal.h"

#define TL_MAXDIM 64
#define TL_PAR_MIN 65536  // elements (or equivalent work) below which a kernel runs on the calling thread
#define TL_PAR_CHUNK 32768

// The flat kernels in use (ops_isa.c).
extern const tl_ops_kernels *tl_ops_k;

// ns views over one shape: view k's element at index i is at offset sum_d i[d] * st[k][d].
typedef struct {
  int nd, ns;  // dims, stride arrays
  int64_t shape[TL_MAXDIM];
  int64_t st[3][TL_MAXDIM];
} tl_dims;

int64_t tl_dims_count(const tl_dims *d);
// Drops size-1 dims and merges neighbours that are contiguous with each other in every stride array; keeps the
// row-major order (so flat indices are unchanged). Leaves at least one dim.
void tl_dims_coalesce(tl_dims *d);
// Parses meta [off0, (off1,) nd, shape..., strides0..., (strides1...)] into d with `ns` stride arrays and checks
// that every view lies inside its buffer (lens[k] elements); returns NULL or what is wrong.
const char *tl_dims_parse(const double *m, int64_t mlen, int ns, tl_dims *d, int64_t *offs, const int64_t *lens);

// A walk over the flat indices of d, keeping every view's offset.
typedef struct {
  const tl_dims *d;
  int64_t idx[TL_MAXDIM];
  int64_t off[3];
} tl_walk;

static inline void walk_init(tl_walk *w, const tl_dims *d, int64_t lin) {
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

// Runs fn over [0, n), split into chunks over the pool when the work (n * work_per_item elements) is large.
typedef void (*tl_range_fn)(void *ctx, int64_t lo, int64_t hi);
void tl_par_range(int64_t n, double work_per_item, tl_range_fn fn, void *ctx);

// dst[j] = src[j * s] for j < n
static inline void strided_gather(const float *src, int64_t s, float *dst, int64_t n) {
  if (s == 1) memcpy(dst, src, (size_t)n * sizeof(float));
  else if (s == 0) for (int64_t j = 0; j < n; j++) dst[j] = src[0];
  else for (int64_t j = 0; j < n; j++) dst[j] = src[j * s];
}

#endif
