// FactoredMatrix: a matrix M = A @ B kept as its two factors (TransformerLens's FactoredMatrix), with leading
// batch dims. Low-rank circuits (OV = W_V W_O, QK = W_Q W_Kᵀ, W_E·OV·W_U) are d_model × d_model or vocab × vocab
// but have rank d_head: products, SVD, eigenvalues and norms all go through the small inner dim.
//
// It lives in src/tensor because the model's `OV`/`QK` getters return it (src/model may not import src/analysis);
// src/analysis re-exports it.
import { IndexError, ShapeError } from "../errors.js";
import type { DType } from "./dtype.js";
import type { Index } from "./indexing.js";
import * as linalg from "./linalg.js";
import { broadcastShapes, fmtShape, resolveIndex } from "./shape.js";
import { Tensor } from "./tensor.js";

/** SVD of a FactoredMatrix in TransformerLens's convention: M = U · diag(S) · Vhᵀ. */
export interface FactoredSvd {
  /** [..., ldim, k] with orthonormal columns */
  U: Tensor;
  /** [..., k], descending */
  S: Tensor;
  /** [..., rdim, k] with orthonormal columns. TL's name, but it is **V** (as torch.svd returns it), not Vᵀ. */
  Vh: Tensor;
}

/** TransformerLens's FactoredMatrix: the product A·B ([..., ldim, k] × [..., k, rdim]) kept as its factors, with AB,
 *  BA, the SVD, eigenvalues, norms and products computed through the factors where that is cheaper. */
export class FactoredMatrix {
  /** [...leading, ldim, mdim], broadcast to the common leading shape (a view) */
  readonly A: Tensor;
  /** [...leading, mdim, rdim], broadcast likewise */
  readonly B: Tensor;
  readonly ldim: number;
  readonly mdim: number;
  readonly rdim: number;
  /** `[...leading, ldim, rdim]`: the shape of the matrix it stands for */
  readonly shape: number[];
  private svdCache: FactoredSvd | null = null;

  /** A: [..., ldim, mdim], B: [..., mdim, rdim]; leading dims broadcast as in matmul. */
  constructor(A: Tensor, B: Tensor) {
    if (A.ndim < 2 || B.ndim < 2) {
      throw new ShapeError(
        `FactoredMatrix: both factors need at least 2 dims, got A ${fmtShape(A.shape)} and B ${fmtShape(B.shape)}`,
      );
    }
    const mdim = A.shape[A.ndim - 1]!;
    if (B.shape[B.ndim - 2] !== mdim) {
      throw new ShapeError(
        `FactoredMatrix: factors must match on the inner dim, got A ${fmtShape(A.shape)} and B ${fmtShape(B.shape)} (${mdim} ≠ ${B.shape[B.ndim - 2]})`,
      );
    }
    this.ldim = A.shape[A.ndim - 2]!;
    this.mdim = mdim;
    this.rdim = B.shape[B.ndim - 1]!;
    const lead = broadcastShapes(
      "FactoredMatrix (leading dims of A and B)",
      A.shape.slice(0, -2),
      B.shape.slice(0, -2),
    );
    this.shape = [...lead, this.ldim, this.rdim];
    this.A = sameShape(A.shape, [...lead, this.ldim, mdim]) ? A : A.expand([...lead, this.ldim, mdim]);
    this.B = sameShape(B.shape, [...lead, mdim, this.rdim]) ? B : B.expand([...lead, mdim, this.rdim]);
  }

  get ndim(): number {
    return this.shape.length;
  }
  get hasLeadingDims(): boolean {
    return this.shape.length > 2;
  }
  /** float64 when either factor is float64, else float32 */
  get dtype(): DType {
    return this.A.dtype === "float64" || this.B.dtype === "float64" ? "float64" : "float32";
  }
  /** [A, B] */
  get pair(): [Tensor, Tensor] {
    return [this.A, this.B];
  }

  /** The full product A @ B [..., ldim, rdim] (can be large). */
  get AB(): Tensor {
    return this.A.matmul(this.B);
  }

  /** The reverse product B @ A [..., mdim, mdim]; only for square matrices (ldim = rdim). */
  get BA(): Tensor {
    this.requireSquare("BA");
    return this.B.matmul(this.A);
  }

  /** The transpose: Bᵀ Aᵀ, still factored. */
  get T(): FactoredMatrix {
    return new FactoredMatrix(this.B.mT, this.A.mT);
  }

  /**
   * this @ other, staying factored (TL's rule): with a matrix [..., rdim, n], multiply it into B when rdim > mdim
   * (FactoredMatrix(A, B @ other)), else FactoredMatrix(AB, other); with a FactoredMatrix, (this @ other.A) @ other.B.
   * For a vector use `matvec`.
   */
  matmul(other: Tensor | FactoredMatrix): FactoredMatrix {
    if (other instanceof FactoredMatrix) return this.matmul(other.A).matmul(other.B);
    if (other.ndim < 2)
      throw new ShapeError(
        `FactoredMatrix.matmul: got a vector ${fmtShape(other.shape)}; use matvec for FactoredMatrix @ vector`,
      );
    if (other.shape[other.ndim - 2] !== this.rdim) {
      throw new ShapeError(
        `FactoredMatrix.matmul: shapes ${fmtShape(this.shape)} and ${fmtShape(other.shape)} cannot be multiplied (${this.rdim} ≠ ${other.shape[other.ndim - 2]})`,
      );
    }
    return this.rdim > this.mdim
      ? new FactoredMatrix(this.A, this.B.matmul(other))
      : new FactoredMatrix(this.AB, other);
  }

  /**
   * other @ this, staying factored: with a matrix [..., n, ldim], FactoredMatrix(other @ A, B) when ldim > mdim,
   * else FactoredMatrix(other, AB); with a FactoredMatrix, other.A @ (other.B @ this). For a vector use `vecmat`.
   */
  rmatmul(other: Tensor | FactoredMatrix): FactoredMatrix {
    if (other instanceof FactoredMatrix) return this.rmatmul(other.B).rmatmul(other.A);
    if (other.ndim < 2)
      throw new ShapeError(
        `FactoredMatrix.rmatmul: got a vector ${fmtShape(other.shape)}; use vecmat for vector @ FactoredMatrix`,
      );
    if (other.shape[other.ndim - 1] !== this.ldim) {
      throw new ShapeError(
        `FactoredMatrix.rmatmul: shapes ${fmtShape(other.shape)} and ${fmtShape(this.shape)} cannot be multiplied (${other.shape[other.ndim - 1]} ≠ ${this.ldim})`,
      );
    }
    return this.ldim > this.mdim
      ? new FactoredMatrix(other.matmul(this.A), this.B)
      : new FactoredMatrix(other, this.AB);
  }

  /** this @ v for v [..., rdim] → [..., ldim] (a plain tensor, as TL collapses the factorisation for vectors). */
  matvec(v: Tensor): Tensor {
    if (v.ndim < 1 || v.shape[v.ndim - 1] !== this.rdim) {
      throw new ShapeError(`FactoredMatrix.matvec: expected a vector [..., ${this.rdim}], got ${fmtShape(v.shape)}`);
    }
    return this.A.matmul(this.B.matmul(v.unsqueeze(-1))).squeeze(-1);
  }

  /** v @ this for v [..., ldim] → [..., rdim]. */
  vecmat(v: Tensor): Tensor {
    if (v.ndim < 1 || v.shape[v.ndim - 1] !== this.ldim) {
      throw new ShapeError(`FactoredMatrix.vecmat: expected a vector [..., ${this.ldim}], got ${fmtShape(v.shape)}`);
    }
    return v.unsqueeze(-2).matmul(this.A).matmul(this.B).squeeze(-2);
  }

  /** Scalar multiple (applied to A). */
  mul(scalar: number | Tensor): FactoredMatrix {
    if (scalar instanceof Tensor && scalar.numel !== 1) {
      throw new ShapeError(
        `FactoredMatrix.mul: expected a scalar, got shape ${fmtShape(scalar.shape)}; for a matrix product use matmul`,
      );
    }
    return new FactoredMatrix(this.A.mul(scalar instanceof Tensor ? scalar.reshape([]) : scalar), this.B);
  }

  /**
   * SVD through the inner dim, as TL: svd(A), svd(B), then the svd of the small middle matrix. Computed in float64
   * and returned in the factors' dtype. U [..., ldim, k], S [..., k], Vh [..., rdim, k] with k = min(ldim, mdim, rdim)
   * and M = U·diag(S)·Vhᵀ: **Vh is V** (TL's convention, from torch.svd), not numpy's Vᵀ. Cached.
   */
  svd(): FactoredSvd {
    if (this.svdCache) return this.svdCache;
    const a = linalg.svd(this.A.to("float64"));
    const b = linalg.svd(this.B.to("float64"));
    // middle = diag(Sa) Vaᵀ Ub diag(Sb)   [..., ka, kb]
    const middle = a.S.unsqueeze(-1).mul(a.Vh.matmul(b.U)).mul(b.S.unsqueeze(-2));
    const m = linalg.svd(middle);
    const dtype = this.dtype;
    this.svdCache = {
      U: a.U.matmul(m.U).to(dtype),
      S: m.S.to(dtype),
      Vh: b.Vh.mT.matmul(m.Vh.mT).to(dtype),
    };
    return this.svdCache;
  }

  get U(): Tensor {
    return this.svd().U;
  }
  get S(): Tensor {
    return this.svd().S;
  }
  get Vh(): Tensor {
    return this.svd().Vh;
  }

  /**
   * Eigenvalues of AB, computed as those of the small BA [..., mdim, mdim] (the same apart from AB's extra zeros):
   * BA in the factors' dtype (as TL), the eigenvalues in float64; { re, im } [..., mdim], in no particular order
   * (TL returns torch.linalg.eig's order).
   */
  get eigenvalues(): { re: Tensor; im: Tensor } {
    const { re, im } = linalg.eig(this.BA.to("float64"));
    return { re: re.to(this.dtype), im: im.to(this.dtype) };
  }

  /** Frobenius norm [...leading] (= sqrt(Σ S²)), from the Gram matrices: ‖AB‖² = Σ (AᵀA) ⊙ (BBᵀ), in float64. */
  norm(): Tensor {
    const a = this.A.to("float64");
    const b = this.B.to("float64");
    const g = a.mT.matmul(a).mul(b.matmul(b.mT));
    return g.sum([-2, -1]).clamp(0).sqrt().to(this.dtype);
  }

  /** The equivalent factorisation (U·diag(√S), diag(√S)·Vhᵀ): each factor holds half of every singular value. */
  makeEven(): FactoredMatrix {
    const { U, S, Vh } = this.svd();
    const r = S.sqrt();
    return new FactoredMatrix(U.mul(r.unsqueeze(-2)), r.unsqueeze(-1).mul(Vh.mT));
  }

  /** diag(S)·Vhᵀ [..., k, rdim]: the factorisation without its left orthogonal factor U. */
  collapseL(): Tensor {
    const { S, Vh } = this.svd();
    return S.unsqueeze(-1).mul(Vh.mT);
  }

  /** U·diag(S) [..., ldim, k]: without the right orthogonal factor. */
  collapseR(): Tensor {
    const { U, S } = this.svd();
    return U.mul(S.unsqueeze(-2));
  }

  /** TL's get_corner: the product restricted to the first k entries of **every** dim (leading dims included). */
  getCorner(k = 3): Tensor {
    const idx = this.shape.map(() => `:${k}`);
    return this.get(...idx).AB;
  }

  /** A new leading dim at position k (0 ≤ k ≤ number of leading dims; negative k counts from the end of them). */
  unsqueeze(k: number): FactoredMatrix {
    const nLead = this.ndim - 2;
    const pos = k < 0 ? k + nLead + 1 : k;
    if (!Number.isInteger(pos) || pos < 0 || pos > nLead) {
      throw new IndexError(
        `FactoredMatrix.unsqueeze: position ${k} is outside the ${nLead} leading dims (0..${nLead}, or -${nLead + 1}..-1)`,
      );
    }
    return new FactoredMatrix(this.A.unsqueeze(pos), this.B.unsqueeze(pos));
  }

  /**
   * Indexing, TL's FactoredMatrix.__getitem__: indices on the leading dims apply to both factors; an index on the
   * row dim applies to A's rows and one on the column dim to B's columns. An integer on a matrix dim keeps that dim
   * (size 1) so the result is still a matrix. `get(0, 1)` is head 1 of layer 0 of model.OV.
   */
  get(...idx: Index[]): FactoredMatrix {
    const consumed = (i: Index): number =>
      i === null || i === "..." ? 0 : i instanceof Tensor && i.dtype === "bool" ? i.ndim : 1;
    const used = idx.reduce((n: number, i) => n + consumed(i), 0);
    if (idx.filter((i) => i === "...").length > 1)
      throw new IndexError(`FactoredMatrix.get: an index can only have a single ellipsis ("...")`);
    if (used > this.ndim)
      throw new IndexError(
        `FactoredMatrix.get: ${used} indices is too many for a FactoredMatrix of shape ${fmtShape(this.shape)}`,
      );
    const full: Index[] = [];
    for (const i of idx) {
      if (i === "...") for (let k = 0; k < this.ndim - used; k++) full.push(":");
      else full.push(i);
    }
    const nLead = this.ndim - 2;
    const lead: Index[] = [];
    const rest: Index[] = [];
    let dim = 0;
    for (const i of full) {
      const c = consumed(i);
      if (dim + c <= nLead && rest.length === 0) lead.push(i);
      else {
        if (i === null)
          throw new IndexError("FactoredMatrix.get: a new axis (null) can only be added among the leading dims");
        if (c > 1 || dim < nLead)
          throw new IndexError("FactoredMatrix.get: a bool mask cannot span the leading dims and the matrix dims");
        rest.push(i);
      }
      dim += c;
    }
    const keepDim = (i: Index, size: number, d: number): Index => {
      if (typeof i === "number" || (typeof i === "string" && /^\s*-?\d+\s*$/.test(i))) {
        const k = resolveIndex(Number(i), size, d);
        return `${k}:${k + 1}`;
      }
      return i;
    };
    const row = rest.length > 0 ? keepDim(rest[0]!, this.ldim, nLead) : ":";
    const col = rest.length > 1 ? keepDim(rest[1]!, this.rdim, nLead + 1) : ":";
    return new FactoredMatrix(this.A.get(...lead, row, ":"), this.B.get(...lead, ":", col));
  }

  /** A summary: the factors' shapes and the product's. */
  toString(): string {
    return `FactoredMatrix: Shape(${fmtShape(this.shape)}), Hidden Dim(${this.mdim})`;
  }

  private requireSquare(what: string): void {
    if (this.ldim !== this.rdim) {
      throw new ShapeError(
        `FactoredMatrix.${what}: needs a square matrix (ldim = rdim), got shape ${fmtShape(this.shape)}`,
      );
    }
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
