// Weight-based circuit analysis (no forward pass): OV/QK circuits through the embeddings, OV copying scores, and
// Q/K/V composition scores between heads (Elhage et al. 2021, "A Mathematical Framework for Transformer
// Circuits"; TransformerLens's `all_composition_scores`).
import { AnalysisError, ShapeError } from "../errors.js";
import type { HookedTransformer } from "../model/index.js";
import { arange, linalg, Tensor, where } from "../tensor/index.js";
import { FactoredMatrix } from "../tensor/factored-matrix.js";
import { fmtShape } from "../tensor/shape.js";
import type { DType } from "../tensor/dtype.js";

/**
 * The full OV circuit W_E · W_V · W_O · W_U [layer, head, d_vocab, d_vocab], kept factored as TL builds
 * `W_E @ model.OV @ W_U`: A = W_E W_V [layer, head, d_vocab, d_head], B = W_O W_U [layer, head, d_head, d_vocab].
 * Both factors are materialised (n_layers·n_heads·d_vocab·d_head floats each); for copying scores alone
 * `fullOvCopyingScore` avoids them.
 */
export function fullOV(model: HookedTransformer): FactoredMatrix {
  return model.OV.rmatmul(model.W_E).matmul(model.W_U);
}

/** The full QK circuit W_E · W_Q · W_Kᵀ · W_Eᵀ [layer, head, d_vocab (query token), d_vocab (key token)], factored. */
export function fullQK(model: HookedTransformer): FactoredMatrix {
  return model.QK.rmatmul(model.W_E).matmul(model.W_E.mT);
}

/**
 * Copying score of square FactoredMatrices [...leading]: Re(Σλ) / Σ|λ| over the eigenvalues λ of the matrix
 * (TL / the mathematical-framework paper: `(e.sum(-1) / e.abs().sum(-1)).real`). 1 = a pure copying map (all
 * eigenvalues positive), -1 = pure anti-copying.
 */
export function copyingScore(m: FactoredMatrix): Tensor {
  return scoreFromEigenvalues(m.eigenvalues, m.dtype);
}

/** Copying score of each head's OV circuit W_V W_O [layer, head]. */
export function ovCopyingScore(model: HookedTransformer): Tensor {
  return copyingScore(model.OV);
}

/**
 * Copying score of each head's full OV circuit W_E W_V W_O W_U [layer, head] — the same numbers as
 * `copyingScore(fullOV(model))`, computed without the vocab-sized factors: the eigenvalues of AB are those of
 * BA = W_O (W_U W_E) W_V [layer, head, d_head, d_head] (plus zeros, which add nothing to either sum).
 */
export function fullOvCopyingScore(model: HookedTransformer): Tensor {
  // the big products run in the weights' dtype (float32: the native GEMM, as TL's float32 torch), eig in float64
  const core = model.W_U.matmul(model.W_E); // [d_model, d_model]
  const ba = model.W_O.matmul(core).matmul(model.W_V); // [layer, head, d_head, d_head]
  return scoreFromEigenvalues(linalg.eig(ba.to("float64")), ba.dtype);
}

function scoreFromEigenvalues(e: { re: Tensor; im: Tensor }, dtype: DType): Tensor {
  const re = e.re.to("float64");
  const im = e.im.to("float64");
  const abs = re.square().add(im.square()).sqrt();
  return re.sum(-1).div(abs.sum(-1)).to(dtype);
}

/**
 * Composition scores ‖M_left · M_right‖_F / (‖M_left‖_F ‖M_right‖_F) (TL's `utils.composition_scores`).
 * With `broadcastDims` (default, as TL) the leading dims of left and right are crossed: left [...L, d, d'] and
 * right [...R, d', d''] give [...L, ...R]; without it they broadcast together.
 * Each matrix is first reduced through its inner dim — left = A·B to R·B with RᵀR = AᵀA, right = A·B to A·Rᵀ with
 * RᵀR = BBᵀ — which keeps every norm TL's collapse_l / collapse_r keep (they use the SVD) at a fraction of the
 * cost; the crossed products then run as a few large GEMMs.
 */
export function compositionScores(
  left: FactoredMatrix,
  right: FactoredMatrix,
  opts: { broadcastDims?: boolean } = {},
): Tensor {
  if (left.rdim !== right.ldim) {
    throw new ShapeError(
      `compositionScores: left.rdim must equal right.ldim, got left ${fmtShape(left.shape)} and right ${fmtShape(right.shape)}`,
    );
  }
  const broadcastDims = opts.broadcastDims ?? true;
  const dtype = left.dtype === "float64" || right.dtype === "float64" ? "float64" : "float32";
  // x [...L, k, d'] with ‖x·Y‖ = ‖M_left·Y‖;  y [...R, d', k'] with ‖X·y‖ = ‖X·M_right‖
  const x = gramRoot(left.A).to(dtype).matmul(left.B.to(dtype));
  const y = right.A.to(dtype).matmul(gramRoot(right.B.mT).mT.to(dtype));
  if (!broadcastDims) {
    const frob = (t: Tensor): Tensor => t.to("float64").square().sum([-2, -1]).sqrt();
    return frob(x.matmul(y)).div(frob(x)).div(frob(y)).to(dtype);
  }
  const lLead = x.shape.slice(0, -2);
  const rLead = y.shape.slice(0, -2);
  const [k, d] = x.shape.slice(-2) as [number, number];
  const k2 = y.shape[y.ndim - 1]!;
  const nL = lLead.reduce((a, b) => a * b, 1);
  const nR = rLead.reduce((a, b) => a * b, 1);
  const xs = x.reshape(nL * k, d).contiguous();
  const ys = y
    .reshape(nR, d, k2)
    .permute(1, 0, 2)
    .contiguous()
    .reshape(d, nR * k2); // every right matrix side by side
  const lNorm = blockNorms(xs.dataSync(), nL, k, d);
  const rNorm = blockNorms(y.reshape(nR, d, k2).contiguous().dataSync(), nR, d, k2);
  const out = new Float64Array(nL * nR);
  // rows of left matrices per GEMM: bounds the product to ~16M entries
  const per = Math.max(1, Math.floor((1 << 24) / Math.max(1, k * nR * k2)));
  for (let i0 = 0; i0 < nL; i0 += per) {
    const cnt = Math.min(per, nL - i0);
    const prod = xs
      .narrow(0, i0 * k, cnt * k)
      .matmul(ys)
      .dataSync(); // [cnt·k, nR·k2]
    const width = nR * k2;
    for (let li = 0; li < cnt; li++) {
      const acc = new Float64Array(nR);
      for (let a = 0; a < k; a++) {
        const row = (li * k + a) * width;
        for (let r = 0; r < nR; r++) {
          let s = 0;
          const base = row + r * k2;
          for (let b = 0; b < k2; b++) s += prod[base + b]! * prod[base + b]!;
          acc[r]! += s;
        }
      }
      const i = i0 + li;
      for (let r = 0; r < nR; r++) out[i * nR + r] = Math.sqrt(acc[r]!) / lNorm[i]! / rNorm[r]!;
    }
  }
  return Tensor.fromTypedArray(out, [...lLead, ...rLead]).to(dtype);
}

/** Frobenius norms of `count` consecutive row-major [rows, cols] blocks. */
function blockNorms(data: ArrayLike<number>, count: number, rows: number, cols: number): Float64Array {
  const out = new Float64Array(count);
  const size = rows * cols;
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let j = i * size; j < (i + 1) * size; j++) s += data[j]! * data[j]!;
    out[i] = Math.sqrt(s);
  }
  return out;
}

/**
 * R [..., r, n] with RᵀR = AᵀA for A [..., m, n] (so ‖A·M‖ = ‖R·M‖ for every M), in float64: the Cholesky factor of
 * the Gram matrix when every one is numerically positive definite, else the R of a QR of A.
 */
function gramRoot(a: Tensor): Tensor {
  const a64 = a.to("float64");
  const [m, n] = a.shape.slice(-2) as [number, number];
  if (m >= n) {
    const gram = a64.mT.matmul(a64).contiguous();
    const r = choleskyUpper(gram.dataSync() as Float64Array, n);
    if (r) return Tensor.fromTypedArray(r, gram.shape);
  }
  return linalg.qr(a64).R;
}

/** Upper-triangular R with RᵀR = G for each [n, n] block of g; null when some block is not clearly positive definite. */
function choleskyUpper(g: Float64Array, n: number): Float64Array | null {
  const out = new Float64Array(g.length);
  const size = n * n;
  for (let off = 0; off < g.length; off += size) {
    let maxDiag = 0;
    for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, g[off + i * n + i]!);
    const floor = maxDiag * n * 1e-13;
    for (let j = 0; j < n; j++) {
      // R[j][j] = sqrt(G[j][j] - Σ_{p<j} R[p][j]²);  R[j][c] = (G[j][c] - Σ_{p<j} R[p][j] R[p][c]) / R[j][j]
      let diag = g[off + j * n + j]!;
      for (let p = 0; p < j; p++) diag -= out[off + p * n + j]! ** 2;
      if (!(diag > floor)) return null;
      const rjj = Math.sqrt(diag);
      out[off + j * n + j] = rjj;
      for (let c = j + 1; c < n; c++) {
        let v = g[off + j * n + c]!;
        for (let p = 0; p < j; p++) v -= out[off + p * n + j]! * out[off + p * n + c]!;
        out[off + j * n + c] = v / rjj;
      }
    }
  }
  return out;
}

export type CompositionMode = "Q" | "K" | "V";

/**
 * Composition scores of every pair of heads [layer1, head1, layer2, head2] (TL's `model.all_composition_scores`):
 * how much head (layer1, head1)'s OV output is read by head (layer2, head2)'s query ("Q": OV₁ · QK₂), key
 * ("K": OV₁ · QK₂ᵀ) or value ("V": OV₁ · OV₂). Zero wherever layer2 ≤ layer1.
 */
export function allCompositionScores(model: HookedTransformer, mode: CompositionMode): Tensor {
  const left = model.OV;
  let right: FactoredMatrix;
  if (mode === "Q") right = model.QK;
  else if (mode === "K") right = model.QK.T;
  else if (mode === "V") right = model.OV;
  else throw new AnalysisError(`allCompositionScores: mode must be one of "Q", "K", "V", got ${JSON.stringify(mode)}`);
  const scores = compositionScores(left, right);
  const n = model.cfg.nLayers;
  const layers = arange(n);
  const mask = layers.reshape(n, 1, 1, 1).lt(layers.reshape(1, 1, n, 1));
  return where(mask, scores, 0).to(scores.dtype);
}
