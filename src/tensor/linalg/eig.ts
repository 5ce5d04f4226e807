// Eigenvalues of a general real square matrix (LAPACK dgeev without vectors): scaling, balancing, Hessenberg
// reduction (eig-reduce.ts), then the Francis double-shift QR iteration (eig-qr.ts).
import { isolateEigenvalues, hessenbergReduce, scaleBalance } from "./eig-reduce.js";
import { hessenbergQREigenvalues } from "./eig-qr.js";
import { checkDims, checkFinite, SAFMIN, ULP } from "./helpers.js";

/**
 * Eigenvalues of a general real square matrix (row-major [n, n], not necessarily symmetric), as
 * LAPACK dgeev (jobvl = jobvr = 'N') computes them: the matrix is scaled into a safe range,
 * balanced (permutations isolating eigenvalues, then diagonal scaling by powers of 2), reduced to
 * upper Hessenberg form by Householder reflections, and the Hessenberg matrix is driven to real
 * Schur form by the Francis implicit double-shift QR algorithm (with the conservative Ahues–Tisseur
 * deflation test and exceptional shifts, so it converges on cyclic permutations, Jordan blocks etc.).
 *
 * Returns the eigenvalues as real and imaginary parts, each of length n, in the order of the
 * diagonal of the computed Schur form; complex-conjugate pairs are adjacent with the positive
 * imaginary part first. Real eigenvalues have im exactly 0.
 *
 * Throws an Error on non-finite input, or if the QR iteration fails to converge (iteration cap of
 * 30·max(10, n) per eigenvalue), so it never loops forever.
 */
export function eigvalsGeneral(a: Float64Array, n: number): { re: Float64Array; im: Float64Array } {
  checkDims(a, n, n, "eigvalsGeneral");
  checkFinite(a, "eigvalsGeneral");
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  if (n === 0) return { re, im };

  const A = Float64Array.from(a);
  let anrm = 0;
  for (let k = 0; k < A.length; k++) anrm = Math.max(anrm, Math.abs(A[k]!));
  if (anrm === 0) return { re, im };

  // Scale into [smlnum, bignum] if necessary so that intermediate quantities neither overflow nor
  // lose precision to underflow.
  const smlnum = Math.sqrt(SAFMIN) / ULP;
  const bignum = 1 / smlnum;
  let scaleFactor = 1;
  if (anrm < smlnum) scaleFactor = smlnum / anrm;
  else if (anrm > bignum) scaleFactor = bignum / anrm;
  if (scaleFactor !== 1) for (let k = 0; k < A.length; k++) A[k]! *= scaleFactor;

  const [lo, hi] = isolateEigenvalues(A, n);
  for (let p = 0; p < lo; p++) re[p] = A[p * n + p]!;
  for (let p = hi + 1; p < n; p++) re[p] = A[p * n + p]!;
  const nh = hi - lo + 1;
  if (nh > 0) {
    const B = new Float64Array(nh * nh);
    for (let r = 0; r < nh; r++) {
      for (let c = 0; c < nh; c++) B[r * nh + c] = A[(lo + r) * n + lo + c]!;
    }
    scaleBalance(B, nh);
    hessenbergReduce(B, nh);
    hessenbergQREigenvalues(B, nh, re, im, lo);
  }
  if (scaleFactor !== 1) {
    for (let k = 0; k < n; k++) {
      re[k]! /= scaleFactor;
      im[k]! /= scaleFactor;
    }
  }
  return { re, im };
}
