// Backward kernels of the fused forward kernels (autograd, src/tensor/autograd):
//   softmaxBackwardF32(y, g, rows, cols, out, log: bool)
//     y is the softmax (or log-softmax) output and g the gradient of y, both contiguous [rows, cols]; out
//     receives the gradient of the input: y * (g - Σ g·y) for softmax, g - exp(y) · Σ g for log-softmax.
//   geluNewBackwardF32(x, g, out)
//     out = g · gelu_new'(x), elementwise over contiguous buffers of one length.
#include "addon.h"
#include "threadpool.h"
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
  const float *y, *g;
  float *out;
  int64_t rows, cols, rows_per_task;
  int lg;
} sm_bwd_job;

static void sm_bwd_rows(const sm_bwd_job *j, int64_t lo, int64_t hi) {
  const int64_t n = j->cols;
  for (int64_t r = lo; r < hi; r++) {
    const float *y = j->y + r * n, *g = j->g + r * n;
    float *o = j->out + r * n;
    double acc = 0;
    if (j->lg) {
      for (int64_t c = 0; c < n; c++) acc += g[c];
      const float s = (float)acc;
      for (int64_t c = 0; c < n; c++) o[c] = g[c] - expf(y[c]) * s;
    } else {
      for (int64_t c = 0; c < n; c++) acc += (double)g[c] * y[c];
      const float s = (float)acc;
      for (int64_t c = 0; c < n; c++) o[c] = y[c] * (g[c] - s);
    }
  }
}

static void sm_bwd_task(void *ctx, int task, int thread) {
  (void)thread;
  const sm_bwd_job *j = (const sm_bwd_job *)ctx;
  int64_t lo = (int64_t)task * j->rows_per_task;
  int64_t hi = lo + j->rows_per_task < j->rows ? lo + j->rows_per_task : j->rows;
  sm_bwd_rows(j, lo, hi);
}

typedef struct {
  float *p;
  int64_t len;
} f32buf;

// Reads the call's `n` arguments into argv and the Float32Arrays among them (positions at[0..k)) into bufs;
// 0, with a JS error naming `usage`, when an argument is missing or not a Float32Array.
static int read_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const int *at, int k,
                     f32buf *bufs, const char *usage) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char msg[160];
  if (argc < n) {
    snprintf(msg, sizeof msg, "tlens native: %s: missing arguments", usage);
    napi_throw_error(env, NULL, msg);
    return 0;
  }
  for (int i = 0; i < k; i++) {
    bool is = false;
    napi_typedarray_type t = napi_int8_array;
    size_t len = 0;
    napi_is_typedarray(env, argv[at[i]], &is);
    if (is) napi_get_typedarray_info(env, argv[at[i]], &t, &len, (void **)&bufs[i].p, NULL, NULL);
    if (!is || t != napi_float32_array) {
      snprintf(msg, sizeof msg, "tlens native: %s: argument %d must be a Float32Array", usage, at[i] + 1);
      napi_throw_type_error(env, NULL, msg);
      return 0;
    }
    bufs[i].len = (int64_t)len;
  }
  return 1;
}

static napi_value softmax_backward(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  f32buf b[3];
  static const int at[3] = {0, 1, 4};
  if (!read_args(env, info, 6, argv, at, 3, b, "softmaxBackwardF32(y, g, rows, cols, out, log)")) return NULL;
  float *y = b[0].p, *g = b[1].p, *out = b[2].p;
  int64_t yl = b[0].len, gl = b[1].len, ol = b[2].len, rows = 0, cols = 0;
  bool lg = false;
  napi_get_value_int64(env, argv[2], &rows);
  napi_get_value_int64(env, argv[3], &cols);
  napi_get_value_bool(env, argv[5], &lg);
  if (rows < 0 || cols < 0 || rows * cols > yl || rows * cols > gl || rows * cols > ol) {
    napi_throw_error(env, NULL, "tlens native: softmaxBackwardF32 sizes do not match the buffers");
    return NULL;
  }
  if (rows == 0 || cols == 0) return NULL;
  // tasks of at least ~16k elements: below that the pool's wake-up costs more than it saves
  int64_t per = (16384 + cols - 1) / cols;
  int64_t tasks = (rows + per - 1) / per;
  int64_t most = 4 * (int64_t)tl_num_threads();
  if (tasks > most) {
    tasks = most;
    per = (rows + tasks - 1) / tasks;
  }
  sm_bwd_job j = {y, g, out, rows, cols, per, lg ? 1 : 0};
  if (tasks <= 1) sm_bwd_rows(&j, 0, rows);
  else tl_parallel_for((int)tasks, sm_bwd_task, &j);
  return NULL;
}

// tanh as a rational function (Eigen's float tanh: |error| ~1e-7 on the clamped range, where it is ±1 in
// float32 beyond): plain arithmetic, so the loop below vectorises.
static inline float tanh_rational(float x) {
  const float lim = 7.90531110763549805f;
  x = x > lim ? lim : x < -lim ? -lim : x;
  const float x2 = x * x;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p *= x;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return p / q;
}

typedef struct {
  const float *x, *g;
  float *out;
  int64_t n, per_task;
} gelu_bwd_job;

// d/dx ½x(1 + tanh u) = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), u = √(2/π)(x + 0.044715x³)
static void gelu_bwd_range(const gelu_bwd_job *j, int64_t lo, int64_t hi) {
  const float c = 0.7978845608028654f, a = 0.044715f;
  const float *x = j->x, *g = j->g;
  float *o = j->out;
  for (int64_t i = lo; i < hi; i++) {
    const float v = x[i], v2 = v * v;
    const float t = tanh_rational(c * (v + a * v2 * v));
    o[i] = g[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * c * (1.0f + 3.0f * a * v2));
  }
}

static void gelu_bwd_task(void *ctx, int task, int thread) {
  (void)thread;
  const gelu_bwd_job *j = (const gelu_bwd_job *)ctx;
  int64_t lo = (int64_t)task * j->per_task;
  gelu_bwd_range(j, lo, lo + j->per_task < j->n ? lo + j->per_task : j->n);
}

static napi_value gelu_new_backward(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  f32buf b[3]; // x, g, out
  static const int at[3] = {0, 1, 2};
  if (!read_args(env, info, 3, argv, at, 3, b, "geluNewBackwardF32(x, g, out)")) return NULL;
  if (b[1].len != b[0].len || b[2].len != b[0].len) {
    napi_throw_error(env, NULL, "tlens native: geluNewBackwardF32 buffers differ in length");
    return NULL;
  }
  const int64_t chunk = 65536, n = b[0].len;
  int64_t tasks = (n + chunk - 1) / chunk;
  gelu_bwd_job j = {b[0].p, b[1].p, b[2].p, n, chunk};
  if (tasks <= 1) gelu_bwd_range(&j, 0, n);
  else tl_parallel_for((int)tasks, gelu_bwd_task, &j);
  return NULL;
}

void tl_register_grad(napi_env env, napi_value exports) {
  tl_export_fn(env, exports, "softmaxBackwardF32", softmax_backward);
  tl_export_fn(env, exports, "geluNewBackwardF32", gelu_new_backward);
}
