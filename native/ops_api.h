// The float32 op drivers other than GEMM, over strided views with broadcasting, shared by the N-API addon (ops.c)
// and the wasm module (native/wasm/tlens_wasm.c): unary/binary elementwise ops, strided copy, reductions,
// (log-)softmax with the causal mask, layer norm. They coalesce dims, walk runs, thread over the shared pool and call
// the flat kernels of the instruction set in use (ops_kern.h).
//
// View metadata `meta` (mlen doubles): [off, nd, shape..., strides...] for one view, [offA, offB, nd, shape...,
// stridesA..., stridesB...] for two views over one shape. Buffer lengths are in elements. Op codes are the enums of
// ops_internal.h. Every function validates its arguments (ops, sizes, every view inside its buffer) and returns NULL
// once done, or a message saying what is wrong, having written nothing.
#ifndef TL_OPS_API_H
#define TL_OPS_API_H
#include <stdint.h>

// y[i] = op(x[view i]); y contiguous, ylen >= numel.
const char *tl_op_unary(int op, const float *x, int64_t xlen, float *y, int64_t ylen, const double *meta, int64_t mlen);
// y[i] = a[view i] op b[view i]; y is float32, or uint8 0/1 for comparisons.
const char *tl_op_binary(int op, const float *a, int64_t alen, const float *b, int64_t blen, void *y, int64_t ylen,
                         const double *meta, int64_t mlen);
// dst[view B] = src[view A].
const char *tl_op_copy(const float *src, int64_t slen, float *dst, int64_t dlen, const double *meta, int64_t mlen);
// Reduces the last `nreduced` dims of the view: out is float32, or int32 indices for argmax / argmin.
const char *tl_op_reduce(int op, const float *x, int64_t xlen, void *out, int64_t olen, int nreduced, const double *meta,
                         int64_t mlen);
// Rows of a contiguous [rows, cols] matrix; qlen > 0 applies the causal mask (key j of query row r is kept when
// j <= koff + r % qlen).
const char *tl_op_softmax(const float *x, int64_t xlen, float *y, int64_t ylen, int64_t rows, int64_t cols, int lg,
                          int64_t qlen, int64_t koff);
// Rows of a contiguous [rows, d] matrix; w, b, scale may be NULL (scale: the per-row 1/std).
const char *tl_op_layernorm(const float *x, int64_t xlen, float *y, int64_t ylen, int64_t rows, int64_t d, double eps,
                            const float *w, int64_t wlen, const float *b, int64_t blen, float *scale, int64_t slen);

// Instruction set (ops_isa.c): until tl_ops_init, the portable kernels. tl_ops_init picks the best this CPU has, then
// applies TLENS_OPS_ISA; tl_ops_set_isa selects one by name ("avx512" | "avx2" | "generic" | "auto"), never one the
// CPU lacks. Both return the name of the one in use.
const char *tl_ops_init(void);
const char *tl_ops_set_isa(const char *name);
const char *tl_ops_isa(void);

#endif
