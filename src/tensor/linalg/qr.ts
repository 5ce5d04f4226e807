// Reduced Householder QR (LAPACK's reflector convention: numpy.linalg.qr(a, mode="reduced") up to rounding), and
// the in-place factorisation and Q application that svd.ts reuses.
import { checkDims, checkFinite, householder } from "./helpers.js";

/**
 * In-place Householder QR of the row-major [m, n] matrix W (LAPACK dgeqr2 layout): on return the
 * upper triangle holds R and the part below the diagonal of column k holds the reflector vector v_k
 * (with implicit leading 1); tau[k] its scalar factor. k runs over 0..min(m, n)-1.
 */
export function householderQRInPlace(W: Float64Array, m: number, n: number, tau: Float64Array): void {
  const r = Math.min(m, n);
  const w = new Float64Array(n);
  for (let k = 0; k < r; k++) {
    const [beta, t] = householder(W[k * n + k]!, W, (k + 1) * n + k, n, m - k - 1);
    W[k * n + k] = beta;
    tau[k] = t;
    if (t === 0 || k + 1 >= n) continue;
    // Apply H_k = I - t·v·vᵀ to W[k:m, k+1:n] (row-wise, contiguous accesses): w = vᵀ W, W -= t·v·w.
    for (let j = k + 1; j < n; j++) w[j] = W[k * n + j]!;
    for (let i = k + 1; i < m; i++) {
      const vi = W[i * n + k]!;
      if (vi === 0) continue;
      const row = i * n;
      for (let j = k + 1; j < n; j++) w[j]! += vi * W[row + j]!;
    }
    for (let j = k + 1; j < n; j++) {
      w[j]! *= t;
      W[k * n + j]! -= w[j]!;
    }
    for (let i = k + 1; i < m; i++) {
      const vi = W[i * n + k]!;
      if (vi === 0) continue;
      const row = i * n;
      for (let j = k + 1; j < n; j++) W[row + j]! -= vi * w[j]!;
    }
  }
}

/**
 * Apply Q = H_0·H_1·…·H_{r-1} (reflectors stored in W/tau as produced by householderQRInPlace,
 * W is [m, nW]) to the row-major [m, c] matrix C in place: C ← Q·C.
 */
export function applyQ(
  W: Float64Array,
  m: number,
  nW: number,
  tau: Float64Array,
  r: number,
  C: Float64Array,
  c: number,
): void {
  const w = new Float64Array(c);
  for (let k = r - 1; k >= 0; k--) {
    const t = tau[k]!;
    if (t === 0) continue;
    for (let j = 0; j < c; j++) w[j] = C[k * c + j]!;
    for (let i = k + 1; i < m; i++) {
      const vi = W[i * nW + k]!;
      if (vi === 0) continue;
      const row = i * c;
      for (let j = 0; j < c; j++) w[j]! += vi * C[row + j]!;
    }
    for (let j = 0; j < c; j++) {
      w[j]! *= t;
      C[k * c + j]! -= w[j]!;
    }
    for (let i = k + 1; i < m; i++) {
      const vi = W[i * nW + k]!;
      if (vi === 0) continue;
      const row = i * c;
      for (let j = 0; j < c; j++) C[row + j]! -= vi * w[j]!;
    }
  }
}

/**
 * Reduced QR decomposition of a row-major [m, n] matrix by Householder reflections:
 * A = Q·R with Q [m, r] having orthonormal columns and R [r, n] upper triangular (trapezoidal when
 * n > m), r = min(m, n). Same as numpy.linalg.qr(a, mode="reduced"): the reflectors follow LAPACK's
 * dgeqrf/dlarfg convention (R[k, k] = -sign(a_kk)·‖column‖, so the diagonal of R may be negative;
 * a column that is already zero below the diagonal is left untouched, tau = 0), and Q is formed as
 * in dorgqr, so the results equal numpy's up to rounding.
 */
export function qr(a: Float64Array, m: number, n: number): { Q: Float64Array; R: Float64Array } {
  checkDims(a, m, n, "qr");
  checkFinite(a, "qr");
  const r = Math.min(m, n);
  const W = Float64Array.from(a);
  const tau = new Float64Array(r);
  householderQRInPlace(W, m, n, tau);
  const R = new Float64Array(r * n);
  for (let i = 0; i < r; i++) {
    for (let j = i; j < n; j++) R[i * n + j] = W[i * n + j]!;
  }
  const Q = new Float64Array(m * r);
  for (let i = 0; i < r; i++) Q[i * r + i] = 1;
  applyQ(W, m, n, tau, r, Q, r);
  return { Q, R };
}
