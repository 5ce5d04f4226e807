// Vector math of the flat kernels (ops_kern.h includes this after its KN naming macros): round, exp, log, tanh,
// sigmoid, GELU (tanh and erf forms), written against the SIMD vocabulary ops_kern.h describes.
// Accuracy (tested in test/native-ops.test.ts against float64 math): |err| <= 1e-6 * max(1, |y|).

// Round to nearest integer (ties to even) for |x| < 2^22.
VINL vf KN(v_round)(vf x) {
  const vf magic = v_set1(12582912.0f);  // 1.5 * 2^23
  return v_sub(v_add(x, magic), magic);
}

// exp core for x in [-104, 89]: Cody-Waite range reduction x = n ln2 + r, degree-6 polynomial (Cephes expf),
// 2^n applied in two halves so that n down to -150 (subnormal results) and up to 128 work.
VINL vf KN(v_exp_core)(vf x) {
  vf n = KN(v_round)(v_mul(x, v_set1(1.44269504088896341f)));
  vf r = v_fma(n, v_set1(-0.693359375f), x);
  r = v_fma(n, v_set1(2.12194440e-4f), r);
  vf p = v_set1(1.9875691500e-4f);
  p = v_fma(p, r, v_set1(1.3981999507e-3f));
  p = v_fma(p, r, v_set1(8.3334519073e-3f));
  p = v_fma(p, r, v_set1(4.1665795894e-2f));
  p = v_fma(p, r, v_set1(1.6666665459e-1f));
  p = v_fma(p, r, v_set1(5.0000001201e-1f));
  vf y = v_add(v_fma(p, v_mul(r, r), r), v_set1(1.0f));
  vi ni = v_cvti(n);
  vi n1 = vi_srai(ni, 1);
  vi n2 = vi_sub(ni, n1);
  vf s1 = v_asfloat(vi_slli(vi_add(n1, vi_set1(127)), 23));
  vf s2 = v_asfloat(vi_slli(vi_add(n2, vi_set1(127)), 23));
  return v_mul(v_mul(y, s1), s2);
}

// exp with NaN in -> NaN out, +inf -> inf, -inf -> 0. Results below FLT_MIN (x < -87.3) take a separate path,
// only for vectors that have such a lane: subnormal arithmetic costs a microcode assist on many CPUs, and
// softmax feeds exp(-inf) for every masked lane.
VINL vf KN(v_exp)(vf x) {
#if W == 1
  // the portable build keeps the loop branch-free so that the compiler can vectorise it
  return KN(v_exp_core)(v_min(v_set1(88.9f), v_max(v_set1(-104.0f), x)));
#endif
  vf xc = v_min(v_set1(88.9f), v_max(v_set1(-87.3f), x));  // NaN passes through (second operand)
  vf r = KN(v_exp_core)(xc);
  vm low = v_lt(x, v_set1(-87.3f));
  r = v_sel(low, v_set1(0.0f), r);
  vm sub = m_and(low, v_gt(x, v_set1(-104.0f)));
  if (m_any(sub)) r = v_sel(sub, KN(v_exp_core)(v_sel(sub, x, v_set1(-87.3f))), r);
  return r;
}

// log (Cephes logf): x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(1+f) by a degree-9 polynomial.
VINL vf KN(v_log)(vf x0) {
  vm tiny = v_lt(x0, v_set1(1.17549435e-38f));
  vf x = v_sel(tiny, v_mul(x0, v_set1(33554432.0f)), x0);  // scale subnormals by 2^25
  vf eadj = v_sel(tiny, v_set1(-25.0f), v_set1(0.0f));
  vi bits = v_asint(x);
  vi ei = vi_sub(vi_and(vi_srai(bits, 23), vi_set1(0xff)), vi_set1(126));
  vf m = v_asfloat(vi_or(vi_and(bits, vi_set1(0x007fffff)), vi_set1(0x3f000000)));  // [0.5, 1)
  vf e = v_add(vi_cvtf(ei), eadj);
  vm lo = v_lt(m, v_set1(0.707106781186547524f));
  e = v_sub(e, v_sel(lo, v_set1(1.0f), v_set1(0.0f)));
  vf f = v_sub(v_add(m, v_sel(lo, m, v_set1(0.0f))), v_set1(1.0f));
  vf z = v_mul(f, f);
  vf p = v_set1(7.0376836292e-2f);
  p = v_fma(p, f, v_set1(-1.1514610310e-1f));
  p = v_fma(p, f, v_set1(1.1676998740e-1f));
  p = v_fma(p, f, v_set1(-1.2420140846e-1f));
  p = v_fma(p, f, v_set1(1.4249322787e-1f));
  p = v_fma(p, f, v_set1(-1.6668057665e-1f));
  p = v_fma(p, f, v_set1(2.0000714765e-1f));
  p = v_fma(p, f, v_set1(-2.4999993993e-1f));
  p = v_fma(p, f, v_set1(3.3333331174e-1f));
  vf y = v_mul(v_mul(p, f), z);
  y = v_fma(e, v_set1(-2.12194440e-4f), y);
  y = v_fma(z, v_set1(-0.5f), y);
  vf r = v_add(f, y);
  r = v_fma(e, v_set1(0.693359375f), r);
  r = v_sel(v_eq(x0, v_set1(INFINITY)), x0, r);
  r = v_sel(v_eq(x0, v_set1(0.0f)), v_set1(-INFINITY), r);
  r = v_sel(v_lt(x0, v_set1(0.0f)), v_set1(NAN), r);
  return v_sel(v_nan(x0), x0, r);
}

// tanh: odd polynomial below 0.625 (Cephes tanhf), 1 - 2/(exp(2|x|)+1) above.
VINL vf KN(v_tanh)(vf x) {
  vf a = v_abs(x);
  vf e = KN(v_exp)(v_add(a, a));
  vf big = v_sub(v_set1(1.0f), v_div(v_set1(2.0f), v_add(e, v_set1(1.0f))));
  big = v_sel(v_lt(x, v_set1(0.0f)), v_neg(big), big);
  vf z = v_mul(x, x);
  vf p = v_set1(-5.70498872745e-3f);
  p = v_fma(p, z, v_set1(2.06390887954e-2f));
  p = v_fma(p, z, v_set1(-5.37397155531e-2f));
  p = v_fma(p, z, v_set1(1.33314422036e-1f));
  p = v_fma(p, z, v_set1(-3.33332819422e-1f));
  vf small = v_fma(v_mul(p, z), x, x);
  return v_sel(v_lt(a, v_set1(0.625f)), small, big);
}

// x / (1 + exp(-k x)) style helpers
VINL vf KN(v_sigmoid)(vf x) {
  return v_div(v_set1(1.0f), v_add(v_set1(1.0f), KN(v_exp)(v_neg(x))));
}

// gelu_new = 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3)
VINL vf KN(v_gelu_new)(vf x) {
  vf x2 = v_mul(x, x);
  vf m2u = v_mul(x, v_fma(x2, v_set1(-0.0713548162726008f), v_set1(-1.5957691216057308f)));
  return v_div(x, v_add(v_set1(1.0f), KN(v_exp)(m2u)));
}

// gelu (erf form) = x Phi(x). |x| <= 2: Phi = 1/2 + erf(x/sqrt2)/2 with erf(z) = z P(z^2);
// |x| > 2: Phi(-a) = exp(-a^2/2) t g(t^2), t = 1/a (fitted Mills-ratio polynomial; rel. error ~1.3e-7).
VINL vf KN(v_gelu_erf)(vf x) {
  vf z = v_mul(x, v_set1(0.70710678118654752f));
  vf s = v_mul(z, z);
  vf p = v_set1(-6.350936474e-06f);
  p = v_fma(p, s, v_set1(9.686346311e-05f));
  p = v_fma(p, s, v_set1(-8.178814896e-04f));
  p = v_fma(p, s, v_set1(5.190948490e-03f));
  p = v_fma(p, s, v_set1(-2.684985660e-02f));
  p = v_fma(p, s, v_set1(1.128339022e-01f));
  p = v_fma(p, s, v_set1(-3.761259913e-01f));
  p = v_fma(p, s, v_set1(1.128379107e+00f));
  vf phic = v_fma(v_mul(z, p), v_set1(0.5f), v_set1(0.5f));
  vf a0 = v_abs(x);
  vf a = v_min(v_set1(20.0f), a0);  // NaN passes through
  vf t = v_div(v_set1(1.0f), a);
  vf ss = v_mul(t, t);
  vf g = v_set1(-2.807094971e+03f);
  g = v_fma(g, ss, v_set1(3.737793701e+03f));
  g = v_fma(g, ss, v_set1(-2.195499756e+03f));
  g = v_fma(g, ss, v_set1(7.620408325e+02f));
  g = v_fma(g, ss, v_set1(-1.802392883e+02f));
  g = v_fma(g, ss, v_set1(3.319417953e+01f));
  g = v_fma(g, ss, v_set1(-5.733245373e+00f));
  g = v_fma(g, ss, v_set1(1.192875147e+00f));
  g = v_fma(g, ss, v_set1(-3.989171982e-01f));
  g = v_fma(g, ss, v_set1(3.989422619e-01f));
  vf h = v_mul(a, a);
  vf l = v_fma(a, a, v_neg(h));  // a^2 = h + l exactly
  vf ex = KN(v_exp)(v_mul(h, v_set1(-0.5f)));
  ex = v_fma(ex, v_mul(l, v_set1(-0.5f)), ex);
  vf tail = v_mul(v_mul(ex, t), g);
  vf phit = v_sel(v_lt(x, v_set1(0.0f)), tail, v_sub(v_set1(1.0f), tail));
  vf phi = v_sel(v_le(a0, v_set1(2.0f)), phic, phit);
  return v_mul(x, phi);
}
