// Shared declarations of the float32 elementwise / reduction / normalisation kernels (everything but GEMM).
// The flat (contiguous) kernels are compiled once per instruction set from ops_kern.h (ops_avx512.c,
// ops_avx2.c, ops_generic.c); ops_isa.c picks a table at run time, and the drivers of ops_api.h walk strided views
// and thread over the pool with it.
#ifndef TL_OPS_INTERNAL_H
#define TL_OPS_INTERNAL_H
#include <stdint.h>

enum tl_unary_op {
  TL_U_NEG = 0, TL_U_EXP, TL_U_LOG, TL_U_SQRT, TL_U_RSQRT, TL_U_TANH, TL_U_ABS, TL_U_RELU, TL_U_SIGMOID,
  TL_U_SILU, TL_U_GELU_NEW, TL_U_GELU, TL_U_SQUARE, TL_U_RECIPROCAL, TL_U_COUNT
};

// Arithmetic ops produce float32, comparisons produce uint8 0/1.
enum tl_binary_op {
  TL_B_ADD = 0, TL_B_SUB, TL_B_MUL, TL_B_DIV, TL_B_MAXIMUM, TL_B_MINIMUM, TL_B_POW,
  TL_B_EQ, TL_B_NE, TL_B_LT, TL_B_LE, TL_B_GT, TL_B_GE, TL_B_COUNT
};
#define TL_B_IS_CMP(op) ((op) >= TL_B_EQ)

enum tl_reduce_op { TL_R_SUM = 0, TL_R_MAX, TL_R_MIN, TL_R_ARGMAX, TL_R_ARGMIN, TL_R_COUNT };

typedef struct tl_ops_kernels {
  const char *name;
  // y[i] = op(x[i]); x may equal y.
  void (*unary)(int op, const float *x, float *y, int64_t n);
  // float32-result binary ops: y = a op b (vv), a op s (vs), s op b (sv).
  void (*binary_vv)(int op, const float *a, const float *b, float *y, int64_t n);
  void (*binary_vs)(int op, const float *a, float s, float *y, int64_t n);
  void (*binary_sv)(int op, float s, const float *b, float *y, int64_t n);
  // comparisons: y = (a op b) ? 1 : 0
  void (*compare_vv)(int op, const float *a, const float *b, uint8_t *y, int64_t n);
  void (*compare_vs)(int op, const float *a, float s, uint8_t *y, int64_t n);
  // reductions of a contiguous block (max/min propagate NaN)
  double (*sum)(const float *x, int64_t n);
  float (*max)(const float *x, int64_t n);
  float (*min)(const float *x, int64_t n);
  // column accumulation: acc[j] op= p[j] for j < n (used when the reduced dims are not the contiguous ones)
  void (*col_sum)(double *acc, const float *p, int64_t n);
  void (*col_max)(float *acc, const float *p, int64_t n);
  void (*col_min)(float *acc, const float *p, int64_t n);
  // rows [r0, r1) of a contiguous [rows, cols] matrix; qlen > 0 enables the causal mask
  void (*softmax_rows)(const float *x, float *y, int64_t r0, int64_t r1, int64_t cols, int log, int64_t qlen,
                       int64_t koff);
  // rows [r0, r1) of a contiguous [rows, d] matrix; w, b, scale may be NULL
  void (*layernorm_rows)(const float *x, float *y, int64_t r0, int64_t r1, int64_t d, double eps, const float *w,
                         const float *b, float *scale);
} tl_ops_kernels;

extern const tl_ops_kernels tl_ops_generic;
#if defined(__x86_64__) || defined(__i386__)
#define TL_OPS_X86 1
extern const tl_ops_kernels tl_ops_avx2;
extern const tl_ops_kernels tl_ops_avx512;
#endif

#endif
