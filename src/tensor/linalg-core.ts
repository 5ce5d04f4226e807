/**
 * Small dense linear algebra in float64, pure TypeScript, on plain row-major Float64Arrays (one module per
 * factorisation under linalg/; helpers.ts holds what they share).
 *
 * - {@link eigvalsGeneral}: eigenvalues of a general (unsymmetric) real square matrix
 *   (scaling, balancing, Householder Hessenberg reduction, Francis double-shift QR with
 *   small-subdiagonal deflation and exceptional shifts, standardized 2×2 blocks).
 * - {@link svd}: thin SVD via one-sided (Hestenes) Jacobi on Rᵀ after a Householder QR
 *   preconditioning step.
 * - {@link qr}: reduced Householder QR using the LAPACK reflector convention, so that the
 *   results equal numpy.linalg.qr(a, mode="reduced") up to rounding.
 *
 * These are written from the textbook/LAPACK-documented algorithms; no library source was copied.
 * Everything here works on small matrices (d_head × d_head, d_model × d_head), so the code favours
 * robustness and accuracy over blocking/cache tricks.
 */
export { eigvalsGeneral } from "./linalg/eig.js";
export { svd } from "./linalg/svd.js";
export { qr } from "./linalg/qr.js";
