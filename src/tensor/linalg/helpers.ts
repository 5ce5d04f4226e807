// Shared pieces of the float64 linear algebra (linalg/qr.ts, svd.ts, eig*.ts): machine constants, argument checks,
// a safe norm and the LAPACK Householder reflector.
import { ShapeError, TensorError } from "../../errors.js";
/** Unit roundoff times the base, i.e. the spacing of doubles at 1 (LAPACK dlamch('P')). */
export const ULP = 2.220446049250313e-16;
/** Smallest positive normal double (LAPACK dlamch('S')). */
export const SAFMIN = 2.2250738585072014e-308;

export function checkDims(a: Float64Array, m: number, n: number, fn: string): void {
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 0 || n < 0) {
    throw new ShapeError(`${fn}: invalid matrix dimensions [${m}, ${n}]`);
  }
  if (a.length !== m * n) {
    throw new ShapeError(`${fn}: expected ${m * n} elements for a [${m}, ${n}] matrix, got ${a.length}`);
  }
}

export function checkFinite(a: Float64Array, fn: string): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) {
      throw new TensorError(`${fn}: input matrix contains a non-finite value (${a[i]}) at flat index ${i}`);
    }
  }
}

/** Fortran SIGN(a, b): |a| with the sign of b (b = 0 counts as positive). */
export function sign(a: number, b: number): number {
  const x = Math.abs(a);
  return b >= 0 ? x : -x;
}

/** Overflow/underflow-safe Euclidean norm of `count` entries of x starting at `off` with `stride`. */
export function nrm2(x: Float64Array, off: number, stride: number, count: number): number {
  let scale = 0;
  let ssq = 1;
  for (let k = 0, idx = off; k < count; k++, idx += stride) {
    const v = x[idx]!;
    if (v !== 0) {
      const av = Math.abs(v);
      if (scale < av) {
        const r = scale / av;
        ssq = 1 + ssq * r * r;
        scale = av;
      } else {
        const r = av / scale;
        ssq += r * r;
      }
    }
  }
  return scale * Math.sqrt(ssq);
}

/**
 * Generate an elementary reflector H = I - tau·[1; v]·[1; v]ᵀ with H·[alpha; x] = [beta; 0]
 * (LAPACK dlarfg convention: beta = -sign(alpha)·‖[alpha; x]‖, tau = (beta - alpha)/beta, tau = 0
 * when x is already zero). `x` (count entries at off/stride) is overwritten with v.
 * Returns [beta, tau].
 */
export function householder(
  alpha: number,
  x: Float64Array,
  off: number,
  stride: number,
  count: number,
): [number, number] {
  if (count <= 0) return [alpha, 0];
  let xnorm = nrm2(x, off, stride, count);
  if (xnorm === 0) return [alpha, 0];
  let beta = -sign(Math.hypot(alpha, xnorm), alpha);
  const safmin = SAFMIN / ULP;
  let knt = 0;
  if (Math.abs(beta) < safmin) {
    // beta may be inaccurate: rescale x and alpha until it is representable with full precision.
    const rsafmn = 1 / safmin;
    do {
      knt++;
      for (let k = 0, idx = off; k < count; k++, idx += stride) x[idx]! *= rsafmn;
      beta *= rsafmn;
      alpha *= rsafmn;
    } while (Math.abs(beta) < safmin && knt < 20);
    xnorm = nrm2(x, off, stride, count);
    beta = -sign(Math.hypot(alpha, xnorm), alpha);
  }
  // alpha and beta have opposite signs, so alpha - beta only overflows for entries near the top of
  // the double range; then use the (equally accurate) halved forms.
  const diff = alpha - beta;
  const finite = Number.isFinite(diff);
  const tau = finite ? -diff / beta : 1 - alpha / beta;
  const inv = finite ? 1 / diff : 0.5 / (0.5 * alpha - 0.5 * beta);
  for (let k = 0, idx = off; k < count; k++, idx += stride) x[idx]! *= inv;
  for (let j = 0; j < knt; j++) beta *= safmin;
  return [beta, tau];
}
