// Head-local patches: a patch of z, q, k, v, the scores or the pattern of block l changes that block only through
// the z of the heads it touches, and the attention output is linear in z. So the patched run's attention output is
// the corrupted run's plus (z' − z) @ W_O over those heads, where z' is recomputed for those heads alone (their
// attention from the patched q, k, v, scores or pattern; z itself for z patches): no q/k/v projection, no other
// head, no output projection of the whole z. Equal to the hooked block up to fp32 summation order.
import { cat, Tensor } from "../../tensor/index.js";
import type { HookedTransformer } from "../../model/hooked-transformer.js";
import type { ActivationCache } from "../../model/activation-cache.js";
import { headsZ } from "../../model/run/index.js";

const HEAD_LOCAL = /^blocks\.(\d+)\.attn\.hook_(z|q|k|v|attn_scores|pattern)$/;

/** Is a patch at this hook head-local (z always; q, k, v, scores and pattern when each query head has its own key
 *  and value head)? The block must also be free of shared hooks, which the caller checks. */
export function isHeadLocal(model: HookedTransformer, hookName: string): boolean {
  const m = HEAD_LOCAL.exec(hookName);
  if (!m) return false;
  const grouped = (model.cfg.nKeyValueHeads ?? model.cfg.nHeads) !== model.cfg.nHeads;
  return m[2] === "z" || !grouped;
}

/** The corrupted run's hooks a head-local sweep reads: z, q, k, v of every block. */
export const HEAD_LOCAL_CACHE = /\.attn\.hook_[qkvz]$/;

/** What a head-local patch changes: the heads whose z it changes and dz = z' − z [batch, nPos - p, heads.length,
 *  d_head] of those heads from position p on. */
export interface HeadChange {
  heads: number[];
  dz: Tensor;
}

/** The change a head-local patch at `hookName` (block l) makes to z from position p on (null: none). `patch` returns a patched
 *  copy of the corrupted activation from position p on ([batch, nPos - p, head, d_head], or [batch, head, nPos - p,
 *  key_pos] for scores and the pattern). */
export async function headChange(
  model: HookedTransformer,
  corrupted: ActivationCache,
  hookName: string,
  p: number,
  patch: (before: Tensor) => Tensor,
): Promise<HeadChange | null> {
  const [, layer, act] = HEAD_LOCAL.exec(hookName)! as unknown as [string, string, string];
  const l = Number(layer);
  const cached = (name: string): Tensor => corrupted.get(`blocks.${l}.attn.hook_${name}`);
  const nPos = cached("z").shape[1]!;
  const perHead = act === "attn_scores" || act === "pattern"; // [batch, head, pos, key_pos]
  const before = cached(act).narrow(perHead ? 2 : 1, p, nPos - p);
  const after = patch(before);
  const heads = differingAlong(before, after, perHead ? 1 : 2);
  if (!heads.length) return null;
  const idx = Tensor.fromTypedArray(Int32Array.from(heads), [heads.length]);
  const of = (t: Tensor): Tensor => (perHead ? t.get(":", idx) : t.get(":", ":", idx));
  // q, k, v of those heads as the patched block sees them: k and v patches keep the corrupted positions before p
  const seen = (name: string): Tensor => {
    if (name !== act)
      return name === "q"
        ? cached("q")
            .narrow(1, p, nPos - p)
            .get(":", ":", idx)
        : cached(name).get(":", ":", idx);
    return of(name === "q" || p === 0 ? after : cat([cached(name).narrow(1, 0, p), after], 1));
  };
  let zNew: Tensor;
  if (act === "z") zNew = of(after);
  else if (act === "pattern") zNew = await headsZ(model, l, { from: "pattern", pattern: of(after), v: seen("v") });
  else if (act === "attn_scores") zNew = await headsZ(model, l, { from: "scores", scores: of(after), v: seen("v") });
  else zNew = await headsZ(model, l, { from: "qkv", q: seen("q"), k: seen("k"), v: seen("v"), past: p });
  return {
    heads,
    dz: zNew.sub(
      cached("z")
        .narrow(1, p, nPos - p)
        .get(":", ":", idx),
    ),
  };
}

/** The indices along `axis` at which a and b (one shape) differ anywhere; NaN counts as a difference, and -inf
 *  equals -inf (masked scores). One pass over the values (ne + any over dims 0, 1, 3 measured ~3 ms a patch). */
function differingAlong(a: Tensor, b: Tensor, axis: number): number[] {
  const x = a.contiguous().dataSync();
  const y = b.contiguous().dataSync();
  const size = a.shape[axis]!;
  const inner = a.shape.slice(axis + 1).reduce((n, d) => n * d, 1);
  const hit = new Uint8Array(size);
  for (let i = 0; i < x.length; i++) if (!(x[i] === y[i])) hit[Math.floor(i / inner) % size] = 1;
  return [...hit.keys()].filter((i) => hit[i]);
}
