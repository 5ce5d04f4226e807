// The Francis implicit double-shift QR iteration on an upper Hessenberg matrix (LAPACK dlahqr, eigenvalues only):
// deflation at small subdiagonal entries (Ahues & Tisseur's test), shifts from the trailing 2×2 block or exceptional
// ones, the bulge chase, and the standardized 2×2 blocks (dlanv2) that give a conjugate pair.
import { TensorError } from "../../errors.js";
import { householder, SAFMIN, sign, ULP } from "./helpers.js";

/** Shifts of one sweep: rt1 = rt1r + i·rt1i, rt2 = rt2r + i·rt2i. */
type Shifts = [number, number, number, number];

/**
 * Eigenvalues of the upper Hessenberg [n, n] matrix H (destroyed) by the Francis implicit
 * double-shift QR algorithm, written into wr/wi at offset `off`. Eigenvalue k sits at the position
 * of the k-th diagonal entry of the (quasi-triangular) Schur form.
 */
export function hessenbergQREigenvalues(
  H: Float64Array,
  n: number,
  wr: Float64Array,
  wi: Float64Array,
  off: number,
): void {
  if (n === 0) return;
  if (n === 1) {
    wr[off] = H[0]!;
    wi[off] = 0;
    return;
  }
  for (let j = 0; j + 3 < n; j++) {
    H[(j + 2) * n + j] = 0;
    H[(j + 3) * n + j] = 0;
  }
  if (n >= 3) H[(n - 1) * n + (n - 3)] = 0;
  const at = (r: number, c: number): number => H[r * n + c]!;
  const itmax = 30 * Math.max(10, n);
  const v = new Float64Array(3);

  let kdefl = 0;
  let i = n - 1;
  while (i >= 0) {
    let l = 0;
    let converged = false;
    for (let its = 0; its <= itmax; its++) {
      l = deflationPoint(H, n, l, i);
      if (l > 0) H[l * n + l - 1] = 0;
      // A 1×1 or 2×2 block has split off.
      if (l >= i - 1) {
        converged = true;
        break;
      }
      kdefl++;
      const shifts = sweepShifts(H, n, l, i, kdefl);
      const m = bulgeStart(H, n, l, i, shifts, v);
      bulgeChase(H, n, l, i, m, v);
    }
    if (!converged) {
      throw new TensorError(
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

/** The row where the active block ending at row i starts: looking up from row i to row l (the previous start; as
 *  dlahqr, l is only reset when i moves), the first subdiagonal element small enough to be set to 0. */
function deflationPoint(H: Float64Array, n: number, l: number, i: number): number {
  const at = (r: number, c: number): number => H[r * n + c]!;
  const smlnum = SAFMIN * (n / ULP);
  let k = i;
  for (; k > l; k--) {
    const hkk1 = Math.abs(at(k, k - 1));
    if (hkk1 <= smlnum) break;
    let tst = Math.abs(at(k - 1, k - 1)) + Math.abs(at(k, k));
    if (tst === 0) {
      if (k - 2 >= 0) tst += Math.abs(at(k - 1, k - 2));
      if (k + 1 <= n - 1) tst += Math.abs(at(k + 1, k));
    }
    if (hkk1 <= ULP * tst) {
      // Ahues & Tisseur's conservative deflation criterion.
      const hk1k = Math.abs(at(k - 1, k));
      const ab = Math.max(hkk1, hk1k);
      const ba = Math.min(hkk1, hk1k);
      const dkk = Math.abs(at(k, k));
      const ddiff = Math.abs(at(k - 1, k - 1) - at(k, k));
      const aa = Math.max(dkk, ddiff);
      const bb = Math.min(dkk, ddiff);
      const s = aa + ab;
      if (ba * (ab / s) <= Math.max(smlnum, ULP * (bb * (aa / s)))) break;
    }
  }
  return k;
}

/** Shifts: eigenvalues of the trailing 2×2 block of l..i, or an exceptional shift every kexsh iterations. */
function sweepShifts(H: Float64Array, n: number, l: number, i: number, kdefl: number): Shifts {
  const at = (r: number, c: number): number => H[r * n + c]!;
  const kexsh = 10;
  const dat1 = 0.75;
  const dat2 = -0.4375;
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
  return blockShifts(h11, h12, h21, h22);
}

/** The two shifts from [h11 h12; h21 h22]: a conjugate pair, or its real eigenvalue closer to h22, twice. */
function blockShifts(h11: number, h12: number, h21: number, h22: number): Shifts {
  const s = Math.abs(h11) + Math.abs(h12) + Math.abs(h21) + Math.abs(h22);
  if (s === 0) return [0, 0, 0, 0];
  h11 /= s;
  h21 /= s;
  h12 /= s;
  h22 /= s;
  const tr = (h11 + h22) / 2;
  const det = (h11 - tr) * (h22 - tr) - h12 * h21;
  const rtdisc = Math.sqrt(Math.abs(det));
  if (det >= 0) {
    // complex conjugate shifts
    return [tr * s, rtdisc * s, tr * s, -(rtdisc * s)];
  }
  // real shifts: use only the one closer to h22, twice
  const rt1r = tr + rtdisc;
  const rt2r = tr - rtdisc;
  const r = Math.abs(rt1r - h22) <= Math.abs(rt2r - h22) ? rt1r * s : rt2r * s;
  return [r, 0, r, 0];
}

/** Looks for two consecutive small subdiagonal elements (the start m of the bulge); leaves its reflector in v. */
function bulgeStart(
  H: Float64Array,
  n: number,
  l: number,
  i: number,
  [rt1r, rt1i, rt2r, rt2i]: Shifts,
  v: Float64Array,
): number {
  const at = (r: number, c: number): number => H[r * n + c]!;
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
    if (h00 <= ULP * h01) break;
  }
  return m;
}

/** Double-shift QR sweep: chases the bulge from row m down to row i (active block l..i only, since the Schur form
 *  itself is not wanted). */
function bulgeChase(H: Float64Array, n: number, l: number, i: number, m: number, v: Float64Array): void {
  for (let k = m; k <= i - 1; k++) {
    const nr = Math.min(3, i - k + 1);
    if (k > m) {
      for (let q = 0; q < nr; q++) v[q] = H[(k + q) * n + k - 1]!;
    }
    const [beta, t1] = householder(v[0]!, v, 1, 1, nr - 1);
    v[0] = beta;
    if (k > m) {
      H[k * n + k - 1] = beta;
      H[(k + 1) * n + k - 1] = 0;
      if (k < i - 1) H[(k + 2) * n + k - 1] = 0;
    } else if (m > l) {
      // equivalent to negating H[k, k-1], but safe when v[1], v[2] underflow
      H[k * n + k - 1]! *= 1 - t1;
    }
    if (nr === 3) reflect3(H, n, l, i, k, t1, v[1]!, v[2]!);
    else if (nr === 2) reflect2(H, n, l, i, k, t1, v[1]!);
  }
}

/** Applies the 3-element reflector (1, v2, v3) with factor t1 at rows / columns k..k+2 of the active block. */
function reflect3(
  H: Float64Array,
  n: number,
  l: number,
  i: number,
  k: number,
  t1: number,
  v2: number,
  v3: number,
): void {
  const t2 = t1 * v2;
  const t3 = t1 * v3;
  for (let j = k; j <= i; j++) {
    const sum = H[k * n + j]! + v2 * H[(k + 1) * n + j]! + v3 * H[(k + 2) * n + j]!;
    H[k * n + j]! -= sum * t1;
    H[(k + 1) * n + j]! -= sum * t2;
    H[(k + 2) * n + j]! -= sum * t3;
  }
  const jmax = Math.min(k + 3, i);
  for (let j = l; j <= jmax; j++) {
    const row = j * n;
    const sum = H[row + k]! + v2 * H[row + k + 1]! + v3 * H[row + k + 2]!;
    H[row + k]! -= sum * t1;
    H[row + k + 1]! -= sum * t2;
    H[row + k + 2]! -= sum * t3;
  }
}

/** Applies the 2-element reflector (1, v2) with factor t1 at rows / columns k..k+1 of the active block. */
function reflect2(H: Float64Array, n: number, l: number, i: number, k: number, t1: number, v2: number): void {
  const t2 = t1 * v2;
  for (let j = k; j <= i; j++) {
    const sum = H[k * n + j]! + v2 * H[(k + 1) * n + j]!;
    H[k * n + j]! -= sum * t1;
    H[(k + 1) * n + j]! -= sum * t2;
  }
  for (let j = l; j <= i; j++) {
    const row = j * n;
    const sum = H[row + k]! + v2 * H[row + k + 1]!;
    H[row + k]! -= sum * t1;
    H[row + k + 1]! -= sum * t2;
  }
}

/**
 * Eigenvalues of the real 2×2 matrix [a b; c d], computed through its standardized Schur form
 * (either upper triangular, or equal diagonal entries with b·c < 0 for a complex pair).
 * Returns [re1, im1, re2, im2] with im1 >= 0 = -im2.
 */
export function eig2x2(a: number, b: number, c: number, d: number): [number, number, number, number] {
  const multpl = 4;
  const eps = ULP;
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
    const temp = a - d;
    const p = 0.5 * temp;
    const bcmax = Math.max(Math.abs(b), Math.abs(c));
    const bcmis = Math.min(Math.abs(b), Math.abs(c)) * sign(1, b) * sign(1, c);
    const scale = Math.max(Math.abs(p), bcmax);
    let z = (p / scale) * p + (bcmax / scale) * bcmis;
    if (z >= multpl * eps) {
      // Real eigenvalues: compute a and d directly.
      z = p + sign(Math.sqrt(scale) * Math.sqrt(z), p);
      a = d + z;
      d = d - (bcmax / z) * bcmis;
      b = b - c;
      c = 0;
    } else {
      [a, b, c, d] = equalDiagonal(a, b, c, d, temp);
    }
  }
  if (c === 0) return [a, 0, d, 0];
  const im = Math.sqrt(Math.abs(b)) * Math.sqrt(Math.abs(c));
  return [a, im, d, -im];
}

/** Complex or nearly equal real eigenvalues of [a b; c d] (temp = a - d): a rotation makes the diagonal entries
 *  equal; then the standardized form (upper triangular if the eigenvalues are real after all). */
function equalDiagonal(a: number, b: number, c: number, d: number, temp: number): [number, number, number, number] {
  // safmn2 = 2^floor(log2(safmin/eps)/2), safmx2 = 1/safmn2
  const safmn2 = Math.pow(2, Math.trunc(Math.log2(SAFMIN / ULP) / 2));
  const safmx2 = 1 / safmn2;
  let sigma = b + c;
  for (let count = 0; count <= 20; count++) {
    const scale = Math.max(Math.abs(temp), Math.abs(sigma));
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
  const p = 0.5 * temp;
  const tau = Math.hypot(sigma, temp);
  const cs = Math.sqrt(0.5 * (1 + Math.abs(sigma) / tau));
  const sn = -(p / (tau * cs)) * sign(1, sigma);
  // [aa bb; cc dd] = [a b; c d]·[cs -sn; sn cs]
  const aa = a * cs + b * sn;
  const bb = -a * sn + b * cs;
  const cc = c * cs + d * sn;
  const dd = -c * sn + d * cs;
  // [a b; c d] = [cs sn; -sn cs]·[aa bb; cc dd]
  b = bb * cs + dd * sn;
  c = -aa * sn + cc * cs;
  const mid = 0.5 * (aa * cs + cc * sn + (-bb * sn + dd * cs));
  a = mid;
  d = mid;
  if (c !== 0) {
    if (b !== 0) {
      if (sign(1, b) === sign(1, c)) {
        // Real eigenvalues after all: reduce to upper triangular form.
        const q = sign(Math.sqrt(Math.abs(b)) * Math.sqrt(Math.abs(c)), c);
        a = mid + q;
        d = mid - q;
        b = b - c;
        c = 0;
      }
    } else {
      b = -c;
      c = 0;
    }
  }
  return [a, b, c, d];
}
