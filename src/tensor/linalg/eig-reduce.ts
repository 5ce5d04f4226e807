// The reductions before the eigenvalue QR iteration (LAPACK dgebal + dgehrd): permutations isolating eigenvalues,
// diagonal scaling by powers of 2, and the Householder reduction to upper Hessenberg form.
import { householder, nrm2, SAFMIN, ULP } from "./helpers.js";

/** Swap rows i, j and columns i, j of the row-major [n, n] matrix A (a permutation similarity). */
function swapRowCol(A: Float64Array, n: number, i: number, j: number): void {
  if (i === j) return;
  for (let k = 0; k < n; k++) {
    const t = A[i * n + k]!;
    A[i * n + k] = A[j * n + k]!;
    A[j * n + k] = t;
  }
  for (let k = 0; k < n; k++) {
    const t = A[k * n + i]!;
    A[k * n + i] = A[k * n + j]!;
    A[k * n + j] = t;
  }
}

/**
 * Permutation step of balancing: permute A (in place, by similarity) to block upper triangular
 * form [T1 X Y; 0 B Z; 0 0 T2] with T1, T2 upper triangular. Returns [lo, hi], the bounds of B;
 * the diagonal entries outside lo..hi are eigenvalues.
 */
export function isolateEigenvalues(A: Float64Array, n: number): [number, number] {
  let lo = 0;
  let hi = n - 1;
  // Rows whose off-diagonal entries within columns 0..hi vanish: move them to the bottom.
  let found = true;
  while (found && hi > 0) {
    found = false;
    for (let j = hi; j >= 0; j--) {
      let zero = true;
      for (let c = 0; c <= hi; c++) {
        if (c !== j && A[j * n + c] !== 0) {
          zero = false;
          break;
        }
      }
      if (zero) {
        swapRowCol(A, n, j, hi);
        hi--;
        found = true;
        break;
      }
    }
  }
  // Columns whose off-diagonal entries within rows lo..hi vanish: move them to the left.
  found = true;
  while (found && lo <= hi) {
    found = false;
    for (let j = lo; j <= hi; j++) {
      let zero = true;
      for (let r = lo; r <= hi; r++) {
        if (r !== j && A[r * n + j] !== 0) {
          zero = false;
          break;
        }
      }
      if (zero) {
        swapRowCol(A, n, j, lo);
        lo++;
        found = true;
        break;
      }
    }
  }
  return [lo, hi];
}

/**
 * Scaling step of balancing on the [n, n] matrix B in place: diagonal similarity by powers of 2
 * (exact) that makes the 2-norms of each row and the matching column comparable, which greatly
 * reduces the norm (and so the absolute eigenvalue error) of badly scaled matrices.
 */
export function scaleBalance(B: Float64Array, n: number): void {
  const radix = 2;
  const factor = 0.95;
  const sfmin1 = SAFMIN / ULP;
  const sfmax1 = 1 / sfmin1;
  const sfmin2 = sfmin1 * radix;
  const sfmax2 = 1 / sfmin2;
  const scale = new Float64Array(n).fill(1);
  let noconv = true;
  for (let pass = 0; noconv && pass < 1000; pass++) {
    noconv = false;
    for (let i = 0; i < n; i++) {
      let c = nrm2(B, i, n, n);
      let r = nrm2(B, i * n, 1, n);
      let ca = 0;
      let ra = 0;
      for (let k = 0; k < n; k++) {
        ca = Math.max(ca, Math.abs(B[k * n + i]!));
        ra = Math.max(ra, Math.abs(B[i * n + k]!));
      }
      if (c === 0 || r === 0) continue;
      let g = r / radix;
      let f = 1;
      const s = c + r;
      while (c < g && Math.max(f, c, ca) < sfmax2 && Math.min(r, g, ra) > sfmin2) {
        f *= radix;
        c *= radix;
        ca *= radix;
        r /= radix;
        g /= radix;
        ra /= radix;
      }
      g = c / radix;
      while (g >= r && Math.max(r, ra) < sfmax2 && Math.min(f, c, g, ca) > sfmin2) {
        f /= radix;
        c /= radix;
        g /= radix;
        ca /= radix;
        r *= radix;
        ra *= radix;
      }
      if (c + r >= factor * s) continue;
      if (f < 1 && scale[i]! < 1 && f * scale[i]! <= sfmin1) continue;
      if (f > 1 && scale[i]! > 1 && scale[i]! >= sfmax1 / f) continue;
      const ginv = 1 / f;
      scale[i]! *= f;
      noconv = true;
      for (let k = 0; k < n; k++) B[i * n + k]! *= ginv;
      for (let k = 0; k < n; k++) B[k * n + i]! *= f;
    }
  }
}

/** Reduce the [n, n] matrix B in place to upper Hessenberg form by Householder similarities. */
export function hessenbergReduce(B: Float64Array, n: number): void {
  const w = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // Reflector annihilating B[k+2:n, k]; v = [1; B[k+2:n, k]] after the call.
    const [beta, tau] = householder(B[(k + 1) * n + k]!, B, (k + 2) * n + k, n, n - k - 2);
    B[(k + 1) * n + k] = beta;
    if (tau === 0) {
      for (let i = k + 2; i < n; i++) B[i * n + k] = 0;
      continue;
    }
    const v = new Float64Array(n - k - 1);
    v[0] = 1;
    for (let i = k + 2; i < n; i++) {
      v[i - k - 1] = B[i * n + k]!;
      B[i * n + k] = 0;
    }
    const len = n - k - 1;
    const c0 = k + 1;
    // Right: B[:, c0:n] ← B[:, c0:n]·(I - tau v vᵀ)
    for (let i = 0; i < n; i++) {
      const row = i * n + c0;
      let s = 0;
      for (let j = 0; j < len; j++) s += B[row + j]! * v[j]!;
      s *= tau;
      if (s !== 0) for (let j = 0; j < len; j++) B[row + j]! -= s * v[j]!;
    }
    // Left: B[c0:n, c0:n] ← (I - tau v vᵀ)·B[c0:n, c0:n]   (columns < c0 of these rows are 0 except column k, handled above)
    for (let j = c0; j < n; j++) w[j] = 0;
    for (let i = 0; i < len; i++) {
      const vi = v[i]!;
      const row = (c0 + i) * n;
      for (let j = c0; j < n; j++) w[j]! += vi * B[row + j]!;
    }
    for (let j = c0; j < n; j++) w[j]! *= tau;
    for (let i = 0; i < len; i++) {
      const vi = v[i]!;
      if (vi === 0) continue;
      const row = (c0 + i) * n;
      for (let j = c0; j < n; j++) B[row + j]! -= vi * w[j]!;
    }
  }
}
