// Weight-based circuit analysis (no forward pass): OV/QK circuits through the embeddings, OV copying scores, and
// Q/K/V composition scores between heads (Elhage et al. 2021, "A Mathematical Framework for Transformer
// Circuits"; TransformerLens's `all_composition_scores`).
import { ShapeError, TlensError } from "../errors.js";
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
  const core = model.W_U.matmul(model.W_E).to("float64");             // [d_model, d_model]
  const ba = model.W_O.to("float64").matmul(core).matmul(model.W_V.to("float64")); // [layer, head, d_head, d_head]
  return scoreFromEigenvalues(linalg.eig(ba), model.W_V.dtype === "float64" ? "float64" : "float32");
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
 * The matrices are reduced through their inner dim first (left to R_A·B from a QR of A, right to A·R_{Bᵀ}ᵀ from a
 * QR of Bᵀ — the same norms as TL's collapse_l / collapse_r through the SVD, at a fraction of the cost).
 */
export function compositionScores(left: FactoredMatrix, right: FactoredMatrix, opts: { broadcastDims?: boolean } = {}): Tensor {
  if (left.rdim !== right.ldim) {
    throw new ShapeError(`compositionScores: left.rdim must equal right.ldim, got left ${fmtShape(left.shape)} and right ${fmtShape(right.shape)}`);
  }
  const broadcastDims = opts.broadcastDims ?? true;
  const dtype = left.dtype === "float64" || right.dtype === "float64" ? "float64" : "float32";
  const x = collapseLeftQr(left).to(dtype);   // [...L, k, d']   ‖x Y‖ = ‖M_left Y‖
  const y = collapseRightQr(right).to(dtype); // [...R, d', k'] ‖X y‖ = ‖X M_right‖
  const lLead = x.shape.slice(0, -2);
  const rLead = y.shape.slice(0, -2);
  const frob = (t: Tensor): Tensor => t.to("float64").square().sum([-2, -1]).sqrt();
  const lNorm = frob(x);
  const rNorm = frob(y);
  if (!broadcastDims) {
    return frob(x.matmul(y)).div(lNorm).div(rNorm).to(dtype);
  }
  // crossed: one batched GEMM per left matrix (bounds the memory to one row of the result)
  const nL = lLead.reduce((a, b) => a * b, 1);
  const nR = rLead.reduce((a, b) => a * b, 1);
  const xs = x.reshape(nL, x.shape[x.ndim - 2], x.shape[x.ndim - 1]);
  const ys = y.reshape(nR, y.shape[y.ndim - 2], y.shape[y.ndim - 1]);
  const rn = rNorm.reshape(nR);
  const ln = lNorm.reshape(nL).dataSync();
  const out = new Float64Array(nL * nR);
  for (let i = 0; i < nL; i++) {
    const comp = frob(xs.get(i).matmul(ys)).div(rn).div(ln[i]).dataSync();
    out.set(comp, i * nR);
  }
  return Tensor.fromTypedArray(out, [...lLead, ...rLead]).to(dtype);
}

/** X [..., k, rdim] with ‖X·Y‖_F = ‖A·B·Y‖_F for every Y (A = Q·R, X = R·B). */
function collapseLeftQr(m: FactoredMatrix): Tensor {
  const { R } = linalg.qr(m.A.to("float64"));
  return R.matmul(m.B.to("float64"));
}

/** Y [..., ldim, k] with ‖X·Y‖_F = ‖X·A·B‖_F for every X (Bᵀ = Q·R, Y = A·Rᵀ). */
function collapseRightQr(m: FactoredMatrix): Tensor {
  const { R } = linalg.qr(m.B.to("float64").mT);
  return m.A.to("float64").matmul(R.mT);
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
  else throw new TlensError(`allCompositionScores: mode must be one of "Q", "K", "V", got ${JSON.stringify(mode)}`);
  const scores = compositionScores(left, right);
  const n = model.cfg.nLayers;
  const layers = arange(n);
  const mask = layers.reshape(n, 1, 1, 1).lt(layers.reshape(1, 1, n, 1));
  return where(mask, scores, 0).to(scores.dtype);
}
