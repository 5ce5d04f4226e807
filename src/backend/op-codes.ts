// Op codes of the C kernels: the enums of native/ops_internal.h, shared by the native and wasm backends.
import type { BinaryOp, ReduceOp, UnaryOp } from "./types.js";

export const UNARY_CODES: Partial<Record<UnaryOp, number>> = {
  neg: 0,
  exp: 1,
  log: 2,
  sqrt: 3,
  rsqrt: 4,
  tanh: 5,
  abs: 6,
  relu: 7,
  sigmoid: 8,
  silu: 9,
  gelu_new: 10,
  gelu: 11,
  square: 12,
  reciprocal: 13,
};
export const BINARY_CODES: Partial<Record<BinaryOp, number>> = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  maximum: 4,
  minimum: 5,
  pow: 6,
  eq: 7,
  ne: 8,
  lt: 9,
  le: 10,
  gt: 11,
  ge: 12,
};
/** Codes from here on are comparisons (uint8 results). */
export const COMPARE_FIRST = 7;
export const REDUCE_CODES: Partial<Record<ReduceOp, number>> = { sum: 0, max: 1, min: 2, argmax: 3, argmin: 4 };
