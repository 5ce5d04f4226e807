/**
 * Small dense linear algebra in float64, pure TypeScript, on plain row-major Float64Arrays.
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

/** Unit roundoff times the base, i.e. the spacing of doubles at 1 (LAPACK dlamch('P')). */
const ULP = 2.220446049250313e-16;
/** Smallest positive normal double (LAPACK dlamch('S')). */
const SAFMIN = 2.2250738585072014e-308;

function checkDims(a: Float64Array, m: number, n: number, fn: string): void {
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 0 || n < 0) {
    throw new Error(`${fn}: invalid matrix dimensions [${m}, ${n}]`);
  }
  if (a.length !== m * n) {
    throw new Error(`${fn}: expected ${m * n} elements for a [${m}, ${n}] matrix, got ${a.length}`);
  }
}

function checkFinite(a: Float64Array, fn: string): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) {
      throw new Error(`${fn}: input matrix contains a non-finite value (${a[i]}) at flat index ${i}`);
    }
  }
}

/** Fortran SIGN(a, b): |a| with the sign of b (b = 0 counts as positive). */
function sign(a: number, b: number): number {
  const x = Math.abs(a);
  return b >= 0 ? x : -x;
}

/** Overflow/underflow-safe Euclidean norm of `count` entries of x starting at `off` with `stride`. */
function nrm2(x: Float64Array, off: number, stride: number, count: number): number {
  let scale = 0;
  let ssq = 1;
  for (let k = 0, idx = off; k < count; k++, idx += stride) {
    const v = x[idx];
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
function householder(alpha: number, x: Float64Array, off: number, stride: number, count: number): [number, number] {
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
      for (let k = 0, idx = off; k < count; k++, idx += stride) x[idx] *= rsafmn;
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
  for (let k = 0, idx = off; k < count; k++, idx += stride) x[idx] *= inv;
  for (let j = 0; j < knt; j++) beta *= safmin;
  return [beta, tau];
}

// ---------------------------------------------------------------------------------------------
// QR
// ---------------------------------------------------------------------------------------------

/**
 * In-place Householder QR of the row-major [m, n] matrix W (LAPACK dgeqr2 layout): on return the
 * upper triangle holds R and the part below the diagonal of column k holds the reflector vector v_k
 * (with implicit leading 1); tau[k] its scalar factor. k runs over 0..min(m, n)-1.
 */
function householderQRInPlace(W: Float64Array, m: number, n: number, tau: Float64Array): void {
  const r = Math.min(m, n);
  const w = new Float64Array(n);
  for (let k = 0; k < r; k++) {
    const [beta, t] = householder(W[k * n + k], W, (k + 1) * n + k, n, m - k - 1);
    W[k * n + k] = beta;
    tau[k] = t;
    if (t === 0 || k + 1 >= n) continue;
    // Apply H_k = I - t·v·vᵀ to W[k:m, k+1:n] (row-wise, contiguous accesses): w = vᵀ W, W -= t·v·w.
    for (let j = k + 1; j < n; j++) w[j] = W[k * n + j];
    for (let i = k + 1; i < m; i++) {
      const vi = W[i * n + k];
      if (vi === 0) continue;
      const row = i * n;
      for (let j = k + 1; j < n; j++) w[j] += vi * W[row + j];
    }
    for (let j = k + 1; j < n; j++) {
      w[j] *= t;
      W[k * n + j] -= w[j];
    }
    for (let i = k + 1; i < m; i++) {
      const vi = W[i * n + k];
      if (vi === 0) continue;
      const row = i * n;
      for (let j = k + 1; j < n; j++) W[row + j] -= vi * w[j];
    }
  }
}

/**
 * Apply Q = H_0·H_1·…·H_{r-1} (reflectors stored in W/tau as produced by householderQRInPlace,
 * W is [m, nW]) to the row-major [m, c] matrix C in place: C ← Q·C.
 */
function applyQ(W: Float64Array, m: number, nW: number, tau: Float64Array, r: number, C: Float64Array, c: number): void {
  const w = new Float64Array(c);
  for (let k = r - 1; k >= 0; k--) {
    const t = tau[k];
    if (t === 0) continue;
    for (let j = 0; j < c; j++) w[j] = C[k * c + j];
    for (let i = k + 1; i < m; i++) {
      const vi = W[i * nW + k];
      if (vi === 0) continue;
      const row = i * c;
      for (let j = 0; j < c; j++) w[j] += vi * C[row + j];
    }
    for (let j = 0; j < c; j++) {
      w[j] *= t;
      C[k * c + j] -= w[j];
    }
    for (let i = k + 1; i < m; i++) {
      const vi = W[i * nW + k];
      if (vi === 0) continue;
      const row = i * c;
      for (let j = 0; j < c; j++) C[row + j] -= vi * w[j];
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
  checkDims(a, m, n, 'qr');
  checkFinite(a, 'qr');
  const r = Math.min(m, n);
  const W = Float64Array.from(a);
  const tau = new Float64Array(r);
  householderQRInPlace(W, m, n, tau);
  const R = new Float64Array(r * n);
  for (let i = 0; i < r; i++) {
    for (let j = i; j < n; j++) R[i * n + j] = W[i * n + j];
  }
  const Q = new Float64Array(m * r);
  for (let i = 0; i < r; i++) Q[i * r + i] = 1;
  applyQ(W, m, n, tau, r, Q, r);
  return { Q, R };
}

// ---------------------------------------------------------------------------------------------
// SVD
// ---------------------------------------------------------------------------------------------

/** Maximum number of cyclic Jacobi sweeps before giving up (typically 5–12 are needed). */
const JACOBI_MAX_SWEEPS = 80;

/**
 * SVD of a row-major [m, n] matrix with m >= n, n >= 1, all entries finite.
 * Returns U [m, n] (row-major), S [n] descending, V [n, n] (row-major; columns are right singular vectors).
 */
function svdTall(a: Float64Array, m: number, n: number): { U: Float64Array; S: Float64Array; V: Float64Array } {
  // Scale by a power of two so that the largest entry lies in [0.5, 1): sums of squares cannot overflow.
  let amax = 0;
  for (let i = 0; i < a.length; i++) amax = Math.max(amax, Math.abs(a[i]));
  let e = 0;
  if (amax > 0) {
    e = Math.floor(Math.log2(amax)) + 1; // amax·2^-e in [0.5, 1) up to log2 rounding, which is harmless
  }
  // (two half-steps, since 2^±e alone may overflow or be subnormal at the extremes of the range)
  const eLo = Math.trunc(-e / 2);
  const eHi = -e - eLo;
  const down1 = Math.pow(2, eLo);
  const down2 = Math.pow(2, eHi);

  // Precondition with a Householder QR, A = Q·R, and run one-sided Jacobi on X = Rᵀ (whose
  // columns, the rows of R, are stored contiguously): the sweeps then cost O(n^3) instead of
  // O(m·n^2), and typically one or two fewer sweeps are needed than on A itself. Jacobi gives
  // X·Vx = G (orthogonal columns), i.e. Rᵀ = Ux·Σ·Vxᵀ with Ux = G·Σ⁻¹, hence
  // A = (Q·Vx)·Σ·Uxᵀ: U = Q·Vx and V = Ux.
  const W = new Float64Array(m * n);
  for (let i = 0; i < m * n; i++) W[i] = a[i] * down1 * down2;
  const tau = new Float64Array(n);
  householderQRInPlace(W, m, n, tau);
  // G[j*n + i] = X[i, j] = R[j, i]: column j of X is row j of R, stored contiguously.
  const G = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    for (let i = j; i < n; i++) G[j * n + i] = W[j * n + i];
  }
  const p = n; // column length of X

  // Vt[j*n + i] = Vx[i, j]: rows of Vt are the columns of Vx, rotated alongside the columns of G.
  const Vt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Vt[i * n + i] = 1;

  // One-sided (Hestenes) cyclic Jacobi: rotate column pairs until all pairs are orthogonal to
  // working precision relative to their norms.
  const tol = Math.sqrt(p) * ULP;
  let converged = n < 2;
  for (let sweep = 0; sweep < JACOBI_MAX_SWEEPS && !converged; sweep++) {
    let rotated = false;
    for (let i = 0; i < n - 1; i++) {
      const oi = i * p;
      for (let j = i + 1; j < n; j++) {
        const oj = j * p;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let k = 0; k < p; k++) {
          const gi = G[oi + k];
          const gj = G[oj + k];
          alpha += gi * gi;
          beta += gj * gj;
          gamma += gi * gj;
        }
        if (gamma === 0 || alpha === 0 || beta === 0) continue;
        if (Math.abs(gamma) <= tol * Math.sqrt(alpha) * Math.sqrt(beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = sign(1, zeta) / (Math.abs(zeta) + Math.hypot(1, zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let k = 0; k < p; k++) {
          const gi = G[oi + k];
          const gj = G[oj + k];
          G[oi + k] = c * gi - s * gj;
          G[oj + k] = s * gi + c * gj;
        }
        const vi = i * n;
        const vj = j * n;
        for (let k = 0; k < n; k++) {
          const xi = Vt[vi + k];
          const xj = Vt[vj + k];
          Vt[vi + k] = c * xi - s * xj;
          Vt[vj + k] = s * xi + c * xj;
        }
      }
    }
    if (!rotated) converged = true;
  }
  if (!converged) {
    throw new Error(`svd: one-sided Jacobi did not converge in ${JACOBI_MAX_SWEEPS} sweeps`);
  }

  // Singular values are the column norms of G; order descending (stable for ties).
  const sig = new Float64Array(n);
  for (let j = 0; j < n; j++) sig[j] = nrm2(G, j * p, 1, p);
  const order = Array.from({ length: n }, (_, j) => j);
  order.sort((x, y) => sig[y] - sig[x] || x - y);

  // Vᵀ rows = normalized columns of G. Those whose norm is too small to carry a direction (exactly
  // rank-deficient input) are replaced by an orthonormal completion.
  const S = new Float64Array(n);
  const VxSorted = new Float64Array(m * n); // [m, n]; the top n×n block is Vx with sorted columns
  const Vc = new Float64Array(n * n); // column-major-as-[n, n] scratch: Vc[i*n + c] = Vh[c, i]
  const needsCompletion: number[] = [];
  const tiny = 1e-150; // relative to the scaled matrix, whose largest entry is in [0.5, 1)
  for (let c = 0; c < n; c++) {
    const j = order[c];
    const sj = sig[j];
    S[c] = sj;
    for (let i = 0; i < n; i++) VxSorted[i * n + c] = Vt[j * n + i];
    if (sj > tiny) {
      const inv = 1 / sj;
      for (let i = 0; i < p; i++) Vc[i * n + c] = G[j * p + i] * inv;
    } else {
      needsCompletion.push(c);
    }
  }
  if (needsCompletion.length > 0) completeOrthonormal(Vc, p, n, needsCompletion);
  // U = Q · [Vx; 0]
  applyQ(W, m, n, tau, n, VxSorted, n);
  const up1 = 1 / down1;
  const up2 = 1 / down2;
  for (let c = 0; c < n; c++) S[c] = S[c] * up1 * up2;
  return { U: VxSorted, S, V: Vc };
}

/**
 * Fill the given columns of the row-major [p, n] matrix U (whose other columns are orthonormal)
 * with unit vectors orthogonal to all the others, choosing for each the standard basis vector with
 * the largest component outside the current span and orthogonalizing it (two Gram–Schmidt passes).
 */
function completeOrthonormal(U: Float64Array, p: number, n: number, cols: number[]): void {
  const missing = new Set(cols);
  const done: number[] = [];
  for (let c = 0; c < n; c++) if (!missing.has(c)) done.push(c);
  const v = new Float64Array(p);
  for (const c of cols) {
    // Residual norm² of e_k after projecting out span(done) is 1 - Σ_j U[k, j]²; pick the largest.
    let bestK = 0;
    let bestRes = -Infinity;
    for (let k = 0; k < p; k++) {
      let proj = 0;
      for (const j of done) proj += U[k * n + j] * U[k * n + j];
      const res = 1 - proj;
      if (res > bestRes + 1e-12) {
        bestRes = res;
        bestK = k;
      }
    }
    v.fill(0);
    v[bestK] = 1;
    for (let pass = 0; pass < 2; pass++) {
      for (const j of done) {
        let d = 0;
        for (let i = 0; i < p; i++) d += U[i * n + j] * v[i];
        for (let i = 0; i < p; i++) v[i] -= d * U[i * n + j];
      }
    }
    const nv = nrm2(v, 0, 1, p);
    for (let i = 0; i < p; i++) U[i * n + c] = v[i] / nv;
    done.push(c);
  }
}

/**
 * Thin singular value decomposition of a row-major [m, n] matrix: A = U · diag(S) · Vh with
 * U [m, r], S [r], Vh [r, n], r = min(m, n) (numpy.linalg.svd(a, full_matrices=False)).
 *
 * Algorithm: Householder QR of A (of Aᵀ when m < n), then cyclic one-sided Jacobi (Hestenes) on
 * Rᵀ; agrees with LAPACK to ~1e-14 relative for well-conditioned inputs. Cost O(m·n² + sweeps·n³)
 * (about 10 sweeps): ~50 ms for 768×64, several seconds for 768×768.
 * S is sorted in descending order and is non-negative. Singular vectors of exactly-zero singular
 * values are completed to an orthonormal set.
 *
 * Sign convention (singular vectors are only defined up to sign): each column of U is flipped so
 * that its entry of largest absolute value (the first one on ties) is positive, and the
 * corresponding row of Vh is flipped with it. Apply the same normalization to another library's
 * output before comparing vectors.
 *
 * Throws an Error on non-finite input or if the Jacobi iteration fails to converge.
 */
export function svd(a: Float64Array, m: number, n: number): { U: Float64Array; S: Float64Array; Vh: Float64Array } {
  checkDims(a, m, n, 'svd');
  checkFinite(a, 'svd');
  const r = Math.min(m, n);
  if (r === 0) {
    return { U: new Float64Array(0), S: new Float64Array(0), Vh: new Float64Array(0) };
  }
  let U: Float64Array;
  let S: Float64Array;
  let Vh: Float64Array;
  if (m >= n) {
    const res = svdTall(a, m, n);
    U = res.U;
    S = res.S;
    Vh = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) Vh[i * n + j] = res.V[j * n + i];
    }
  } else {
    // A = (Aᵀ)ᵀ = (U' S V'ᵀ)ᵀ = V' S U'ᵀ
    const at = new Float64Array(n * m);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) at[j * m + i] = a[i * n + j];
    }
    const res = svdTall(at, n, m); // U' [n, m], V' [m, m]
    U = res.V;
    S = res.S;
    Vh = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) Vh[i * n + j] = res.U[j * m + i];
    }
  }
  // Sign convention: largest-|.| entry of each column of U positive.
  for (let c = 0; c < r; c++) {
    let best = 0;
    let bestAbs = -1;
    for (let i = 0; i < m; i++) {
      const v = Math.abs(U[i * r + c]);
      if (v > bestAbs) {
        bestAbs = v;
        best = i;
      }
    }
    if (U[best * r + c] < 0) {
      for (let i = 0; i < m; i++) U[i * r + c] = -U[i * r + c];
      for (let j = 0; j < n; j++) Vh[c * n + j] = -Vh[c * n + j];
    }
  }
  return { U, S, Vh };
}

// ---------------------------------------------------------------------------------------------
// General eigenvalues
// ---------------------------------------------------------------------------------------------

/** Swap rows i, j and columns i, j of the row-major [n, n] matrix A (a permutation similarity). */
function swapRowCol(A: Float64Array, n: number, i: number, j: number): void {
  if (i === j) return;
  for (let k = 0; k < n; k++) {
    const t = A[i * n + k];
    A[i * n + k] = A[j * n + k];
    A[j * n + k] = t;
  }
  for (let k = 0; k < n; k++) {
    const t = A[k * n + i];
    A[k * n + i] = A[k * n + j];
    A[k * n + j] = t;
  }
}

/**
 * Permutation step of balancing: permute A (in place, by similarity) to block upper triangular
 * form [T1 X Y; 0 B Z; 0 0 T2] with T1, T2 upper triangular. Returns [lo, hi], the bounds of B;
 * the diagonal entries outside lo..hi are eigenvalues.
 */
function isolateEigenvalues(A: Float64Array, n: number): [number, number] {
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
function scaleBalance(B: Float64Array, n: number): void {
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
        ca = Math.max(ca, Math.abs(B[k * n + i]));
        ra = Math.max(ra, Math.abs(B[i * n + k]));
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
      if (f < 1 && scale[i] < 1 && f * scale[i] <= sfmin1) continue;
      if (f > 1 && scale[i] > 1 && scale[i] >= sfmax1 / f) continue;
      const ginv = 1 / f;
      scale[i] *= f;
      noconv = true;
      for (let k = 0; k < n; k++) B[i * n + k] *= ginv;
      for (let k = 0; k < n; k++) B[k * n + i] *= f;
    }
  }
}

/** Reduce the [n, n] matrix B in place to upper Hessenberg form by Householder similarities. */
function hessenbergReduce(B: Float64Array, n: number): void {
  const w = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // Reflector annihilating B[k+2:n, k]; v = [1; B[k+2:n, k]] after the call.
    const [beta, tau] = householder(B[(k + 1) * n + k], B, (k + 2) * n + k, n, n - k - 2);
    B[(k + 1) * n + k] = beta;
    if (tau === 0) {
      for (let i = k + 2; i < n; i++) B[i * n + k] = 0;
      continue;
    }
    const v = new Float64Array(n - k - 1);
    v[0] = 1;
    for (let i = k + 2; i < n; i++) {
      v[i - k - 1] = B[i * n + k];
      B[i * n + k] = 0;
    }
    const len = n - k - 1;
    const c0 = k + 1;
    // Right: B[:, c0:n] ← B[:, c0:n]·(I - tau v vᵀ)
    for (let i = 0; i < n; i++) {
      const row = i * n + c0;
      let s = 0;
      for (let j = 0; j < len; j++) s += B[row + j] * v[j];
      s *= tau;
      if (s !== 0) for (let j = 0; j < len; j++) B[row + j] -= s * v[j];
    }
    // Left: B[c0:n, c0:n] ← (I - tau v vᵀ)·B[c0:n, c0:n]   (columns < c0 of these rows are 0 except column k, handled above)
    for (let j = c0; j < n; j++) w[j] = 0;
    for (let i = 0; i < len; i++) {
      const vi = v[i];
      const row = (c0 + i) * n;
      for (let j = c0; j < n; j++) w[j] += vi * B[row + j];
    }
    for (let j = c0; j < n; j++) w[j] *= tau;
    for (let i = 0; i < len; i++) {
      const vi = v[i];
      if (vi === 0) continue;
      const row = (c0 + i) * n;
      for (let j = c0; j < n; j++) B[row + j] -= vi * w[j];
    }
  }
}

/**
 * Eigenvalues of the real 2×2 matrix [a b; c d], computed through its standardized Schur form
 * (either upper triangular, or equal diagonal entries with b·c < 0 for a complex pair).
 * Returns [re1, im1, re2, im2] with im1 >= 0 = -im2.
 */
function eig2x2(a: number, b: number, c: number, d: number): [number, number, number, number] {
  const multpl = 4;
  const eps = ULP;
  // safmn2 = 2^floor(log2(safmin/eps)/2), safmx2 = 1/safmn2
  const safmn2 = Math.pow(2, Math.trunc(Math.log2(SAFMIN / eps) / 2));
  const safmx2 = 1 / safmn2;
  if (c === 0) {
    // already upper triangular
  } else if (b === 0) {
    // swap rows and columns
    const tmp = d;
    d = a;
    a = tmp;
    b = -c;
    c = 0;
  } else if (a - d === 0 && sign(1, b) !== sign(1, c)) {
    // already in standard complex form
  } else {
    let temp = a - d;
    let p = 0.5 * temp;
    const bcmax = Math.max(Math.abs(b), Math.abs(c));
    const bcmis = Math.min(Math.abs(b), Math.abs(c)) * sign(1, b) * sign(1, c);
    let scale = Math.max(Math.abs(p), bcmax);
    let z = (p / scale) * p + (bcmax / scale) * bcmis;
    if (z >= multpl * eps) {
      // Real eigenvalues: compute a and d directly.
      z = p + sign(Math.sqrt(scale) * Math.sqrt(z), p);
      a = d + z;
      d = d - (bcmax / z) * bcmis;
      b = b - c;
      c = 0;
    } else {
      // Complex or nearly equal real eigenvalues: rotate to make the diagonal entries equal.
      let sigma = b + c;
      for (let count = 0; count <= 20; count++) {
        scale = Math.max(Math.abs(temp), Math.abs(sigma));
        if (scale >= safmx2) {
          sigma *= safmn2;
          temp *= safmn2;
          continue;
        }
        if (scale <= safmn2) {
          sigma *= safmx2;
          temp *= safmx2;
          continue;
        }
        break;
      }
      p = 0.5 * temp;
      let tau = Math.hypot(sigma, temp);
      const cs = Math.sqrt(0.5 * (1 + Math.abs(sigma) / tau));
      const sn = -(p / (tau * cs)) * sign(1, sigma);
      // [aa bb; cc dd] = [a b; c d]·[cs -sn; sn cs]
      const aa = a * cs + b * sn;
      const bb = -a * sn + b * cs;
      const cc = c * cs + d * sn;
      const dd = -c * sn + d * cs;
      // [a b; c d] = [cs sn; -sn cs]·[aa bb; cc dd]
      a = aa * cs + cc * sn;
      b = bb * cs + dd * sn;
      c = -aa * sn + cc * cs;
      d = -bb * sn + dd * cs;
      temp = 0.5 * (a + d);
      a = temp;
      d = temp;
      if (c !== 0) {
        if (b !== 0) {
          if (sign(1, b) === sign(1, c)) {
            // Real eigenvalues after all: reduce to upper triangular form.
            const sab = Math.sqrt(Math.abs(b));
            const sac = Math.sqrt(Math.abs(c));
            p = sign(sab * sac, c);
            tau = 1 / Math.sqrt(Math.abs(b + c));
            a = temp + p;
            d = temp - p;
            b = b - c;
            c = 0;
          }
        } else {
          b = -c;
          c = 0;
        }
      }
    }
  }
  if (c === 0) return [a, 0, d, 0];
  const im = Math.sqrt(Math.abs(b)) * Math.sqrt(Math.abs(c));
  return [a, im, d, -im];
}

/**
 * Eigenvalues of the upper Hessenberg [n, n] matrix H (destroyed) by the Francis implicit
 * double-shift QR algorithm, written into wr/wi at offset `off`. Eigenvalue k sits at the position
 * of the k-th diagonal entry of the (quasi-triangular) Schur form.
 */
function hessenbergQREigenvalues(H: Float64Array, n: number, wr: Float64Array, wi: Float64Array, off: number): void {
  if (n === 0) return;
  if (n === 1) {
    wr[off] = H[0];
    wi[off] = 0;
    return;
  }
  for (let j = 0; j + 3 < n; j++) {
    H[(j + 2) * n + j] = 0;
    H[(j + 3) * n + j] = 0;
  }
  if (n >= 3) H[(n - 1) * n + (n - 3)] = 0;

  const at = (r: number, c: number): number => H[r * n + c];
  const ulp = ULP;
  const smlnum = SAFMIN * (n / ulp);
  const itmax = 30 * Math.max(10, n);
  const kexsh = 10;
  const dat1 = 0.75;
  const dat2 = -0.4375;
  const v = new Float64Array(3);

  let kdefl = 0;
  let i = n - 1;
  while (i >= 0) {
    let l = 0;
    let converged = false;
    for (let its = 0; its <= itmax; its++) {
      // Look for a single small subdiagonal element.
      let k = i;
      for (; k > l; k--) {
        const hkk1 = Math.abs(at(k, k - 1));
        if (hkk1 <= smlnum) break;
        let tst = Math.abs(at(k - 1, k - 1)) + Math.abs(at(k, k));
        if (tst === 0) {
          if (k - 2 >= 0) tst += Math.abs(at(k - 1, k - 2));
          if (k + 1 <= n - 1) tst += Math.abs(at(k + 1, k));
        }
        if (hkk1 <= ulp * tst) {
          // Ahues & Tisseur's conservative deflation criterion.
          const hk1k = Math.abs(at(k - 1, k));
          const ab = Math.max(hkk1, hk1k);
          const ba = Math.min(hkk1, hk1k);
          const dkk = Math.abs(at(k, k));
          const ddiff = Math.abs(at(k - 1, k - 1) - at(k, k));
          const aa = Math.max(dkk, ddiff);
          const bb = Math.min(dkk, ddiff);
          const s = aa + ab;
          if (ba * (ab / s) <= Math.max(smlnum, ulp * (bb * (aa / s)))) break;
        }
      }
      l = k;
      if (l > 0) H[l * n + l - 1] = 0;
      // A 1×1 or 2×2 block has split off.
      if (l >= i - 1) {
        converged = true;
        break;
      }
      kdefl++;

      // Shifts: eigenvalues of the trailing 2×2 block, or an exceptional shift every kexsh iterations.
      let h11: number;
      let h12: number;
      let h21: number;
      let h22: number;
      if (kdefl % (2 * kexsh) === 0) {
        const s = Math.abs(at(i, i - 1)) + Math.abs(at(i - 1, i - 2));
        h11 = dat1 * s + at(i, i);
        h12 = dat2 * s;
        h21 = s;
        h22 = h11;
      } else if (kdefl % kexsh === 0) {
        const s = Math.abs(at(l + 1, l)) + Math.abs(at(l + 2, l + 1));
        h11 = dat1 * s + at(l, l);
        h12 = dat2 * s;
        h21 = s;
        h22 = h11;
      } else {
        h11 = at(i - 1, i - 1);
        h21 = at(i, i - 1);
        h12 = at(i - 1, i);
        h22 = at(i, i);
      }
      let rt1r: number;
      let rt1i: number;
      let rt2r: number;
      let rt2i: number;
      {
        const s = Math.abs(h11) + Math.abs(h12) + Math.abs(h21) + Math.abs(h22);
        if (s === 0) {
          rt1r = 0;
          rt1i = 0;
          rt2r = 0;
          rt2i = 0;
        } else {
          h11 /= s;
          h21 /= s;
          h12 /= s;
          h22 /= s;
          const tr = (h11 + h22) / 2;
          const det = (h11 - tr) * (h22 - tr) - h12 * h21;
          const rtdisc = Math.sqrt(Math.abs(det));
          if (det >= 0) {
            // complex conjugate shifts
            rt1r = tr * s;
            rt2r = rt1r;
            rt1i = rtdisc * s;
            rt2i = -rt1i;
          } else {
            // real shifts: use only the one closer to h22, twice
            rt1r = tr + rtdisc;
            rt2r = tr - rtdisc;
            if (Math.abs(rt1r - h22) <= Math.abs(rt2r - h22)) {
              rt1r *= s;
              rt2r = rt1r;
            } else {
              rt2r *= s;
              rt1r = rt2r;
            }
            rt1i = 0;
            rt2i = 0;
          }
        }
      }

      // Look for two consecutive small subdiagonal elements (start of the bulge).
      let m = i - 2;
      for (; m >= l; m--) {
        let h21s = at(m + 1, m);
        let s = Math.abs(at(m, m) - rt2r) + Math.abs(rt2i) + Math.abs(h21s);
        h21s = at(m + 1, m) / s;
        v[0] = h21s * at(m, m + 1) + (at(m, m) - rt1r) * ((at(m, m) - rt2r) / s) - rt1i * (rt2i / s);
        v[1] = h21s * (at(m, m) + at(m + 1, m + 1) - rt1r - rt2r);
        v[2] = h21s * at(m + 2, m + 1);
        s = Math.abs(v[0]) + Math.abs(v[1]) + Math.abs(v[2]);
        v[0] /= s;
        v[1] /= s;
        v[2] /= s;
        if (m === l) break;
        const h00 = Math.abs(at(m, m - 1)) * (Math.abs(v[1]) + Math.abs(v[2]));
        const h01 = Math.abs(v[0]) * (Math.abs(at(m - 1, m - 1)) + Math.abs(at(m, m)) + Math.abs(at(m + 1, m + 1)));
        if (h00 <= ulp * h01) break;
      }

      // Double-shift QR sweep: chase the bulge from row m down to row i (active block l..i only,
      // since the Schur form itself is not wanted).
      const i1 = l;
      const i2 = i;
      for (let k = m; k <= i - 1; k++) {
        const nr = Math.min(3, i - k + 1);
        if (k > m) {
          for (let q = 0; q < nr; q++) v[q] = at(k + q, k - 1);
        }
        const [beta, t1] = householder(v[0], v, 1, 1, nr - 1);
        v[0] = beta;
        if (k > m) {
          H[k * n + k - 1] = beta;
          H[(k + 1) * n + k - 1] = 0;
          if (k < i - 1) H[(k + 2) * n + k - 1] = 0;
        } else if (m > l) {
          // equivalent to negating H[k, k-1], but safe when v[1], v[2] underflow
          H[k * n + k - 1] *= 1 - t1;
        }
        const v2 = v[1];
        const t2 = t1 * v2;
        if (nr === 3) {
          const v3 = v[2];
          const t3 = t1 * v3;
          for (let j = k; j <= i2; j++) {
            const sum = H[k * n + j] + v2 * H[(k + 1) * n + j] + v3 * H[(k + 2) * n + j];
            H[k * n + j] -= sum * t1;
            H[(k + 1) * n + j] -= sum * t2;
            H[(k + 2) * n + j] -= sum * t3;
          }
          const jmax = Math.min(k + 3, i);
          for (let j = i1; j <= jmax; j++) {
            const row = j * n;
            const sum = H[row + k] + v2 * H[row + k + 1] + v3 * H[row + k + 2];
            H[row + k] -= sum * t1;
            H[row + k + 1] -= sum * t2;
            H[row + k + 2] -= sum * t3;
          }
        } else if (nr === 2) {
          for (let j = k; j <= i2; j++) {
            const sum = H[k * n + j] + v2 * H[(k + 1) * n + j];
            H[k * n + j] -= sum * t1;
            H[(k + 1) * n + j] -= sum * t2;
          }
          for (let j = i1; j <= i; j++) {
            const row = j * n;
            const sum = H[row + k] + v2 * H[row + k + 1];
            H[row + k] -= sum * t1;
            H[row + k + 1] -= sum * t2;
          }
        }
      }
    }
    if (!converged) {
      throw new Error(
        `eigvalsGeneral: the QR algorithm did not converge (no deflation after ${itmax} iterations at row ${i} of ${n})`,
      );
    }
    if (l === i) {
      wr[off + i] = at(i, i);
      wi[off + i] = 0;
    } else {
      const [r1, i1v, r2, i2v] = eig2x2(at(i - 1, i - 1), at(i - 1, i), at(i, i - 1), at(i, i));
      wr[off + i - 1] = r1;
      wi[off + i - 1] = i1v;
      wr[off + i] = r2;
      wi[off + i] = i2v;
    }
    kdefl = 0;
    i = l - 1;
  }
}

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
  checkDims(a, n, n, 'eigvalsGeneral');
  checkFinite(a, 'eigvalsGeneral');
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  if (n === 0) return { re, im };

  const A = Float64Array.from(a);
  let anrm = 0;
  for (let k = 0; k < A.length; k++) anrm = Math.max(anrm, Math.abs(A[k]));
  if (anrm === 0) return { re, im };

  // Scale into [smlnum, bignum] if necessary so that intermediate quantities neither overflow nor
  // lose precision to underflow.
  const smlnum = Math.sqrt(SAFMIN) / ULP;
  const bignum = 1 / smlnum;
  let scaleFactor = 1;
  if (anrm < smlnum) scaleFactor = smlnum / anrm;
  else if (anrm > bignum) scaleFactor = bignum / anrm;
  if (scaleFactor !== 1) for (let k = 0; k < A.length; k++) A[k] *= scaleFactor;

  const [lo, hi] = isolateEigenvalues(A, n);
  for (let p = 0; p < lo; p++) re[p] = A[p * n + p];
  for (let p = hi + 1; p < n; p++) re[p] = A[p * n + p];
  const nh = hi - lo + 1;
  if (nh > 0) {
    const B = new Float64Array(nh * nh);
    for (let r = 0; r < nh; r++) {
      for (let c = 0; c < nh; c++) B[r * nh + c] = A[(lo + r) * n + lo + c];
    }
    scaleBalance(B, nh);
    hessenbergReduce(B, nh);
    hessenbergQREigenvalues(B, nh, re, im, lo);
  }
  if (scaleFactor !== 1) {
    for (let k = 0; k < n; k++) {
      re[k] /= scaleFactor;
      im[k] /= scaleFactor;
    }
  }
  return { re, im };
}
