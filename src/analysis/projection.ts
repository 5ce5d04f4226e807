// Projections of vectors onto directions or subspaces (the copy-suppression code's `project`): the part of each
// vector in the span of its direction(s) and the part perpendicular to it, so that parallel + perp = vector.
import { ShapeError } from "../errors.js";
import { Tensor } from "../tensor/index.js";
import { broadcastShapes, fmtShape } from "../tensor/shape.js";

export interface ProjectOptions {
  /** `directions` is one tensor [..., d, k] holding k directions in its last dim (callum2's layout). */
  stacked?: boolean;
  /** Keep only the positive (or negative) coefficients along each basis direction (callum2's `only_keep`); the rest
   *  goes to `perp`. Only meaningful for a single direction, where the basis direction is the direction itself. */
  onlyKeep?: "pos" | "neg";
  /** A direction whose remainder after Gram–Schmidt is at most `tol` × its own norm (or that is zero) is dependent
   *  on the earlier ones and contributes nothing (default 1e-5). */
  tol?: number;
}

export interface Projection {
  /** `[..., d]`: the component in the span of the directions */
  parallel: Tensor;
  /** `[..., d]`: vectors − parallel */
  perp: Tensor;
  /** `[..., k]`: coefficients along the orthonormal basis (for one direction: the signed length along it) */
  coeffs: Tensor;
  /** `[..., d, k]`: the orthonormal basis (Gram–Schmidt of the directions, in order; dependent directions are zero) */
  basis: Tensor;
}

/**
 * Projects `vectors` [..., d] onto directions: one direction per vector (`directions` [..., d], leading dims
 * broadcast against the vectors'), several (`[dir1, dir2, ...]`, each [..., d]), or a stacked [..., d, k] tensor
 * with `stacked: true`. The directions need not be normalised or independent. Computed in float64; returns the
 * vectors' float dtype (float32 unless float64).
 *
 * ```ts
 * const { parallel, perp } = project(resid, W_U_IO);            // resid [batch, d_model], W_U_IO [batch, d_model]
 * project(q, [W_U_IO, W_U_S1]);                                  // onto the plane of the two unembeddings
 * ```
 */
export function project(
  vectors: Tensor,
  directions: Tensor | readonly Tensor[],
  opts: ProjectOptions = {},
): Projection {
  if (vectors.ndim < 1) throw new ShapeError("project: vectors must have a last dim d, got a scalar");
  const d = vectors.shape[vectors.ndim - 1]!;
  let dirs: Tensor[];
  if (directions instanceof Tensor) {
    if (opts.stacked) {
      if (directions.ndim < 2 || directions.shape[directions.ndim - 2] !== d) {
        throw new ShapeError(`project: stacked directions must be [..., d=${d}, k], got ${fmtShape(directions.shape)}`);
      }
      dirs = directions.unbind(-1);
    } else {
      dirs = [directions];
    }
  } else {
    dirs = [...directions];
  }
  if (dirs.length === 0) throw new ShapeError("project: expected at least one direction");
  for (const t of dirs) {
    if (t.ndim < 1 || t.shape[t.ndim - 1] !== d) {
      throw new ShapeError(
        `project: each direction must end in d=${d} like the vectors ${fmtShape(vectors.shape)}, got ${fmtShape(t.shape)}`,
      );
    }
  }
  const lead = broadcastShapes("project", vectors.shape.slice(0, -1), ...dirs.map((t) => t.shape.slice(0, -1)));
  const n = lead.reduce((a, b) => a * b, 1);
  const k = dirs.length;
  const tol = opts.tol ?? 1e-5;
  const read = (t: Tensor): Float64Array =>
    t
      .to("float64")
      .expand([...lead, d])
      .contiguous()
      .dataSync() as Float64Array;
  const V = read(vectors);
  const Ds = dirs.map(read);
  const basis = new Float64Array(n * d * k);
  const coeffs = new Float64Array(n * k);
  const par = new Float64Array(n * d);
  const u = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const base = i * d;
    // modified Gram–Schmidt, orthogonalised twice ("twice is enough") for float64-level orthogonality
    for (let j = 0; j < k; j++) {
      const src = Ds[j]!;
      let norm0 = 0;
      for (let e = 0; e < d; e++) {
        u[e] = src[base + e]!;
        norm0 += u[e]! * u[e]!;
      }
      norm0 = Math.sqrt(norm0);
      for (let pass = 0; pass < 2; pass++) {
        for (let m = 0; m < j; m++) {
          let dot = 0;
          for (let e = 0; e < d; e++) dot += u[e]! * basis[(base + e) * k + m]!;
          for (let e = 0; e < d; e++) u[e]! -= dot * basis[(base + e) * k + m]!;
        }
      }
      let norm = 0;
      for (let e = 0; e < d; e++) norm += u[e]! * u[e]!;
      norm = Math.sqrt(norm);
      if (norm0 === 0 || norm <= tol * norm0) continue; // dependent (or zero): its basis column stays zero
      for (let e = 0; e < d; e++) basis[(base + e) * k + j] = u[e]! / norm;
    }
    for (let j = 0; j < k; j++) {
      let c = 0;
      for (let e = 0; e < d; e++) c += V[base + e]! * basis[(base + e) * k + j]!;
      if ((opts.onlyKeep === "pos" && c < 0) || (opts.onlyKeep === "neg" && c > 0)) c = 0;
      coeffs[i * k + j] = c;
      for (let e = 0; e < d; e++) par[base + e]! += c * basis[(base + e) * k + j]!;
    }
  }
  const perp = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) perp[i] = V[i]! - par[i]!;
  const dtype = vectors.dtype === "float64" ? "float64" : "float32";
  const out = (data: Float64Array, shape: number[]): Tensor => Tensor.fromTypedArray(data, shape).to(dtype);
  return {
    parallel: out(par, [...lead, d]),
    perp: out(perp, [...lead, d]),
    coeffs: out(coeffs, [...lead, k]),
    basis: out(basis, [...lead, d, k]),
  };
}
